"""JSON Schema validation with messages that name the file and the offending key.

Uses fastjsonschema (compiled validators): importing `jsonschema` costs seconds on these
machines (its format checkers build a grammar at import), and every stage job validates.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import yaml


class SchemaError(ValueError):
    """A configuration or metadata file does not match its schema."""


# libyaml's safe loader when available (the pure-Python one takes ~0.2 s for the codebook).
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path | str) -> Any:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=SafeLoader)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser: the same values (the constructor is PyYAML's
    safe one), a tenth of the time (the report's lexicon: 0.09 s in every check)."""
    return yaml.load(text, Loader=SafeLoader)


def load_schema(path: Path) -> dict[str, Any]:
    return load_yaml(path)


# fastjsonschema writes each validator as Python source and compiles it: 0.06 s for the codebook's
# schema, in every job that loads the codebook (most of them). The compiled code is kept by the
# digest of the schema's bytes and fastjsonschema's version, beside the project's bytecode
# (belmig.core.bytecode: Snakemake's scratch folder of this checkout, never a build output).
_CACHE = Path(__file__).resolve().parents[3] / ".snakemake" / "belmig" / "schemas"


@lru_cache(maxsize=8)
def _validator(path: str) -> Callable[[Any], Any]:
    import hashlib
    import marshal

    data = Path(path).read_bytes()
    key = hashlib.sha256(fastjsonschema.VERSION.encode() + b"\0" + data).hexdigest()
    cached = _CACHE / key
    code = None
    checkout = (_CACHE.parents[2] / "Snakefile").is_file()  # the cache is a checkout's own
    if checkout:
        try:
            code = marshal.loads(cached.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            code = None
    if code is None:
        source = fastjsonschema.compile_to_code(yaml.load(data, Loader=SafeLoader), use_default=False)
        code = compile(source, f"<schema {Path(path).name}>", "exec")
        if checkout:
            from belmig.core import atomic

            try:
                _CACHE.mkdir(parents=True, exist_ok=True)
                atomic.write_bytes(cached, marshal.dumps(code))
            except OSError:
                pass  # only means the next job compiles it again
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 (fastjsonschema's own generated validator, as compile() runs it)
    return namespace["validate"]


def validate(instance: Any, schema_path: Path, source: str) -> None:
    """Validate `instance` against the schema at `schema_path`; raise SchemaError naming the problem."""
    try:
        _validator(str(schema_path))(instance)
    except fastjsonschema.JsonSchemaValueException as err:
        where = "/".join(str(p) for p in (err.path or [])[1:]) or "(top level)"
        raise SchemaError(f"{source} does not match {Path(schema_path).name}:\n  {where}: {err.message}") from None
