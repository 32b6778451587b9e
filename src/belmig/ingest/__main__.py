"""``python -m belmig.ingest EXPORT --out ingested.parquet``."""

from belmig.ingest.read import main

raise SystemExit(main())
