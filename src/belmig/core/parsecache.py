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

:func:`included_snakefiles` does the same for Snakemake's translation of the rule files the
Snakefile includes (``rules/*.smk``) into Python: 0.02–0.04 s of every run, a no-op too, for files
that rarely change. The translation is a function of the file's bytes and path, the rule count
before it, Snakemake's parser and the interpreter; it is kept by their digest under
``.snakemake/belmig/snakefiles/`` and Snakemake compiles and runs the same code as before.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import sys
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


SNAKEFILES = Path(".snakemake") / "belmig" / "snakefiles"
_PARSE_PATCHED = "_belmig_cached_parse"


def included_snakefiles(cache: Path = SNAKEFILES) -> bool:
    """Keep Snakemake's translation of each included rule file (see the module's docstring).
    True when it was done (or was already), False when this Snakemake's parser has another shape
    (then nothing is changed). Files Snakemake reads from elsewhere than this machine's disk
    (a URL, a git reference) are translated as before."""
    try:
        import snakemake
        import snakemake.api  # noqa: F401 (snakemake.workflow imports it back: first, outside Snakemake)
        from snakemake import parser, workflow
        from snakemake.sourcecache import LocalSourceFile
    except ImportError:
        return False
    current = getattr(workflow, "parse", None)
    if getattr(current, _PARSE_PATCHED, False):
        return True
    if current is not parser.parse or not hasattr(parser, "Shell"):
        return False
    try:
        salt = sys.version.encode() + str(getattr(snakemake, "__version__", "")).encode()
        salt += Path(parser.__file__).read_bytes()
    except OSError:
        return False

    def parse(path, workflow, linemap, overwrite_shellcmd=None, rulecount=0):
        if type(path) is not LocalSourceFile:
            return current(path, workflow, linemap, overwrite_shellcmd=overwrite_shellcmd, rulecount=rulecount)
        name = path.get_path_or_uri(secret_free=True)
        try:
            data = Path(name).read_bytes()
        except OSError:
            return current(path, workflow, linemap, overwrite_shellcmd=overwrite_shellcmd, rulecount=rulecount)
        h = hashlib.sha256(salt)
        for part in (name, repr(overwrite_shellcmd), str(rulecount)):
            h.update(b"\0" + part.encode())
        h.update(b"\0" + data)
        key = h.hexdigest()
        entry = cache / hashlib.sha256(name.encode()).hexdigest()[:32]  # one entry a file: the last translation
        try:
            stored, code, count, lines = marshal.loads(entry.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            stored = None
        if stored == key:
            parser.Shell.overwrite_cmd = overwrite_shellcmd  # what a parse leaves behind
            linemap.update(lines)
            return code, count
        code, count = current(path, workflow, linemap, overwrite_shellcmd=overwrite_shellcmd, rulecount=rulecount)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_name(f".{entry.name}.{os.getpid()}")
            tmp.write_bytes(marshal.dumps((key, code, count, dict(linemap))))
            os.replace(tmp, entry)
        except OSError:
            pass  # a read-only checkout: translated each time
        return code, count

    setattr(parse, _PARSE_PATCHED, True)
    workflow.parse = parse
    return True
