"""JSON Schema validation with messages that name the file and the offending key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml


class SchemaError(ValueError):
    """A configuration or metadata file does not match its schema."""


def load_schema(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def validate(instance: Any, schema_path: Path, source: str) -> None:
    """Validate `instance` against the schema at `schema_path`; raise SchemaError naming every problem."""
    schema = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for err in errors:
            where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
            lines.append(f"  {where}: {err.message}")
        raise SchemaError(f"{source} does not match {schema_path.name}:\n" + "\n".join(lines))
