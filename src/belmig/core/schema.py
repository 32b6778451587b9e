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


def load_schema(path: Path) -> dict[str, Any]:
    return load_yaml(path)


@lru_cache(maxsize=8)
def _validator(path: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(load_schema(Path(path)), use_default=False)


def validate(instance: Any, schema_path: Path, source: str) -> None:
    """Validate `instance` against the schema at `schema_path`; raise SchemaError naming the problem."""
    try:
        _validator(str(schema_path))(instance)
    except fastjsonschema.JsonSchemaValueException as err:
        where = "/".join(str(p) for p in (err.path or [])[1:]) or "(top level)"
        raise SchemaError(f"{source} does not match {Path(schema_path).name}:\n  {where}: {err.message}") from None
