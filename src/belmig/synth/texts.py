"""The free texts of the synthetic export, read from ``texts.yaml`` beside this module.

The texts are data, not code: the Russian (and some Belarusian and English) answers, the share
of each code among the texts written (``plan``), how many of those asked write anything
(``comment_rate``) and the texts of the noise rows. :func:`load` reads the file once per
process, on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from belmig.core import schema
from belmig.synth.common import SynthError

TEXTS_FILE = Path(__file__).with_name("texts.yaml")


@dataclass(frozen=True)
class Texts:
    bank: dict[str, dict[str, tuple[str, ...]]]  # question -> code -> spellings
    plan: dict[str, dict[str, dict[str, float]]]  # question -> universe level ("" = all) -> code -> share
    comment_rate: dict[str, float]  # text question -> share of those asked who write something
    test_texts: tuple[str, ...]  # open comments of the test entries
    test_emails: tuple[str, ...]  # emails of the test entries
    contact_suffixes: tuple[str, ...]  # fake contact details appended to a few genuine texts


@cache
def load(path: Path = TEXTS_FILE) -> Texts:
    """The texts of `path` (default: ``belmig/synth/texts.yaml``), in file order (order matters:
    the seeded draws pick texts by position)."""
    data = schema.load_yaml(path)  # libyaml's parser, PyYAML's safe constructor: the same values
    need = {"bank", "plan", "comment_rate", "noise"}
    if not isinstance(data, dict) or not need <= set(data):
        raise SynthError(f"{path}: needs the sections {sorted(need)}")
    noise = data["noise"]
    return Texts(
        bank={q: {code: tuple(ts) for code, ts in codes.items()} for q, codes in data["bank"].items()},
        plan=data["plan"],
        comment_rate=data["comment_rate"],
        test_texts=tuple(noise["test_texts"]),
        test_emails=tuple(noise["test_emails"]),
        contact_suffixes=tuple(noise["contact_suffixes"]),
    )
