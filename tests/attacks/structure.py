"""The questionnaire as the attacker knows it: questions, their type and their answer options.

The questionnaire is public (the respondents saw it; the repository's ``config/codebook.yaml``
spells it out), so the attacker knows which answers partition a question. Sources, first hit
wins: the codebook in the build (or a given path), else the release's ``variables.csv``
(recoded categories split back into their parts), else nothing (the differencing then only uses
the options it sees in the published keys).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class Question:
    id: str
    type: str  # single | multi | scale | text
    options: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)  # option -> English label
    chart: int | None = None
    text: str = ""
    asked_if: str | None = None  # the question whose answer decides whether this one is asked

    @property
    def partitions(self) -> bool:
        """Whether the options are mutually exclusive (one answer per respondent)."""
        return self.type in ("single", "scale")


@dataclass
class Structure:
    questions: dict[str, Question] = field(default_factory=dict)
    source: str = "none"

    def get(self, q: str) -> Question | None:
        return self.questions.get(q)

    def qtype(self, q: str) -> str | None:
        qq = self.questions.get(q)
        return qq.type if qq else None

    def options(self, q: str) -> list[str]:
        qq = self.questions.get(q)
        return list(qq.options) if qq else []

    def by_chart(self, chart: int) -> Question | None:
        for q in self.questions.values():
            if q.chart == chart:
                return q
        return None


# Derived options: an option that is the union of other options of the same question.
GE_RE = re.compile(r"^ge(\d+)$")


def derived_parts(q: Question | None, option: str) -> list[str] | None:
    """The base options a derived option stands for (``ge8`` = v8+v9+v10, ``a+b`` = a, b)."""
    m = GE_RE.match(option)
    if m and q is not None and q.type == "scale":
        lo = int(m.group(1))
        return [o for o in q.options if int(o[1:]) >= lo]
    if "+" in option:
        parts = option.split("+")
        if q is None or all(p in q.options for p in parts):
            return parts
    return None


def from_codebook(path: Path) -> Structure:
    cb = yaml.safe_load(path.read_text(encoding="utf-8"))
    s = Structure(source=str(path))
    for q in cb.get("questions", []):
        qtype = q["type"]
        if qtype == "scale":
            sc = q.get("scale") or {}
            lo, hi = int(sc.get("min", 1)), int(sc.get("max", 10))
            opts = [f"v{i}" for i in range(lo, hi + 1)]
            labels = {o: o[1:] for o in opts}
        else:
            opts = [str(o["key"]) for o in q.get("options", [])]
            labels = {str(o["key"]): str(o.get("label_en", o["key"])) for o in q.get("options", [])}
        s.questions[q["id"]] = Question(
            q["id"],
            qtype,
            opts,
            labels,
            q.get("chart"),
            q.get("text_en", ""),
            (q.get("universe") or {}).get("question"),
        )
    return s


VALUE_RE = re.compile(r"(\d+) = ([^\s(;]+)(?: \(([^;]*)\))?")


def from_variables_csv(path: Path) -> Structure:
    """The release's variable list: categories, booleans (``q__opt``) and 1-10 integers."""
    s = Structure(source=str(path))
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        name, typ, values, label = r.get("name", ""), r.get("type", ""), r.get("values", ""), r.get("label", "")
        if typ == "boolean" and "__" in name:
            q, opt = name.split("__", 1)
            qq = s.questions.setdefault(q, Question(q, "multi", text=label.split(":")[0]))
            qq.options.append(opt)
            qq.labels[opt] = label.split(": ", 1)[-1]
        elif typ == "category" and not name.endswith("__code"):
            qq = Question(name, "single", text=label)
            for _code, key, lab in VALUE_RE.findall(values):
                parts = key.split("+")
                labs = [x.strip() for x in lab.split(" / ")] if lab else parts
                for i, p in enumerate(parts):
                    if p not in qq.options:
                        qq.options.append(p)
                        qq.labels[p] = labs[i] if i < len(labs) and len(labs) == len(parts) else p
            s.questions[name] = qq
        elif typ == "integer":
            m = re.match(r"(\d+)-(\d+)", values or "")
            lo, hi = (int(m.group(1)), int(m.group(2))) if m else (1, 10)
            opts = [f"v{i}" for i in range(lo, hi + 1)]
            s.questions[name] = Question(name, "scale", opts, {o: o[1:] for o in opts}, text=label)
    return s


def load(build: Path, codebook: Path | None = None) -> Structure:
    candidates = [codebook] if codebook else []
    candidates += [build / "config" / "codebook.yaml"]
    for c in candidates:
        if c is not None and c.is_file():
            return from_codebook(c)
    v = build / "data" / "release" / "variables.csv"
    if v.is_file():
        return from_variables_csv(v)
    return Structure()
