"""Published figures, the report's qualitative statements, and our assumed values.

Three hand-transcribed tables live in ``data/published/`` (see ``docs/architecture.md``):

- ``figures.csv``: every number the 2022 report prints, exactly as printed ("18.70", "31,280",
  "a quarter"), mapped to codebook question/option keys;
- ``statements.csv``: qualitative claims of the report with a machine-checkable condition in
  the syntax of :mod:`belmig.report.claims`;
- ``assumed.csv``: values the report does not print but synthetic data needs (OUR assumptions).

Readers validate and raise :class:`PublishedError` naming file, data row (1-based, header not
counted), column and offending value. Printed strings are kept as text; :func:`value` and
:func:`decimals` interpret them.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

import pandas as pd

from belmig.core import keys
from belmig.core.codebook import Codebook
from belmig.report import claims

FIGURE_COLUMNS = [
    "id",
    "printed",
    "unit",
    "stat",
    "question",
    "option",
    "by",
    "level",
    "comparator",
    "chart",
    "section",
    "share_of",
    "text",
]
STATEMENT_COLUMNS = ["id", "text", "condition", "section"]
ASSUMED_COLUMNS = ["question", "option", "by", "level", "stat", "value", "constraint", "reason"]

UNITS = ("pct", "mean", "count", "eur_million")
STATS = ("pct", "mean", "external")
# "=": equal at the printed precision; "only" is emphasis and is read like "=".
COMPARATORS = ("=", "only", "about", "almost", "more_than", "slightly_more_than")
EXACT_COMPARATORS = ("=", "only")
ASSUMED_STATS = ("pct", "mean")

# Worded shares the report prints instead of a numeral (value in percent, exact fraction).
WORDS: dict[str, Fraction] = {
    "half": Fraction(50),
    "a half": Fraction(50),
    "a third": Fraction(100, 3),
    "one third": Fraction(100, 3),
    "two thirds": Fraction(200, 3),
    "a quarter": Fraction(25),
    "one quarter": Fraction(25),
    "a fifth": Fraction(20),
    "one fifth": Fraction(20),
}
OPTION_SEP = "+"  # "state+ngo": the union of options of one single-choice question

_NUMERAL = re.compile(r"^\d{1,3}(,\d{3})+$|^\d+(\.\d+)?$")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_SCALE_OPTIONS = tuple(f"v{i}" for i in range(1, 11)) + ("ge8",)


class PublishedError(ValueError):
    """A published/assumed/statement table is malformed or refers to unknown codebook ids."""


# ------------------------------------------------------------------------- printed strings
def is_numeral(printed: str) -> bool:
    """True for "18.70", "5", "31,280"; False for worded shares such as "a quarter"."""
    return bool(_NUMERAL.match(str(printed).strip()))


def decimals(printed: str) -> int:
    """Number of printed decimals: "18.70" -> 2, "49.2" -> 1, "31,280" -> 0.

    Raises ValueError for text that is not a numeral (worded shares have no precision).
    """
    s = str(printed).strip()
    if not is_numeral(s):
        raise ValueError(f"{printed!r} is not a printed numeral")
    return len(s.split(".")[1]) if "." in s else 0


def exact(printed: str) -> Fraction:
    """The printed value as an exact fraction ("18.70" -> 187/10, "a third" -> 100/3)."""
    s = str(printed).strip()
    if is_numeral(s):
        return Fraction(Decimal(s.replace(",", "")))
    key = s.lower()
    if key in WORDS:
        return WORDS[key]
    raise ValueError(f"cannot read printed value {printed!r} (numeral or one of {sorted(WORDS)})")


def value(printed: str) -> float:
    """The printed value as a float: "31,280" -> 31280.0, "a quarter" -> 25.0."""
    return float(exact(printed))


# ------------------------------------------------------------------------- helpers
def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise PublishedError(f"{path}: file not found")
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if list(df.columns) != columns:
        raise PublishedError(f"{path}: header must be {','.join(columns)}, got {','.join(df.columns)}")
    for col in columns:
        df[col] = df[col].astype(str).str.strip()
    return df


def _err(path: Path, row: int, column: str, val: object, msg: str) -> PublishedError:
    return PublishedError(f"{path}: row {row + 1}, column {column!r}, value {val!r}: {msg}")


def _check_ids(path: Path, df: pd.DataFrame) -> None:
    seen: dict[str, int] = {}
    for i, v in enumerate(df["id"]):
        if not _ID.match(v):
            raise _err(path, i, "id", v, "ids are lower-case snake keys")
        if v in seen:
            raise _err(path, i, "id", v, f"duplicate id (first in row {seen[v] + 1})")
        seen[v] = i


def _check_question_option(path: Path, i: int, r: dict, codebook: Codebook) -> None:
    """The row's question is in the codebook and its option(s) belong to it."""
    if r["question"] not in codebook.by_id:
        raise _err(path, i, "question", r["question"], f"not a question of {codebook.source}")
    try:
        _options(codebook, r["question"], r["option"], r["stat"])
    except KeyError as exc:
        raise _err(path, i, "option", r["option"], exc.args[0]) from None


def _options(cb: Codebook, qid: str, opt: str, stat: str) -> list[str]:
    """Option keys named by an option cell ("a+b" allowed); raises KeyError with a reason."""
    q = cb[qid]
    if stat == "mean" or (q.type == "scale" and opt == ""):
        if q.type != "scale":
            raise KeyError(f"question {qid!r} is {q.type}, a mean needs a scale question")
        if opt:
            raise KeyError("a mean takes no option")
        return []
    parts = opt.split(OPTION_SEP)
    for p in parts:
        valid = _SCALE_OPTIONS if q.type == "scale" else tuple(q.keys)
        if p not in valid:
            raise KeyError(f"question {qid!r} has no option {p!r} (options: {', '.join(valid)})")
    if len(parts) > 1 and q.type != "single":
        raise KeyError(f"a union of options ({opt!r}) is only defined for single-choice questions")
    return parts


# ------------------------------------------------------------------------- figures
def validate_figures(df: pd.DataFrame, codebook: Codebook, path: Path | str = "figures.csv") -> pd.DataFrame:
    """Check a figures table; returns it unchanged. Errors name file, row, column and value."""
    path = Path(path)
    _check_ids(path, df)
    for i, r in enumerate(df.to_dict("records")):
        for col, allowed in (("unit", UNITS), ("stat", STATS), ("comparator", COMPARATORS)):
            if r[col] not in allowed:
                raise _err(path, i, col, r[col], f"must be one of {', '.join(allowed)}")
        try:
            exact(r["printed"])
        except ValueError as exc:
            raise _err(path, i, "printed", r["printed"], str(exc)) from None
        if r["comparator"] in EXACT_COMPARATORS and not is_numeral(r["printed"]):
            raise _err(path, i, "printed", r["printed"], f"comparator {r['comparator']!r} needs a numeral")
        if r["chart"] and not r["chart"].isdigit():
            raise _err(path, i, "chart", r["chart"], "chart is a chart number or empty")
        if r["chart"] and int(r["chart"]) not in {c.number for c in codebook.charts}:
            raise _err(path, i, "chart", r["chart"], "no such chart in the codebook")
        if not r["section"]:
            raise _err(path, i, "section", r["section"], "section must not be empty")
        if r["stat"] == "external":
            for col in ("question", "option", "by", "level"):
                if r[col]:
                    raise _err(path, i, col, r[col], "external statistics refer to no codebook question")
            continue
        if r["stat"] != r["unit"]:
            raise _err(path, i, "unit", r["unit"], f"survey figures with stat {r['stat']!r} need unit {r['stat']!r}")
        _check_question_option(path, i, r, codebook)
        if r["stat"] == "pct" and not r["share_of"]:
            raise _err(path, i, "share_of", r["share_of"], "say what the percentage is a share of")
        if bool(r["by"]) != bool(r["level"]):
            raise _err(
                path, i, "level" if r["by"] else "by", r["level"] if r["by"] else r["by"], "by and level go together"
            )
        if r["by"]:
            if r["by"] not in codebook.by_id:
                raise _err(path, i, "by", r["by"], f"not a question of {codebook.source}")
            byq = codebook[r["by"]]
            if byq.type != "single":
                raise _err(path, i, "by", r["by"], "subgroups are levels of a single-choice question")
            for lev in r["level"].split(OPTION_SEP):
                if lev not in byq.keys:
                    raise _err(path, i, "level", r["level"], f"question {byq.id!r} has no option {lev!r}")
            if r["by"] == r["question"] and r["option"] not in r["level"].split(OPTION_SEP):
                raise _err(
                    path,
                    i,
                    "option",
                    r["option"],
                    "a share within levels of the same question must be one of those levels",
                )
    return df


def read_figures(path: Path | str, codebook: Codebook) -> pd.DataFrame:
    """Read and validate ``figures.csv``; every column stays text (``printed`` exactly as printed)."""
    path = Path(path)
    return validate_figures(_read_csv(path, FIGURE_COLUMNS), codebook, path)


# The figure that prints the sample size: respondents who completed the questionnaire (the
# analysed sample every percentage of the whole sample is a share of).
SAMPLE_SIZE = "respondents"


def sample_size(figures: pd.DataFrame) -> int:
    """The published sample size: figure ``respondents`` (and its repeated prints ``respondents__*``)."""
    rows = figures[figures["id"].map(external_name) == SAMPLE_SIZE]
    printed = sorted(set(rows["printed"]))
    if len(printed) != 1 or not printed[0].isdigit():
        raise PublishedError(
            f"figures: the sample size {SAMPLE_SIZE!r} must be printed once as a whole number, got {printed}"
        )
    return int(printed[0])


def survey_figures(figures: pd.DataFrame) -> pd.DataFrame:
    return figures[figures["stat"] != "external"]


def external_name(figure_id: str) -> str:
    """Repeated prints of one statistic share a name: ``respondents__introduction`` -> ``respondents``."""
    return figure_id.split("__")[0]


# ------------------------------------------------------------------------- statements
def read_statements(path: Path | str) -> pd.DataFrame:
    """Read ``statements.csv``; each condition must parse and use only ledger-style keys."""
    path = Path(path)
    df = _read_csv(path, STATEMENT_COLUMNS)
    _check_ids(path, df)
    for i, r in enumerate(df.to_dict("records")):
        for col in ("text", "condition", "section"):
            if not r[col]:
                raise _err(path, i, col, r[col], "must not be empty")
        try:
            names = claims.names(r["condition"])
        except claims.ClaimError as exc:
            raise _err(path, i, "condition", r["condition"], str(exc)) from None
        if not names:
            raise _err(path, i, "condition", r["condition"], "a condition must refer to at least one ledger key")
        for k in names:
            if keys.family(k) not in ("pct", "pctby", "mean", "count", "n", "nby", "wpct", "wmean"):
                raise _err(path, i, "condition", r["condition"], f"{k!r} is not a survey ledger key")
    return df


# ------------------------------------------------------------------------- assumed values
def read_assumed(path: Path | str, codebook: Codebook) -> pd.DataFrame:
    """Read ``assumed.csv``; adds a float column ``value_num``. Percent shares of one
    single-choice or scale question (same by/level) must not add up to more than 100 (plus the
    rounding of two-decimal values)."""
    path = Path(path)
    df = _read_csv(path, ASSUMED_COLUMNS)
    nums = []
    for i, r in enumerate(df.to_dict("records")):
        if r["stat"] not in ASSUMED_STATS:
            raise _err(path, i, "stat", r["stat"], f"must be one of {', '.join(ASSUMED_STATS)}")
        _check_question_option(path, i, r, codebook)
        if r["by"] and r["by"] not in codebook.by_id:
            raise _err(path, i, "by", r["by"], f"not a question of {codebook.source}")
        if r["by"] and r["level"] not in codebook[r["by"]].keys:
            raise _err(path, i, "level", r["level"], f"question {r['by']!r} has no such option")
        try:
            v = Decimal(r["value"])
        except InvalidOperation:
            raise _err(path, i, "value", r["value"], "not a number") from None
        lo, hi = (0, 100) if r["stat"] == "pct" else (1, 10)
        if not lo <= v <= hi:
            raise _err(path, i, "value", r["value"], f"outside {lo}..{hi}")
        for col in ("constraint", "reason"):
            if not r[col]:
                raise _err(path, i, col, r[col], "must not be empty (write 'none' for no constraint)")
        nums.append(float(v))
    df["value_num"] = pd.Series(nums, index=df.index, dtype="float64")
    dup = df.duplicated(["question", "option", "by", "level", "stat"], keep=False)
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][1])
        raise _err(path, i, "option", df.iloc[i]["option"], "duplicate (question, option, by, level, stat)")
    singles = df[(df["stat"] == "pct") & df["question"].map(lambda q: codebook[q].type in ("single", "scale"))]
    for (q, by, lev), g in singles.groupby(["question", "by", "level"], sort=False):
        if g["value_num"].sum() > 100 + 0.005 * len(g) + 1e-9:  # each value rounded to 2 decimals
            i = int(g.index[-1])
            raise _err(
                path,
                i,
                "value",
                g.iloc[-1]["value"],
                f"shares of {q!r} (by {by!r} {lev!r}) add up to {g['value_num'].sum():.2f} > 100",
            )
    return df


# ------------------------------------------------------------------------- comparator semantics
# Tolerances of worded comparators, in the unit of the figure (percentage points for shares).
# "=" / "only": the true value lies within half a unit of the last printed digit, ends
#               included (so round-half-up and round-half-even printing are both accepted);
# "about":      within ABOUT_TOL of the printed value (e.g. "about 86%", "a quarter");
# "almost":     below the printed value by less than ALMOST_TOL ("almost 70%": 67 <= x < 70);
# "more_than":  strictly above; "slightly_more_than": above, by at most SLIGHTLY_TOL.
ABOUT_TOL = Fraction(3)
ALMOST_TOL = Fraction(3)
SLIGHTLY_TOL = Fraction(1)
_FLOAT_EPS = Fraction(1, 10**9)  # float input only: absorbs binary representation error


def half_unit(printed: str) -> Fraction:
    return Fraction(1, 2 * 10 ** decimals(printed))


def comparator_holds(x: Fraction | float, printed: str, comparator: str) -> bool:
    """Does the true value ``x`` satisfy ``printed`` read with ``comparator``? (see tolerances above)"""
    eps = Fraction(0) if isinstance(x, Fraction) else _FLOAT_EPS
    x = Fraction(x)
    v = exact(printed)
    if comparator in EXACT_COMPARATORS:
        return abs(x - v) <= half_unit(printed) + eps
    if comparator == "about":
        return abs(x - v) <= ABOUT_TOL + eps
    if comparator == "almost":
        return v - ALMOST_TOL - eps <= x < v
    if comparator == "more_than":
        return x > v
    if comparator == "slightly_more_than":
        return v < x <= v + SLIGHTLY_TOL + eps
    raise ValueError(f"unknown comparator {comparator!r} (one of {', '.join(COMPARATORS)})")
