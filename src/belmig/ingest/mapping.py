"""Mapping overlays: one export's columns and codes, as a reviewed file the pipeline applies.

``python -m belmig map-export`` drafts one (:mod:`belmig.ingest.mapexport`); a person reviews
it; ``ingest.mapping`` in config/config.yaml applies it. It is validated against
``config/mapping.schema.yaml`` and against the codebook (known questions and options, layout
fields that fit the question). Applying it sets the codebook's layout fields (``column``,
``other_column``, ``option_columns``, ``ticked``, ``unticked``, ``separator``, ``codes``) of the
questions it names, and tells the adapter the admin headers, identifiers, ignored metadata and
the export's time zone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from belmig.core import paths
from belmig.core.codebook import Codebook, CodebookError, check_layout
from belmig.core.schema import SchemaError, load_yaml, validate
from belmig.ingest.errors import IngestError
from belmig.ingest.platforms.base import Context

SCHEMA = paths.CONFIG_SCHEMA.with_name("mapping.schema.yaml")
FIELDS = ("column", "other_column", "option_columns", "ticked", "unticked", "separator", "codes")


@dataclass
class Mapping:
    source: str  # the overlay file (for messages and the report)
    platform: str | None = None
    time_zone: str | None = None
    admin: dict[str, str | None] = field(default_factory=dict)
    identifiers: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    questions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, cb: Codebook) -> Codebook:
        """The codebook with this export's layout fields set."""
        qs = []
        for q in cb.questions:
            m = self.questions.get(q.id)
            if not m:
                qs.append(q)
                continue
            kw: dict[str, Any] = {}
            for k in FIELDS:
                if k not in m:
                    continue
                v = m[k]
                if k in ("ticked", "unticked"):
                    v = tuple(str(x) for x in v)
                elif k == "codes":
                    v = {str(a): str(b) for a, b in v.items()}
                kw[k] = v
            nq = dataclasses.replace(q, **kw)
            try:
                check_layout(nq, self.source)
            except CodebookError as e:
                raise IngestError(str(e)) from None
            qs.append(nq)
        return dataclasses.replace(cb, questions=tuple(qs))

    def context(self, study_zone: str) -> Context:
        return Context(
            study_zone=study_zone,
            admin=dict(self.admin),
            identifiers=self.identifiers,
            ignore=self.ignore,
            zone=self.time_zone,
            mapped=frozenset(self.questions),
            confidence={q: float(m.get("confidence", 1.0)) for q, m in self.questions.items()},
        )


def from_dict(raw: Any, cb: Codebook, source: str) -> Mapping:
    try:
        validate(raw, SCHEMA, source)
    except SchemaError as e:
        raise IngestError(str(e)) from None
    unknown = sorted(set(raw["questions"]) - set(cb.by_id))
    if unknown:
        raise IngestError(f"{source}: questions {unknown} are not in the codebook ({cb.source})")
    return Mapping(
        source=source,
        platform=raw.get("platform"),
        time_zone=raw.get("time_zone"),
        admin=dict(raw.get("admin") or {}),
        identifiers=tuple(raw.get("identifiers") or ()),
        ignore=tuple(raw.get("ignore") or ()),
        questions={k: dict(v or {}) for k, v in raw["questions"].items()},
    )


def load(path: Path | str, cb: Codebook) -> Mapping:
    path = Path(path)
    if not path.exists():
        raise IngestError(f"{path}: mapping file not found (config ingest.mapping)")
    return from_dict(load_yaml(path) or {}, cb, str(path))
