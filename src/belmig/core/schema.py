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
    """The YAML file's values (libyaml's parser, PyYAML's safe constructor), kept by the digest
    of its bytes: the codebook's 38 KB took 4.5 ms to parse in each of the ~15 jobs and checks that
    load it, its marshalled values 0.3 ms to read. Values marshal cannot hold (dates) are parsed
    each time; the cache is the checkout's (:data:`_CACHE`'s folder), and any failure to read or
    write it only means parsing."""
    import hashlib

    data = Path(path).read_bytes()
    key = hashlib.sha256(f"{yaml.__version__}\0{SafeLoader.__name__}\0".encode() + data).hexdigest()

    def parse() -> Any:
        with open(path, encoding="utf-8") as fh:  # a stream: a syntax error names the file
            return yaml.load(fh, Loader=SafeLoader)

    return _marshalled(_YAML_CACHE, key, parse)


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
_YAML_CACHE = _CACHE.with_name("yaml")  # load_yaml's parsed files, by the digest of their bytes


def _marshalled(folder: Path, key: str, compute: Callable[[], Any]) -> Any:
    """`compute()`, kept marshalled in `folder` under `key` (a digest of what it is computed from).
    The cache is a checkout's own (beside its Snakefile); a value marshal cannot hold, or a cache
    that cannot be read or written, only means computing it again next time."""
    import marshal

    checkout = (folder.parents[2] / "Snakefile").is_file()
    if checkout:
        try:
            return marshal.loads((folder / key).read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            pass
    value = compute()
    if checkout:
        from belmig.core import atomic

        try:
            blob = marshal.dumps(value)
            folder.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(folder / key, blob)
        except (OSError, ValueError):
            pass
    return value


@lru_cache(maxsize=8)
def _validator(path: str) -> Callable[[Any], Any]:
    import hashlib

    data = Path(path).read_bytes()
    key = hashlib.sha256(fastjsonschema.VERSION.encode() + b"\0" + data).hexdigest()

    def compiled():
        source = fastjsonschema.compile_to_code(yaml.load(data, Loader=SafeLoader), use_default=False)
        return compile(source, f"<schema {Path(path).name}>", "exec")

    code = _marshalled(_CACHE, key, compiled)
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
