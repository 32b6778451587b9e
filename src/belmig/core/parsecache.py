"""Remember what the Snakefile computed at parse time while what it was computed from is unchanged.

Every Snakemake run, a no-op too, parses the Snakefile: it validates the configuration and the
codebook (each against its JSON Schema) and reads the chart list from the codebook. That costs
the imports of yaml, fastjsonschema and the codebook model plus the parsing and validation
themselves (~0.3–0.4 s, a fifth of a no-op). The result only depends on the bytes of a few files
(the data, its schema, the code that validates it) and on the configuration after overrides, so
it is kept under ``.snakemake/`` (Snakemake's own folder) keyed by their digest:

    titles = parsecache.cached("charts", [codebook, schema, *code], lambda: compute_titles())

A changed file or override gives another key, and the value is computed again, checks included;
a check that fails raises as before and stores nothing. Only this module's standard-library
imports are paid on a hit.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE = Path(".snakemake") / "belmig" / "parse_cache.json"


def digest(files: list[Path | str], extra: str = "") -> str:
    """sha256 over the files' names and bytes and `extra` (a file that is missing counts too)."""
    h = hashlib.sha256(extra.encode())
    for f in files:
        p = Path(f)
        h.update(b"\0" + str(p).encode() + b"\0")
        h.update(p.read_bytes() if p.is_file() else b"<missing>")
    return h.hexdigest()


def _read(cache: Path) -> dict[str, Any]:
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def cached(name: str, files: list[Path | str], compute: Callable[[], Any], extra: str = "", cache: Path = CACHE) -> Any:
    """`compute()` (a JSON value), or the value stored for the same `name`, files and `extra`."""
    key = digest(files, extra)
    data = _read(cache)
    entry = data.get(name)
    if isinstance(entry, dict) and entry.get("key") == key:
        return entry["value"]
    value = compute()
    data[name] = {"key": key, "value": value}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only checkout: the value is computed each time
    return value


def check_config(config: dict[str, Any], source: str) -> bool:
    """Validate the configuration (belmig.core.config; imported only when the cache misses)."""
    from belmig.core.config import validate_config

    validate_config(config, source)
    return True
