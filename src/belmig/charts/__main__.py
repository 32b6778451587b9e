import sys

from belmig.charts.cli import main

raise SystemExit(main(sys.argv[1:]))
