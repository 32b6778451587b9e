"""The reproduction table: every published survey figure next to the value our pipeline computes.

Values are looked up by ledger key (``docs/architecture.md``):

- a mean: ``mean.<q>``;
- a share of everyone who answered: ``pct.<q>.<opt>``; a union of options of one single-choice
  question ("state+ngo") is the sum of its options' shares;
- a share within a subgroup: ``pctby.<by>.<level>.<q>.<opt>``;
- a share within some levels of the same question (``by`` == ``question``, e.g. NGO users among
  all programme users): ``100 * pct.<q>.<opt> / sum(pct.<q>.<level>)``.

Whether a recomputed value matches is decided by :func:`belmig.integrity.published.comparator_holds`:
"=" and "only" mean equal at the printed precision (within half a unit of the last printed digit,
ends included); "about" within 3 percentage points; "almost" below the printed value by less than
3 points; "more_than" strictly above; "slightly_more_than" above by at most 1 point.

Statements (``statements.csv``) are evaluated with :func:`belmig.report.claims.evaluate`. A key missing
from the values makes the row fail with a note saying which key; nothing is filled in silently.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from belmig.core import keys
from belmig.core.ledger import Values
from belmig.integrity import published as pub
from belmig.report import claims

CELL = "repro-values"
COLUMNS = ["id", "printed", "comparator", "recomputed", "match", "note", "kind"]

TOLERANCE_NOTE = {
    "=": "equal at the printed precision",
    "only": "equal at the printed precision ('only' is emphasis)",
    "about": f"within {pub.ABOUT_TOL} points",
    "almost": f"below, by less than {pub.ALMOST_TOL} points",
    "more_than": "strictly above",
    "slightly_more_than": f"above, by at most {pub.SLIGHTLY_TOL} point",
}


class _Missing(KeyError):
    pass


def _get(values: Mapping[str, float], key: str) -> float:
    if key not in values or values[key] is None:
        raise _Missing(key)
    return float(values[key])


def figure_keys(fig: Mapping[str, str]) -> list[str]:
    """The ledger keys a survey figure is recomputed from, in the order :func:`recompute` combines
    them (within some levels of the same question: the options' keys, then the levels')."""
    q, opts = fig["question"], fig["option"].split(pub.OPTION_SEP)
    if fig["stat"] == "mean":
        return [keys.mean(q)]
    if not fig["by"]:
        return [keys.pct(q, o) for o in opts]
    if fig["by"] == q:
        return [keys.pct(q, o) for o in opts] + [keys.pct(q, lv) for lv in fig["level"].split(pub.OPTION_SEP)]
    if pub.OPTION_SEP in fig["level"]:
        raise ValueError(f"figure {fig['id']!r}: a subgroup over several levels has no ledger key")
    return [keys.pctby(fig["by"], fig["level"], q, o) for o in opts]


def recompute(fig: Mapping[str, str], values: Mapping[str, float]) -> float:
    """The recomputed value of one survey figure; raises KeyError naming a missing ledger key."""
    got = [_get(values, k) for k in figure_keys(fig)]
    if fig["stat"] != "mean" and fig["by"] == fig["question"]:  # a share within some of its own levels
        n_opts = len(fig["option"].split(pub.OPTION_SEP))
        num, den = sum(got[:n_opts]), sum(got[n_opts:])
        return 100.0 * num / den if den else float("nan")
    return sum(got)


def _fmt(x: float, printed: str) -> str:
    if x != x:  # NaN
        return "n/a"
    d = pub.decimals(printed) if pub.is_numeral(printed) else 2
    return f"{x:.{d}f}"


def reproduction_table(figures: pd.DataFrame, statements: pd.DataFrame, values: Mapping[str, float]) -> pd.DataFrame:
    """One row per survey figure (kind "figure") and per statement (kind "statement")."""
    rows = []
    for f in pub.survey_figures(figures).to_dict("records"):
        try:
            x = recompute(f, values)
        except _Missing as exc:
            rows.append(
                {
                    "id": f["id"],
                    "printed": f["printed"],
                    "comparator": f["comparator"],
                    "recomputed": "n/a",
                    "match": False,
                    "note": f"not computed: ledger key {exc.args[0]!r} is missing",
                    "kind": "figure",
                }
            )
            continue
        ok = x == x and pub.comparator_holds(x, f["printed"], f["comparator"])
        note = TOLERANCE_NOTE[f["comparator"]]
        if not ok:
            note += f"; differs by {x - pub.value(f['printed']):+.3f}"
        rows.append(
            {
                "id": f["id"],
                "printed": f["printed"],
                "comparator": f["comparator"],
                "recomputed": _fmt(x, f["printed"]),
                "match": bool(ok),
                "note": note,
                "kind": "figure",
            }
        )
    for s in statements.to_dict("records"):
        try:
            held = claims.evaluate(s["condition"], values)
            note = s["text"]
            rec = "true" if held else "false"
        except claims.ClaimError as exc:
            held, rec, note = False, "n/a", f"not evaluated: {exc}"
        rows.append(
            {
                "id": s["id"],
                "printed": s["condition"],
                "comparator": "claim",
                "recomputed": rec,
                "match": bool(held),
                "note": note,
                "kind": "statement",
            }
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["match"] = df["match"].astype(bool)
    return df


def to_values(table: pd.DataFrame, vals: Values) -> Values:
    """Record repro.figures, repro.matched, repro.statements, repro.statements_held."""
    fig = table[table["kind"] == "figure"]
    st = table[table["kind"] == "statement"]
    vals.add("repro.figures", len(fig), "int", cell=CELL, description="published survey figures recomputed")
    vals.add(
        "repro.matched",
        int(fig["match"].sum()),
        "int",
        cell=CELL,
        description="recomputed figures that match as printed",
    )
    vals.add("repro.statements", len(st), "int", cell=CELL, description="qualitative statements checked")
    vals.add(
        "repro.statements_held",
        int(st["match"].sum()),
        "int",
        cell=CELL,
        description="statements that hold in our data",
    )
    return vals
