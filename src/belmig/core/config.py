"""Load the pipeline configuration and validate it against its JSON Schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from belmig.core import paths
from belmig.core.schema import load_yaml, validate


def validate_config(cfg: dict[str, Any], source: str = "config/config.yaml") -> dict[str, Any]:
    validate(cfg, paths.CONFIG_SCHEMA, source)
    return cfg


def load(path: Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read the config file, apply (nested) overrides, validate, and return it."""
    path = Path(path or paths.CONFIG)
    cfg = load_yaml(path)
    cfg = merge(cfg, overrides or {})
    return validate_config(cfg, str(path))


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def resolve(path: str | Path) -> Path:
    """A path from the config: absolute as given, relative to the repository root otherwise."""
    p = Path(path)
    return p if p.is_absolute() else paths.ROOT / p
