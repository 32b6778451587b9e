"""One adapter per platform: the export's layout to the tidy form (:mod:`belmig.ingest.tidy`).

Each module has ``NAME`` and ``adapt(raw, codebook, context) -> Tidy``; ``ADAPTERS`` maps the
platform names of ``ingest.platform`` to them. Shared machinery: :mod:`.base`.
"""

from __future__ import annotations

from collections.abc import Callable

from belmig.ingest.platforms import generic

ADAPTERS: dict[str, Callable] = {generic.NAME: generic.adapt}


def _register() -> None:
    import importlib

    for name in ("google_forms", "surveymonkey", "qualtrics", "limesurvey", "kobo", "spss"):
        try:
            mod = importlib.import_module(f"belmig.ingest.platforms.{name}")
        except ModuleNotFoundError as e:  # pragma: no cover - while adapters are written
            if e.name != f"belmig.ingest.platforms.{name}":
                raise
            continue
        for n in getattr(mod, "NAMES", (mod.NAME,)):
            ADAPTERS[n] = mod.adapt


_register()
