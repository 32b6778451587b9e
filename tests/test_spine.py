"""Unit tests of the spine: config schema, codebook, ledger, claims, render pre-pass, value diff."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import sys

import nbformat
import pandas as pd
import pytest
import yaml

from belmig.core import atomic, codebook, config, ledger, nbrun, paths
from belmig.core.schema import SchemaError
from belmig.report import claims, render, valuediff


# ---------------------------------------------------------------- config
def test_config_validates():
    cfg = config.load()
    assert cfg["privacy"]["min_cell"] == 5


def test_misspelled_config_key_is_an_error():
    cfg = yaml.safe_load(paths.CONFIG.read_text(encoding="utf-8"))
    cfg["cleaning"]["speeder_fractoin"] = 0.3
    with pytest.raises(SchemaError, match="speeder_fractoin"):
        config.validate_config(cfg)


def test_missing_config_key_is_an_error():
    cfg = yaml.safe_load(paths.CONFIG.read_text(encoding="utf-8"))
    del cfg["privacy"]["min_cell"]
    with pytest.raises(SchemaError, match="min_cell"):
        config.validate_config(cfg)


def test_override_merges_nested_and_is_validated():
    cfg = config.load(overrides={"charts": {"language": "ru"}})
    assert cfg["charts"]["language"] == "ru" and cfg["charts"]["png_dpi"] == 200
    with pytest.raises(SchemaError, match="language"):
        config.load(overrides={"charts": {"language": "de"}})


# ---------------------------------------------------------------- codebook
def test_codebook_numbers_its_charts_in_order_and_has_every_published_one():
    cb = codebook.load()
    assert [c.number for c in cb.charts] == list(range(1, len(cb.charts) + 1))
    printed = pd.read_csv(paths.PUBLISHED_FIGURES, dtype=str, keep_default_na=False)["chart"]
    assert {int(n) for n in printed if n} <= {c.number for c in cb.charts}
    assert cb.chart(16).question == "health_problems"
    assert cb["health_problems"].universe == codebook.Universe("health_used", ("yes",))


def test_codebook_rejects_duplicate_option_keys():
    raw = yaml.safe_load(paths.CODEBOOK.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    q = next(q for q in raw["questions"] if q["id"] == "sex")
    q["options"][1]["key"] = "female"
    with pytest.raises(codebook.CodebookError, match="sex.*repeats option key"):
        codebook.from_dict(raw)


def test_codebook_rejects_universe_on_later_question():
    raw = yaml.safe_load(paths.CODEBOOK.read_text(encoding="utf-8"))
    q = next(q for q in raw["questions"] if q["id"] == "citizen_by")
    q["universe"] = {"question": "return_plans", "in": ["yes"]}
    with pytest.raises(codebook.CodebookError, match="not an earlier question"):
        codebook.from_dict(raw)


# ---------------------------------------------------------------- ledger
def test_ledger_formats_once():
    assert ledger.format_value(18.699186, "pct") == "18.70"
    assert ledger.format_value(31280, "count") == "31,280"
    assert ledger.format_value(0.0004, "pvalue") == "< 0.001"
    assert ledger.format_value(float("nan"), "pct") == "n/a"


def test_ledger_rejects_bad_and_colliding_keys(tmp_path):
    v = ledger.Values("estimate", "05_estimate")
    with pytest.raises(ledger.LedgerError, match="does not match"):
        v.add("Bad Key", 1, "int", cell="c")
    v.add("pct.sex.female", 50.0, "pct", cell="c")
    v.add("pct.sex.female.extra", 1.0, "pct", cell="c")
    with pytest.raises(ledger.LedgerError, match="prefix"):
        v.write(tmp_path / "v.json")


def test_ledger_merge_refuses_a_key_from_two_stages(tmp_path):
    a, b = ledger.Values("a", "01_a"), ledger.Values("b", "02_b")
    a.add("flow.analysed", 335, "count", cell="x")
    b.add("flow.analysed", 334, "count", cell="y")
    a.write(tmp_path / "a.json"), b.write(tmp_path / "b.json")
    with pytest.raises(ledger.LedgerError, match="already recorded by stage 'a'"):
        ledger.merge([tmp_path / "a.json", tmp_path / "b.json"], tmp_path / "ledger.json")
    assert not (tmp_path / "ledger.json").exists()


def test_a_loaded_ledger_is_the_merged_one_and_makes_each_entry_once_when_read(tmp_path):
    v = ledger.Values("estimate", "05_estimate")
    v.add("pct.sex.female", 50.123, "pct", cell="c", n=335)
    v.add("count.sex.female", 168, "count", cell="c")
    v.write(tmp_path / "v.json")
    merged = ledger.merge([tmp_path / "v.json"], tmp_path / "ledger.json")
    loaded = ledger.load(tmp_path / "ledger.json")
    assert loaded._made == {}  # nothing made before it is read
    assert loaded["pct.sex.female"] is loaded["pct.sex.female"]  # made once
    assert list(loaded._made) == ["pct.sex.female"]
    assert loaded == merged and dict(loaded) == merged and len(loaded) == 2
    assert "count.sex.female" in loaded and "count.sex.male" not in loaded
    with pytest.raises(KeyError):
        loaded["count.sex.male"]
    records = json.loads((tmp_path / "ledger.json").read_text())
    for bad in ({**records[0], "colour": "red"}, {k: v for k, v in records[0].items() if k != "text"}):
        (tmp_path / "bad.json").write_text(json.dumps([records[1], bad]))
        with pytest.raises(ledger.LedgerError, match="bad.json: a record with the fields"):
            ledger.load(tmp_path / "bad.json")


def test_ledger_source_links_to_the_cell():
    v = ledger.Values("estimate", "05_estimate")
    e = v.add("mean.security_lt", 8.8059, "mean", cell="estimate-values", n=330)
    assert e.text == "8.81" and e.source == "notebooks/executed/05_estimate.html#cell-id=estimate-values"


def test_ledger_entries_are_written_field_by_field(tmp_path):
    """Entries are written as their fields in order (dataclasses.asdict's dict, without the copy)."""
    import dataclasses

    v = ledger.Values("estimate", "05_estimate")
    v.add("pct.sex.female", 50.123, "pct", cell="c", description="share", n=335, n_eff=301.5, weighted=True)
    v.add("text.note", "a note", "text", cell="c")
    for e in v.entries.values():
        assert e.as_dict() == dataclasses.asdict(e)
        assert list(e.as_dict()) == [f.name for f in dataclasses.fields(ledger.Entry)]
    v.write(tmp_path / "v.json")
    written = json.loads((tmp_path / "v.json").read_text())
    assert written == [dataclasses.asdict(v.entries[k]) for k in sorted(v.entries)]
    assert ledger.merge([tmp_path / "v.json"], tmp_path / "ledger.json") == v.entries
    assert list(v.table().columns) == [f.name for f in dataclasses.fields(ledger.Entry)]


# ---------------------------------------------------------------- claims
VALUES = {"pct.a.yes": 69.49, "pct.a.no": 30.51, "mean.x": 8.81, "mean.y": 4.17}


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("pct.a.yes > 50", True),
        ("pct.a.yes + pct.a.no == 100", True),
        ("mean.x > mean.y and not mean.y > 5", True),
        ("30 < pct.a.no < 31", True),
        ("abs(pct.a.yes - 70) <= 0.5", False),
        ("max(mean.x, mean.y) / 2 > 4.5", False),
    ],
)
def test_claims_evaluate(expr, expected):
    assert claims.evaluate(expr, VALUES) is expected


def test_claims_name_keys_and_reject_code():
    assert claims.names("pct.a.yes - min(mean.x, 3) > 0") == {"pct.a.yes", "mean.x"}
    with pytest.raises(claims.ClaimError, match="not in the ledger"):
        claims.evaluate("pct.zzz.yes > 1", VALUES)
    with pytest.raises(claims.ClaimError, match="not allowed"):
        claims.evaluate("__import__('os').system('true')", VALUES)


# ---------------------------------------------------------------- render pre-pass
def _entries():
    v = ledger.Values("estimate", "05_estimate")
    v.add("pct.a.yes", 69.4915, "pct", cell="estimate-values")
    v.add("pby.sex.a.yes", 0.0001, "pvalue", cell="estimate-values")
    return v.entries


def test_var_shortcodes_become_linked_values():
    out = render.substitute_values(
        "Yes: {{< var pct.a.yes >}}%, p {{< var pby.sex.a.yes >}}.", _entries(), "../", "r.qmd"
    )
    assert out.markdown == (
        "Yes: [69.49](../notebooks/executed/values.html#pct.a.yes){.value}%, "
        "p [\\< 0.001](../notebooks/executed/values.html#pby.sex.a.yes){.value}."
    )
    assert out.used_keys == ("pct.a.yes", "pby.sex.a.yes")


def test_unknown_var_names_line():
    with pytest.raises(render.RenderError, match=r"r.qmd:2: .*pct.a.maybe"):
        render.substitute_values("ok\nsee {{< var pct.a.maybe >}}", _entries(), "", "r.qmd")
    # a malformed key must fail too, never reach the output as a literal shortcode
    with pytest.raises(render.RenderError, match=r"pct.a-yes"):
        render.substitute_values("{{< var pct.a-yes >}}", _entries(), "", "r.qmd")


def test_includes_are_expanded(tmp_path):
    (tmp_path / "_generated").mkdir()
    (tmp_path / "_generated" / "t.md").write_text("| a |\n|---|\n| 1 |\n", encoding="utf-8")
    text = render.expand_includes("before\n{{< include _generated/t.md >}}\nafter", tmp_path)
    assert text == "before\n| a |\n|---|\n| 1 |\n\nafter"
    with pytest.raises(render.RenderError, match="missing.md"):
        render.expand_includes("{{< include missing.md >}}", tmp_path)


def test_quarto_variables_are_nested(tmp_path):
    render.write_quarto_variables(_entries(), tmp_path / "_variables.yml")
    tree = yaml.safe_load((tmp_path / "_variables.yml").read_text(encoding="utf-8"))
    assert tree["pct"]["a"]["yes"] == "69.49"


# ---------------------------------------------------------------- value diff
def test_value_diff_names_sentences_and_charts():
    changes = valuediff.compare(
        {"pct.income_regular.yes": "70.10", "n.x": "3"}, {"pct.income_regular.yes": "69.49", "n.y": "4"}
    )
    assert [(c.key, c.kind) for c in changes] == [
        ("n.x", "added"),
        ("n.y", "removed"),
        ("pct.income_regular.yes", "changed"),
    ]
    qmd = 'Intro.\nMost have income ({{< var pct.income_regular.yes >}}%).\n[most]{.claim when="pct.income_regular.yes > 50"}\n'
    md = valuediff.diff_markdown(changes, qmd, {"income_regular": 7})
    row = next(ln for ln in md.splitlines() if "pct.income_regular.yes" in ln)
    assert "69.49 | 70.10 | changed" in row and "line 2:" in row and "line 3:" in row and "Chart 7" in row
    assert "No value differs" in valuediff.diff_markdown([], qmd, {})


# ---------------------------------------------------------------- executed notebooks
def test_normalise_strips_timings_and_pins_the_injected_cell_id():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["injected-parameters"]
    cell.metadata["papermill"] = {"start_time": "2026-01-01", "duration": 0.1, "status": "completed"}
    cell.metadata["execution"] = {"iopub.status.busy": "2026"}
    nb.cells = [cell]
    nb.metadata["papermill"] = {
        "input_path": "/tmp/a",
        "output_path": "/tmp/b",
        "duration": 1.0,
        "parameters": {"x": 1},
    }
    out = nbrun.normalise(nb)
    assert out.cells[0].id == "injected-parameters"
    assert out.metadata["papermill"] == {"parameters": {"x": 1}}
    assert "execution" not in out.cells[0].metadata and out.cells[0].metadata["papermill"] == {}
    json.dumps(out)


def test_executed_notebooks_carry_no_machine_path(tmp_path):
    """A parameter inside the repository arrives relative to its root; a file outside it runs from
    where it is but is shown by name and checksum; outputs show no absolute path."""
    export = tmp_path / "elsewhere" / "export.csv"
    export.parent.mkdir()
    export.write_text("a,b\n1,2\n", encoding="utf-8")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    params = nbformat.v4.new_code_cell('codebook = ""\nraw_export = ""\nopts = {}')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "from pathlib import Path\nimport sys\n"
            "print(codebook, Path(raw_export).read_text(), opts['raw_export'], Path.cwd() / 'x', sys.prefix)"
        ),
    ]
    src = tmp_path / "stage.ipynb"
    nbformat.write(nb, src)
    out_nb, out_html = tmp_path / "out" / "stage.ipynb", tmp_path / "out" / "stage.html"
    nbrun.run(
        src,
        out_nb,
        out_html,
        {"codebook": str(paths.CODEBOOK), "raw_export": str(export), "opts": {"raw_export": str(export)}},
    )
    text, html = out_nb.read_text(encoding="utf-8"), out_html.read_text(encoding="utf-8")
    digest = hashlib.sha256(export.read_bytes()).hexdigest()[:16]
    for machine in (str(tmp_path), str(paths.ROOT), sys.prefix):
        assert machine not in text and machine not in html
    run = nbformat.reads(text, as_version=4)
    injected = next(c for c in run.cells if c.id == nbrun.INJECTED_ID)
    assert 'codebook = "config/codebook.yaml"' in injected.source
    assert f"# export.csv (sha256 {digest}): a file outside the repository" in injected.source
    printed = run.cells[-1].outputs[0].text
    assert printed.startswith("config/codebook.yaml a,b\n1,2\n export.csv (sha256 ") and printed.endswith(
        " x <python>\n"
    )
    assert oct(out_nb.stat().st_mode & 0o777) == oct(0o666 & ~_umask()) == oct(out_html.stat().st_mode & 0o777)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ---------------------------------------------------------------- atomic writes
def test_atomic_outputs_get_the_mode_open_gives(tmp_path):
    old = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "a.txt", "a")
        atomic.write_all(
            [(tmp_path / "b.csv", lambda p: p.write_text("b")), (tmp_path / "c.bin", lambda p: p.write_bytes(b"c"))]
        )
        (tmp_path / "plain.txt").write_text("p")
        modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
        assert modes == {"a.txt": 0o644, "b.csv": 0o644, "c.bin": 0o644, "plain.txt": 0o644}
        os.umask(0o077)
        atomic.write_text(tmp_path / "private.txt", "x")
        assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_a_failed_write_keeps_the_old_files_and_leaves_no_temporary(tmp_path):
    (tmp_path / "a.csv").write_text("old a", encoding="utf-8")
    (tmp_path / "b.csv").write_text("old b", encoding="utf-8")

    def broken(p):
        p.write_text("half of b", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic.write_all([(tmp_path / "a.csv", lambda p: p.write_text("new a")), (tmp_path / "b.csv", broken)])
    with pytest.raises(OSError, match="disk full"):
        atomic.write_via(tmp_path / "b.csv", broken)
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == "old a"  # all or nothing
    assert (tmp_path / "b.csv").read_text(encoding="utf-8") == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_a_cached_schema_validator_rejects_what_fastjsonschema_s_own_rejects_with_the_same_message(tmp_path):
    """belmig.core.schema keeps the compiled validators (0.06 s each) by the schema's digest."""
    import fastjsonschema

    from belmig.core import schema

    codebook_schema = paths.CODEBOOK_SCHEMA
    own = fastjsonschema.compile(schema.load_schema(codebook_schema), use_default=False)
    good = schema.load_yaml(paths.CODEBOOK)
    bad = dict(good, questions=[dict(good["questions"][0], type="not a type")])
    for _ in range(2):  # compiled, then read from the cache
        schema._validator.cache_clear()
        ours = schema._validator(str(codebook_schema))
        assert ours(good) == own(good)
        with pytest.raises(fastjsonschema.JsonSchemaValueException) as e_ours:
            ours(bad)
        with pytest.raises(fastjsonschema.JsonSchemaValueException) as e_own:
            own(bad)
        assert (e_ours.value.message, e_ours.value.path) == (e_own.value.message, e_own.value.path)
    assert any(schema._CACHE.iterdir())


def test_a_yaml_file_read_from_the_cache_has_the_values_a_parse_gives(tmp_path, monkeypatch):
    """belmig.core.schema.load_yaml keeps a file's values by the digest of its bytes: an edit is
    parsed, dates (which marshal cannot hold) are parsed each time, a syntax error names the file."""
    import datetime as dt

    import yaml

    from belmig.core import schema

    monkeypatch.setattr(schema, "_YAML_CACHE", tmp_path / ".snakemake" / "belmig" / "yaml")
    (tmp_path / "Snakefile").write_text("")  # a checkout: its cache is used
    f = tmp_path / "a.yaml"
    f.write_text("a: [1, 2.5, x]\nb: {c: null, d: true}\ne: &x [1]\nf: *x\n", encoding="utf-8")
    parsed = yaml.safe_load(f.read_text(encoding="utf-8"))
    assert schema.load_yaml(f) == parsed and len(list(schema._YAML_CACHE.iterdir())) == 1
    monkeypatch.setattr(schema.yaml, "load", lambda *a, **k: pytest.fail("parsed again"))
    assert schema.load_yaml(f) == parsed  # from the cache
    monkeypatch.undo()
    monkeypatch.setattr(schema, "_YAML_CACHE", tmp_path / ".snakemake" / "belmig" / "yaml")
    f.write_text("a: [1, 2.5, y]\n", encoding="utf-8")
    assert schema.load_yaml(f) == {"a": [1, 2.5, "y"]}  # edited: parsed, not the old values
    f.write_text("when: 2022-11-03\n", encoding="utf-8")
    assert schema.load_yaml(f) == {"when": dt.date(2022, 11, 3)} == schema.load_yaml(f)
    assert len(list(schema._YAML_CACHE.iterdir())) == 2  # the date's file is not kept
    f.write_text("a: [1,\n", encoding="utf-8")
    with pytest.raises(yaml.YAMLError, match="a.yaml"):
        schema.load_yaml(f)
