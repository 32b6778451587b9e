"""Charts: every chart draws; the numbers on it are the ledger's text of the estimates; sorted
charts are sorted; the Russian build has no Latin letters; output is byte-identical across runs.

The estimates table is built here, following the "estimates.parquet" contract, from counts chosen
to reproduce figures printed in the 2022 report (e.g. support_needs: language 68.42 … n = 266),
so these tests do not depend on the estimation module.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from matplotlib.figure import Figure

from belmig.charts import base, build, caption, draw, main, theme
from belmig.charts.strings import SUPPRESSED_MARK
from belmig.core import codebook as codebook_mod
from belmig.core.ledger import format_value

CHARTS = range(1, 19)
MIN_CELL = 5

# question -> (n, {option: count}); subgroup rows under (question, by, level).
COUNTS: dict[tuple[str, str, str], tuple[int, dict[str, int]]] = {
    ("arrival_year", "", ""): (335, {"before2020": 0, "y2020": 101, "y2021": 120, "y2022": 114}),
    ("reasons_exit", "", ""): (280, {"political": 241, "economic": 87, "family": 35, "study": 14, "other": 25}),
    ("reasons_lithuania", "", ""): (
        272,
        {"visa": 125, "relatives": 84, "political_climate": 61, "employment": 59, "rule_of_law": 41, "other": 89},
    ),
    ("legal_status", "", ""): (
        295,
        {"residence_permit": 200, "humanitarian_visa": 43, "study_work_visa": 28, "asylum": 24, "other": 0},
    ),
    ("age_group", "", ""): (335, {"age18_25": 47, "age26_35": 148, "age36_45": 101, "age46_55": 30, "age56plus": 9}),
    ("income_regular", "", ""): (295, {"yes": 205, "no": 90}),
    ("income_source", "", ""): (
        293,
        {"employment": 161, "self_employed": 45, "savings_relatives": 67, "partner": 45, "benefits": 5, "other": 6},
    ),
    ("income_source", "income_regular", "yes"): (
        203,
        {"employment": 161, "self_employed": 44, "savings_relatives": 12, "partner": 6, "benefits": 3, "other": 4},
    ),
    ("income_source", "income_regular", "no"): (
        90,
        {"employment": 0, "self_employed": 1, "savings_relatives": 55, "partner": 39, "benefits": 2, "other": 2},
    ),
    ("support_programs", "", ""): (320, {"no": 288, "state": 24, "ngo": 8}),
    ("discrimination", "", ""): (325, {"no": 160, "heard": 94, "housing": 28, "labour": 16, "other": 27}),
    ("war_impact", "", ""): (310, {"negative": 164, "positive": 22, "none": 78, "cant_say": 46}),
    ("support_needs", "", ""): (
        266,
        {
            "language": 182,
            "medical": 123,
            "legal": 117,
            "job": 80,
            "psychological": 67,
            "housing": 64,
            "financial": 58,
            "business": 50,
            "school": 39,
            "qualifications": 37,
            "other": 15,
        },
    ),  # fmt: skip
    ("support_sought", "", ""): (
        260,
        {"migration": 150, "health": 90, "education": 40, "employment": 70, "social": 30, "none": 50},
    ),
    ("health_problems", "", ""): (
        160,
        {"none": 36, "waiting": 70, "language": 59, "information": 59, "no_insurance": 30, "other": 13},
    ),
    ("education_problems", "", ""): (
        81,
        {"none": 41, "language_adaptation": 16, "information": 8, "admin": 12, "psych_support": 7, "other": 7},
    ),
    ("return_plans", "", ""): (290, {"yes": 100, "no": 60, "cant_say": 130}),
    ("return_plans", "sex", "female"): (160, {"yes": 50, "no": 30, "cant_say": 80}),
    ("return_plans", "sex", "male"): (120, {"yes": 47, "no": 28, "cant_say": 45}),
}
# scale questions: counts of ratings 1..10 (means 4.17, 8.81, 7.62 as printed)
SCALES = {
    "security_by": [49, 36, 40, 39, 36, 28, 20, 14, 9, 9],
    "security_lt": [2, 1, 2, 3, 6, 10, 18, 40, 71, 127],
    "quality_life": [2, 2, 4, 6, 14, 35, 56, 69, 52, 40],
}
DEFF = 1.4


def _logit_ci(p: float, n_eff: float) -> tuple[float, float]:
    p = min(max(p, 0.5 / n_eff), 1 - 0.5 / n_eff)
    lo = math.log(p / (1 - p))
    h = 1.96 / math.sqrt(n_eff * p * (1 - p))
    return 100 / (1 + math.exp(-(lo - h))), 100 / (1 + math.exp(-(lo + h)))


def _row(q, opt, stat, by, level, weighted, est, lo, hi, n, k, n_eff, suppressed):
    return {
        "question": q, "option": opt, "stat": stat, "by": by, "level": level, "weighted": weighted,
        "estimate": est, "se": (hi - lo) / 3.92, "ci_low": lo, "ci_high": hi,
        "ci_method": "logit" if stat == "pct" else "t", "n": n, "k": k, "n_eff": n_eff,
        "suppressed": suppressed, "p_diff": float("nan"),
    }  # fmt: skip


def _pct_rows(q, by, level, n, counts, out):
    n_eff = n / DEFF
    for j, (opt, k) in enumerate(counts.items()):
        p = 100 * k / n
        supp = bool(by) and k < MIN_CELL
        lo, hi = _logit_ci(p / 100, n)
        out.append(_row(q, opt, "pct", by, level, False, p, lo, hi, n, k, float(n), supp))
        wp = min(max(p * (1 + 0.04 * ((j % 3) - 1)), 0.0), 100.0)  # weighted: a little off the unweighted
        wlo, whi = _logit_ci(wp / 100, n_eff)
        out.append(_row(q, opt, "pct", by, level, True, wp, min(wlo, wp), max(whi, wp), n, k, n_eff, supp))


def published_like_estimates() -> pd.DataFrame:
    """An estimates table (contract: docs/architecture.md) reproducing the report's printed figures."""
    out: list[dict] = []
    for (q, by, level), (n, counts) in COUNTS.items():
        assert sum(counts.values()) == n or q in ("reasons_exit", "reasons_lithuania", "income_source",
                                                   "support_needs", "support_sought", "health_problems",
                                                   "education_problems")  # fmt: skip
        _pct_rows(q, by, level, n, counts, out)
    for q, counts in SCALES.items():
        n = sum(counts)
        _pct_rows(q, "", "", n, {f"v{i}": k for i, k in enumerate(counts, start=1)}, out)
        _pct_rows(q, "", "", n, {"ge8": sum(counts[7:])}, out)
        mean = sum(i * k for i, k in enumerate(counts, start=1)) / n
        sd = math.sqrt(sum(k * (i - mean) ** 2 for i, k in enumerate(counts, start=1)) / (n - 1))
        h = 1.96 * sd / math.sqrt(n)
        out.append(_row(q, "", "mean", "", "", False, mean, mean - h, mean + h, n, pd.NA, float(n), False))
        wm, wh = mean + 0.05, 1.96 * sd / math.sqrt(n / DEFF)
        out.append(_row(q, "", "mean", "", "", True, wm, wm - wh, wm + wh, n, pd.NA, n / DEFF, False))
    df = pd.DataFrame(out)
    df["k"] = df["k"].astype("Int64")
    return df


def _lookup(est: pd.DataFrame, q: str, opt: str, stat: str, by: str, level: str, weighted: bool) -> pd.Series:
    m = (
        (est["question"] == q) & (est["option"] == opt) & (est["stat"] == stat)
        & (est["by"] == by) & (est["level"] == level) & (est["weighted"] == weighted)
    )  # fmt: skip
    hit = est.loc[m]
    assert len(hit) == 1, (q, opt, stat, by, level, weighted)
    return hit.iloc[0]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cb():
    return codebook_mod.load()


@pytest.fixture(scope="module")
def estimates():
    return published_like_estimates()


def _draw_all(est, cb, out: Path, lang: str, ci: bool = False, charts=CHARTS) -> dict[int, dict]:
    recs = {}
    for n in charts:
        stem = out / f"chart{n:02d}"
        recs[n] = draw(n, est, cb, lang=lang, ci_whiskers=ci, dpi=100, out_svg=stem.with_suffix(".svg"),
                       out_png=stem.with_suffix(".png"), out_alt=stem.with_suffix(".alt.txt"),
                       out_data=stem.with_suffix(".json"))  # fmt: skip
    return recs


@pytest.fixture(scope="module")
def drawn(tmp_path_factory, estimates, cb):
    """All 18 charts in both languages: {lang: (directory, {number: record})}."""
    out = {}
    for lang in ("en", "ru"):
        d = tmp_path_factory.mktemp(f"charts_{lang}")
        out[lang] = (d, _draw_all(estimates, cb, d, lang))
    return out


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_chart_writes_its_files(drawn, lang):
    d, recs = drawn[lang]
    assert sorted(recs) == list(CHARTS)
    for n in CHARTS:
        stem = d / f"chart{n:02d}"
        svg = stem.with_suffix(".svg").read_text(encoding="utf-8")
        assert svg.startswith("<?xml") and "<path" in svg
        assert "<text" not in svg, "SVG text must be converted to paths"
        assert "<dc:date>" not in svg
        png = stem.with_suffix(".png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"Software" not in png and b"matplotlib" not in png.lower()
        assert stem.with_suffix(".alt.txt").read_text(encoding="utf-8").strip()
        rec = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        assert rec["chart"] == n and rec["id"] == f"chart{n:02d}" and rec["lang"] == lang
    assert not list(d.glob("*.tmp")) and not list(d.glob(".*.tmp"))


@pytest.mark.parametrize("n", [5, 14])
def test_png_has_the_pixels_of_matplotlibs_default_png(estimates, cb, tmp_path, n):
    """build.PNG_COMPRESS_LEVEL changes the bytes, never the image: the written PNG decodes to the
    pixels (and size, mode, resolution) of the PNG matplotlib writes with Pillow's defaults, and on
    these flat-coloured charts it is the smaller file."""
    import importlib
    import io

    from PIL import Image

    level = importlib.import_module("belmig.charts.build").PNG_COMPRESS_LEVEL

    stem = tmp_path / f"chart{n:02d}"
    draw(n, estimates, cb, lang="en", ci_whiskers=False, dpi=200, out_svg=stem.with_suffix(".svg"),
         out_png=stem.with_suffix(".png"), out_alt=stem.with_suffix(".alt.txt"),
         out_data=stem.with_suffix(".json"))  # fmt: skip
    with matplotlib.rc_context(theme.rc()):
        fig, _ = build(n, estimates, cb, lang="en", ci_whiskers=False)
        default = io.BytesIO()
        fig.savefig(default, format="png", dpi=200, metadata={"Software": None})
    written = stem.with_suffix(".png").read_bytes()
    assert level == 3 and written != default.getvalue()
    ours, theirs = Image.open(io.BytesIO(written)), Image.open(default)
    assert (ours.size, ours.mode, ours.info.get("dpi")) == (theirs.size, theirs.mode, theirs.info.get("dpi"))
    assert ours.tobytes() == theirs.tobytes()
    assert len(written) < len(default.getvalue())


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_plotted_numbers_are_the_ledger_text_of_the_estimates(drawn, estimates, lang):
    for rec in drawn[lang][1].values():
        for bar in rec["bars"]:
            row = _lookup(estimates, rec["question"], bar["option"], "pct", rec["by"], rec["level"], False)
            assert bar["value"] == (None if row["suppressed"] else pytest.approx(row["estimate"], abs=0))
            if row["suppressed"]:
                assert bar["text"] == bar["drawn"] == SUPPRESSED_MARK
            else:
                assert bar["text"] == format_value(row["estimate"], "pct")
                # the ledger's text in the chart language's number format (en: as printed)
                assert bar["drawn"] == (
                    bar["text"] + "%" if lang == "en" else {"ru": bar["text"].replace(".", ",") + "\u00a0%"}[lang]
                )
            assert int(row["n"]) == rec["n"]
        if rec["kind"] == "scale":
            row = _lookup(estimates, rec["question"], "", "mean", "", "", False)
            assert rec["mean"]["text"] == format_value(row["estimate"], "mean")
            assert (rec["mean"]["text"] if lang == "en" else rec["mean"]["text"].replace(".", ",")) in rec["mean"][
                "drawn"
            ]
            assert rec["mean"]["ledger_key"] == f"mean.{rec['question']}"
        else:
            assert rec["mean"] is None


def test_published_figures_appear_as_printed(drawn):
    recs = drawn["en"][1]

    def texts(n):
        return {b["option"]: b["text"] for b in recs[n]["bars"]}

    assert texts(14)["language"] == "68.42" and texts(14)["medical"] == "46.24" and recs[14]["n"] == 266
    assert texts(18) == {"yes": "34.48", "no": "20.69", "cant_say": "44.83"}
    assert texts(8)["employment"] == "79.31" and texts(8)["self_employed"] == "21.67"
    assert (
        recs[3]["mean"]["text"] == "4.17" and recs[10]["mean"]["text"] == "8.81" and recs[11]["mean"]["text"] == "7.62"
    )


def test_ledger_keys(drawn):
    recs = drawn["en"][1]
    assert recs[14]["bars"][0]["ledger_key"] == "pct.support_needs.language"
    assert {b["option"]: b["ledger_key"] for b in recs[8]["bars"]} == {
        **{
            k: f"pctby.income_regular.yes.income_source.{k}"
            for k in ("employment", "self_employed", "savings_relatives", "partner")
        },
        "benefits": None,  # suppressed: not in the ledger, not printed
        "other": None,
    }
    assert recs[3]["mean"]["ledger_key"] == "mean.security_by"
    for rec in recs.values():
        shown = " ".join(rec["figure_text"])
        assert all(b["drawn"] in rec["figure_text"] for b in rec["bars"])
        # one title: the report caption titles the chart, the image does not repeat it
        assert rec["title"] not in shown and rec["source"] in shown


def test_changing_an_estimate_changes_the_label(estimates, cb):
    est = estimates.copy()
    m = (est["question"] == "support_needs") & (est["option"] == "language") & ~est["weighted"]
    est.loc[m, "estimate"] = 12.345
    _, rec = build(14, est, cb, lang="en", ci_whiskers=False)
    bar = next(b for b in rec["bars"] if b["option"] == "language")
    assert bar["text"] == format_value(12.345, "pct") and bar["drawn"] == format_value(12.345, "pct") + "%"
    assert rec["bars"][0]["option"] == "medical", "the sort order follows the new value"
    assert "12.35%" in rec["alt"] and "68.42%" not in rec["alt"]


def test_sorted_charts_are_sorted_and_others_keep_codebook_order(drawn, cb):
    for n, rec in drawn["en"][1].items():
        chart = cb.chart(n)
        keys = [b["option"] for b in rec["bars"]]
        if rec["kind"] == "scale":
            assert keys == [f"v{i}" for i in range(1, 11)]
            continue
        q = cb[chart.question]
        expected = [k for k in q.keys if k not in chart.exclude_options]
        if not chart.sort:
            assert keys == expected, n
            continue
        ranked = [b for b in rec["bars"] if not b["residual"]]
        tail = [b for b in rec["bars"] if b["residual"]]
        vals = [-1.0 if b["value"] is None else b["value"] for b in ranked]
        assert vals == sorted(vals, reverse=True), n
        assert rec["bars"] == ranked + tail, n
        flagged = {o.key for o in q.options if o.other or o.exclusive}
        assert {b["option"] for b in tail} >= flagged
        assert [b["option"] for b in tail] == [k for k in expected if k in {b["option"] for b in tail}]
    assert [b["option"] for b in drawn["en"][1][5]["bars"]][-1] == "other"
    assert [b["option"] for b in drawn["en"][1][16]["bars"]][-2:] == ["none", "other"]


def test_chart1_excludes_before2020_and_chart8_is_the_regular_income_subgroup(drawn):
    recs = drawn["en"][1]
    assert [b["option"] for b in recs[1]["bars"]] == ["y2020", "y2021", "y2022"]
    assert (recs[8]["by"], recs[8]["level"], recs[8]["n"]) == ("income_regular", "yes", 203)
    assert "Do you have a regular source of income in Lithuania?" in recs[8]["note"]
    supp = {b["option"] for b in recs[8]["bars"] if b["suppressed"]}
    assert supp == {"benefits", "other"}
    assert "not shown, to protect respondents" in recs[8]["note"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_labels_come_from_the_codebook(drawn, cb, lang):
    for n, rec in drawn[lang][1].items():
        chart = cb.chart(n)
        q = cb[chart.question]
        assert rec["title"] == ("Chart" if lang == "en" else "Диаграмма") + f" {n}. {chart.title(lang)}"
        assert rec["subtitle"] == q.text(lang)
        for b in rec["bars"]:
            if q.is_choice:
                assert b["label"] == q.option(b["option"]).label(lang)
            assert b["label_drawn"].replace("\n", " ") == b["label"]


def test_russian_build_has_no_latin_letters(drawn, cb):
    latin = re.compile(r"[A-Za-z]")
    for n, rec in drawn["ru"][1].items():
        strings = rec["figure_text"] + [rec["title"], rec["subtitle"], rec["note"], rec["source"], rec["alt"]]
        strings += [b["drawn"] for b in rec["bars"]] + [b["label_drawn"] for b in rec["bars"]]
        bad = [s for s in strings if latin.search(s)]
        assert not bad, (n, bad)
        assert not latin.search(caption(n, cb, "ru")), n
        assert rec["figure_text"], n


def test_english_build_shows_base_and_source(drawn):
    for rec in drawn["en"][1].values():
        assert rec["note"].startswith(f"n = {rec['n']:,}; ")
        assert rec["source"] == "Source: synthetic reconstruction of the EESC 2022 survey (not the original data)"
    assert "several answers possible" in drawn["en"][1][14]["note"]
    assert "one answer per respondent" in drawn["en"][1][18]["note"]
    assert "ratings from 1 to 10" in drawn["en"][1][3]["note"]
    assert "Have you used health-care services in Lithuania?" in drawn["en"][1][16]["note"]


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_alt_text_mentions_question_values_and_n(drawn, cb, lang):
    d, recs = drawn[lang]
    for n, rec in recs.items():
        alt = (d / f"chart{n:02d}.alt.txt").read_text(encoding="utf-8")
        assert cb[cb.chart(n).question].text(lang) in alt
        assert format_value(rec["n"], "count") in alt
        for b in rec["bars"]:
            if not b["suppressed"]:
                assert f"{b['label']}: {b['drawn']}" in alt
    assert recs[1]["alt"].startswith(("Chart 1. Entry to Lithuania. Bar chart: When did you arrive in Lithuania?",
                                      "Диаграмма 1. Въезд в Литву. Столбчатая диаграмма: Когда вы приехали в Литву?"))  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_two_draws_are_byte_identical(drawn, estimates, cb, tmp_path, lang):
    d1, _ = drawn[lang]
    again = (1, 3, 8, 16)  # years, a 1–10 scale, a subgroup with suppressed cells, a sorted chart with residuals
    _draw_all(estimates, cb, tmp_path, lang, charts=again)
    for n in again:
        for ext in (".svg", ".png", ".alt.txt", ".json"):
            name = f"chart{n:02d}{ext}"
            assert (tmp_path / name).read_bytes() == (d1 / name).read_bytes(), name


def test_ci_whiskers_come_from_the_weighted_estimates(estimates, cb, tmp_path):
    recs = _draw_all(estimates, cb, tmp_path, "en", ci=True, charts=(10, 14))
    bar = recs[14]["bars"][0]
    row = _lookup(estimates, "support_needs", bar["option"], "pct", "", "", True)
    assert bar["weighted"] == {"value": row["estimate"], "ci_low": row["ci_low"], "ci_high": row["ci_high"],
                               "ledger_key": "wpct.support_needs.language"}  # fmt: skip
    assert bar["text"] == format_value(
        _lookup(estimates, "support_needs", "language", "pct", "", "", False)["estimate"], "pct"
    )
    assert "95% confidence interval" in recs[14]["note"]
    wm = _lookup(estimates, "security_lt", "", "mean", "", "", True)
    assert (
        f"{format_value(wm['ci_low'], 'mean')}–{format_value(wm['ci_high'], 'mean')}"
        in recs[10]["mean"]["weighted"]["ci_drawn"]
    )
    no_w = estimates.loc[~estimates["weighted"]]
    with pytest.raises(base.ChartError, match="weighted"):
        build(14, no_w, cb, lang="en", ci_whiskers=True)


def test_missing_or_duplicated_estimates_fail_loudly(estimates, cb):
    est = estimates.loc[~((estimates["question"] == "return_plans") & (estimates["option"] == "no"))]
    with pytest.raises(base.ChartError, match="'no'"):
        build(18, est, cb, lang="en", ci_whiskers=False)
    dup = pd.concat([estimates, estimates.loc[estimates["question"] == "age_group"].head(1)])
    with pytest.raises(base.ChartError, match="found 2"):
        build(6, dup, cb, lang="en", ci_whiskers=False)
    with pytest.raises(base.ChartError, match="lack columns"):
        build(6, estimates.drop(columns="suppressed"), cb, lang="en", ci_whiskers=False)
    with pytest.raises(ValueError, match="language"):
        build(6, estimates, cb, lang="de", ci_whiskers=False)


def test_spec_must_agree_with_the_codebook(cb):
    spec = base.ChartSpec(number=1, question="arrival_year", kind="bars", subgroup=None, exclude=(), last=())
    with pytest.raises(base.ChartError, match="excludes"):
        base.check_spec(spec, cb)
    spec = base.ChartSpec(number=8, question="income_source", kind="bars", subgroup=None, exclude=(), last=())
    with pytest.raises(base.ChartError, match="subgroup"):
        base.check_spec(spec, cb)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_captions_are_one_sentence(cb, lang):
    for n in CHARTS:
        cap = caption(n, cb, lang)
        assert cap.endswith(".") and cb.chart(n).title(lang) in cap and "\n" not in cap


def test_cli_writes_the_four_files(estimates, tmp_path):
    pq = tmp_path / "estimates.parquet"
    estimates.to_parquet(pq)
    out = tmp_path / "figures"
    argv = [
        "--chart",
        "7",
        "--estimates",
        str(pq),
        "--lang",
        "ru",
        "--ci-whiskers",
        "0",
        "--dpi",
        "72",
        "--min-cell",
        "5",
        "--out-dir",
        str(out),
    ]
    assert main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == ["chart07.alt.txt", "chart07.json", "chart07.png", "chart07.svg"]
    rec = json.loads((out / "chart07.json").read_text(encoding="utf-8"))
    assert rec["lang"] == "ru" and [b["text"] for b in rec["bars"]] == ["69.49", "30.51"]


def test_only_the_first_language_gets_a_png(estimates, tmp_path):
    # the DOCX (English) shows the PNG; the PDF and every HTML edition show the SVG
    pq = tmp_path / "estimates.parquet"
    estimates.to_parquet(pq)
    out = tmp_path / "figures"
    common = ["--chart", "7", "--estimates", str(pq), "--lang", "en", "ru", "--ci-whiskers", "0", "--dpi", "72"]
    common += ["--min-cell", "5", "--out-dir", str(out), "--state", str(tmp_path / "state.json")]
    assert main([*common, "--draw", "ru"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["chart07.ru.alt.txt", "chart07.ru.json", "chart07.ru.svg"]
    assert main([*common, "--draw", "en"]) == 0
    assert {"chart07.png", "chart07.svg"} <= {p.name for p in out.iterdir()}
    assert not (out / "chart07.ru.png").exists()


def test_two_drawing_processes_write_what_one_does_and_name_a_failing_chart(estimates, tmp_path, monkeypatch):
    """--jobs 2 (rule draw_charts on two cores): a forked process draws every other chart; the
    files and the state are the bytes one process writes. A chart that fails in the forked
    process fails the job with its name, and the parent's charts are still written."""
    from belmig.charts import cli

    pq = tmp_path / "estimates.parquet"
    estimates.to_parquet(pq)
    charts = ["1", "3", "7", "8", "16"]

    def run(jobs, out):
        argv = ["--chart", *charts, "--estimates", str(pq), "--lang", "en", "ru", "--ci-whiskers", "0"]
        argv += ["--dpi", "72", "--min-cell", "5", "--out-dir", str(out), "--state", str(out / "state.json")]
        return main([*argv, "--jobs", str(jobs)])

    assert run(1, tmp_path / "one") == 0 and run(2, tmp_path / "two") == 0
    one = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}
    assert len(one) == 5 * 2 * 4 - 5 + 1 and one == two  # 5 charts × 2 languages, no ru PNG, the state

    real = cli.in_processes

    def failing_in_child(tasks, work, jobs):
        def work_or_fail(task):
            if task[0] == "chart03.ru" and os.getpid() != parent:  # the forked process's (every other)
                raise ValueError("planted")
            return work(task)

        return real(tasks, work_or_fail, jobs)

    parent = os.getpid()
    monkeypatch.setattr(cli, "in_processes", failing_in_child)
    out = tmp_path / "fail"
    with pytest.raises(RuntimeError, match="chart03.ru: planted"):
        run(2, out)
    assert (out / "chart16.svg").is_file() and not (out / "state.json").exists()


def _overlaps(fig) -> list[str]:
    """Visible texts that leave the figure or overlap each other (as laid out by Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    r = FigureCanvasAgg(fig).get_renderer()
    W, H = fig.bbox.width, fig.bbox.height
    boxes = [
        (a.get_text(), a.get_window_extent(renderer=r))
        for a in fig.findobj(Text)
        if a.get_visible() and a.get_text().strip()
    ]
    bad = [f"outside: {s!r}" for s, b in boxes if b.x0 < 0 or b.y0 < 0 or b.x1 > W or b.y1 > H]
    for i, (s1, b1) in enumerate(boxes):
        for s2, b2 in boxes[i + 1 :]:
            if b1.x0 < b2.x1 and b2.x0 < b1.x1 and b1.y0 < b2.y1 and b2.y0 < b1.y1:
                bad.append(f"overlap: {s1!r} / {s2!r}")
    return bad


def test_the_overlap_check_can_fail():
    fig = Figure(figsize=(2, 1))
    fig.text(0.1, 0.5, "Mean: 4.17")
    fig.text(0.15, 0.5, "12.34%")
    fig.text(0.9, 0.1, "cut off at the right")
    assert len(_overlaps(fig)) == 2


@pytest.mark.parametrize(("lang", "ci"), [("en", False), ("ru", True)])
def test_no_text_overlaps_or_leaves_the_figure(estimates, cb, lang, ci):
    import matplotlib

    from belmig.charts import theme

    est = estimates.copy()
    extreme = (est["question"] == "security_lt") & (est["stat"] == "mean")
    est.loc[extreme, ["estimate", "ci_low", "ci_high"]] = [9.97, 9.90, 10.0]  # mean label at the right edge
    low = (est["question"] == "security_by") & (est["stat"] == "mean")
    est.loc[low, ["estimate", "ci_low", "ci_high"]] = [1.02, 1.0, 1.08]  # … and at the left edge
    with matplotlib.rc_context(theme.rc()):
        for n in CHARTS:
            fig, _ = build(n, est, cb, lang=lang, ci_whiskers=ci)
            assert not _overlaps(fig), (n, _overlaps(fig))


# --------------------------------------------------------------------------- the wrap's estimate


def _codebook_texts(cb) -> list[tuple[str, str]]:
    """The words of the charts in three languages, with their language: every question text,
    answer label and chart title of the codebook, and the charts' own furniture."""
    from belmig.charts.strings import TEXT

    out = []
    for lang in ("en", "lt", "ru"):
        for q in cb.questions:
            out.append((lang, q.text(lang)))
            out += [(lang, o.label(lang)) for o in q.options]
        out += [(lang, c.title(lang)) for c in cb.charts]
        out += [(lang, s) for s in TEXT[lang].values()]
    return out


_WRAP_FONTS = [(theme.SIZE_TITLE, "bold"), (theme.SIZE_LABEL, "normal"), (theme.SIZE_SOURCE, "normal")]
_WRAP_WIDTHS = [base.LABEL_MAX * (theme.FIG_WIDTH_IN - 2 * base.MARGIN), theme.FIG_WIDTH_IN - 2 * base.MARGIN]


def _exact_wrap(monkeypatch, text, width, prop, tried=None):
    """The wrap measuring every line it tries (each recorded in ``tried``)."""

    def measured(s, w, p):
        if tried is not None:
            tried.append(s)
        return base._line_width(s, p) > w

    with monkeypatch.context() as m:
        m.setattr(base, "wider_than", measured)
        return base.wrap(text, width, prop)


def test_wrap_decided_by_the_advance_widths_is_the_measured_wrap(cb, monkeypatch):
    """The wrap measures only lines whose advance-width sum is near the width: on the charts'
    words in three languages, three fonts and two widths (the labels' and the text's), it wraps exactly as measuring every
    line does, and each line the measured wrap tried is within half the slack of its width."""
    texts = _codebook_texts(cb)
    assert len(texts) > 400
    worst = 0.0
    with matplotlib.rc_context(theme.rc()):
        for size, weight in _WRAP_FONTS:
            prop = theme.font(size, weight)
            em = size / 72.0
            for lang, text in texts:
                for width in _WRAP_WIDTHS:
                    tried: list[str] = []
                    exact = _exact_wrap(monkeypatch, text, width, prop, tried)
                    assert base.wrap(text, width, prop) == exact, (lang, text, width)
                    for line in tried:
                        est = base.estimate_width(line, prop)
                        assert est is not None, (lang, line)
                        slack = base.ESTIMATE_SLACK_EM * em + base.ESTIMATE_SLACK_REL * est
                        err = abs(base._line_width(line, prop) - est)
                        worst = max(worst, err / em)
                        assert err <= slack / 2, (lang, line, err, slack)
    assert worst > 0.05  # the estimate is not exact: a too-small slack would show


def test_wrap_with_no_slack_differs_from_the_measured_wrap(cb, monkeypatch):
    """Planted fault: deciding every line by the advance widths alone wraps some text differently,
    so the comparison above can fail."""
    monkeypatch.setattr(base, "ESTIMATE_SLACK_EM", 0.0)
    monkeypatch.setattr(base, "ESTIMATE_SLACK_REL", 0.0)
    differs = 0
    with matplotlib.rc_context(theme.rc()):
        for size, weight in _WRAP_FONTS:
            prop = theme.font(size, weight)
            for _, text in _codebook_texts(cb):
                for width in _WRAP_WIDTHS:
                    differs += base.wrap(text, width, prop) != _exact_wrap(monkeypatch, text, width, prop)
    assert differs > 0
