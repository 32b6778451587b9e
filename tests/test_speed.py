"""Build speed (issue 17) without losing what reviewers and tests rely on.

- belmig.core.nbengine runs a notebook in-process in papermill's format: the same outputs a kernel
  gives (checked against papermill itself), a failing cell reported as papermill reports it, the
  same bytes on a second run;
- the one chart job redraws only the charts whose spec, code, options or data slice changed.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import run_snakemake

from belmig.core import nbengine, nbrun

NB_CELLS = [
    ("parameters", "n = 2\nlabel = 'x'\nopts = {}", ["parameters"]),
    ("frame", "import pandas as pd\ndf = pd.DataFrame({'a': list(range(n)), 'b': [label] * n})\ndf", []),
    ("printed", "import sys\nprint('rows', len(df))\nprint('warned', file=sys.stderr)\nprint('more')", []),
    ("shown", "from IPython.display import Markdown, display\ndisplay(Markdown(f'**{label}**'))\nopts", []),
    ("quiet", "x = 3;", []),
]


def _notebook(path: Path, extra: list[tuple[str, str, list[str]]] = ()) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_markdown_cell("# A stage")]
    for cid, src, tags in [*NB_CELLS, *extra]:
        cell = nbformat.v4.new_code_cell(src)
        cell.id, cell.metadata["tags"] = cid, tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


PARAMS = {"n": 3, "label": "y", "opts": {"k": [1, 2], "name": 'a "quoted" one'}}


def _outputs(nb) -> dict[str, list[dict]]:
    return {
        c.id: [{k: v for k, v in o.items() if k != "metadata"} for o in c.outputs]
        for c in nb.cells
        if c.cell_type == "code"
    }


# ------------------------------------------------------------------------------ nbengine
def test_the_engine_gives_the_outputs_a_kernel_gives(tmp_path):
    src = _notebook(tmp_path / "stage.ipynb")
    nb = nbengine.execute(nbformat.read(src, as_version=4), PARAMS, cwd=tmp_path)
    ids = [c.id for c in nb.cells]
    assert ids[1:] == ["parameters", "injected-parameters", "frame", "printed", "shown", "quiet"]
    injected = nb.cells[2]
    assert injected.metadata["tags"] == ["injected-parameters"]
    assert injected.source == '# Parameters\nn = 3\nlabel = "y"\nopts = {"k": [1, 2], "name": "a \\"quoted\\" one"}\n'
    assert nb.metadata["papermill"]["parameters"] == PARAMS
    out = _outputs(nb)
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3, 4, 5, 6]
    (frame,) = out["frame"]
    assert frame["output_type"] == "execute_result" and frame["execution_count"] == 3
    assert "<table" in frame["data"]["text/html"] and frame["data"]["text/plain"].splitlines()[-1] == "2  2  y"
    assert out["printed"] == [  # each stream one output, as a kernel's buffered streams arrive
        {"output_type": "stream", "name": "stdout", "text": "rows 3\nmore\n"},
        {"output_type": "stream", "name": "stderr", "text": "warned\n"},
    ]
    shown = out["shown"]
    assert shown[0]["output_type"] == "display_data" and shown[0]["data"]["text/markdown"] == "**y**"
    assert shown[1]["output_type"] == "execute_result" and shown[1]["data"]["text/plain"].startswith("{'k': [1, 2]")
    assert out["quiet"] == []  # a trailing semicolon shows nothing, as in a kernel


def test_the_engine_matches_papermill_cell_for_cell(tmp_path):
    """The reference: the same notebook through papermill and a python3 kernel."""
    papermill = pytest.importorskip("papermill")
    src = _notebook(tmp_path / "stage.ipynb")
    ref = tmp_path / "ref.ipynb"
    papermill.execute_notebook(str(src), str(ref), parameters=PARAMS, cwd=str(tmp_path), progress_bar=False)
    expected = nbrun.normalise(nbformat.read(ref, as_version=4))
    got = nbrun.normalise(nbengine.execute(nbformat.read(src, as_version=4), PARAMS, cwd=tmp_path))
    assert [c.id for c in got.cells if c.id != "injected-parameters"] == [
        c.id for c in expected.cells if c.id != "injected-parameters"
    ]
    assert [c.metadata.get("tags") for c in got.cells] == [c.metadata.get("tags") for c in expected.cells]
    assert _outputs(got) == _outputs(expected)
    assert got.metadata["papermill"]["parameters"] == expected.metadata["papermill"]["parameters"]


def test_a_failing_cell_is_reported_as_papermill_reports_it(tmp_path):
    src = _notebook(tmp_path / "stage.ipynb", [("boom", "raise ValueError(f'bad value {n}')", []), ("after", "1", [])])
    with pytest.raises(nbengine.CellError) as err:
        nbengine.execute(nbformat.read(src, as_version=4), PARAMS, cwd=tmp_path)
    exc = err.value
    assert (exc.exec_count, exc.ename, exc.evalue) == (7, "ValueError", "bad value 3")
    boom = next(c for c in exc.nb.cells if c.id == "boom")
    assert boom.outputs[0]["output_type"] == "error" and boom.outputs[0]["ename"] == "ValueError"
    assert next(c for c in exc.nb.cells if c.id == "after").execution_count is None  # never ran


def test_a_failing_stage_leaves_no_output_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(nbrun, "failed_copy", lambda out: tmp_path / "logs" / f"{Path(out).stem}.failed.ipynb")
    monkeypatch.setattr(nbrun.paths, "rel", lambda p: Path(p).name)
    src = _notebook(tmp_path / "stage.ipynb", [("boom", "raise ValueError('bad value')", [])])
    out = tmp_path / "out" / "stage.ipynb"
    with pytest.raises(nbrun.StageError, match=r"stage stage failed in cell 7 .*\nValueError: bad value"):
        nbrun.run(src, out, None, {})
    assert not out.exists() and (tmp_path / "logs" / "stage.failed.ipynb").is_file()


def test_two_runs_write_the_same_bytes(tmp_path):
    src = _notebook(tmp_path / "stage.ipynb")
    a, b = tmp_path / "a" / "stage.ipynb", tmp_path / "b" / "stage.ipynb"
    nbrun.run(src, a, None, PARAMS)
    nbrun.run(src, b, tmp_path / "b" / "stage.html", PARAMS)
    assert a.read_bytes() == b.read_bytes()
    assert (tmp_path / "b" / "stage.html").read_text(encoding="utf-8").count("rows 3") == 1
    nbrun.main(["--html", str(a), str(tmp_path / "a" / "stage.html")])
    assert (tmp_path / "a" / "stage.html").read_bytes() == (tmp_path / "b" / "stage.html").read_bytes()


def test_parameters_are_python_literals():
    assert nbengine.literal(None) == "None" and nbengine.literal(True) == "True" and nbengine.literal(0.5) == "0.5"
    assert nbengine.literal("Minsk — «x»") == '"Minsk — «x»"'
    long = nbengine.literal({"a": ["x" * 60, "y" * 60]})
    assert long == '{\n    "a": [\n        "' + "x" * 60 + '",\n        "' + "y" * 60 + '",\n    ],\n}'
    assert eval(long) == {"a": ["x" * 60, "y" * 60]}  # noqa: S307 (our own literal)
    with pytest.raises(TypeError, match="not a JSON value"):
        nbengine.literal(object())


# ------------------------------------------------------------------------------ the chart job
@pytest.fixture()
def chart_job(tmp_path, monkeypatch):
    """Run the chart CLI on charts 1 and 7 against a copy of the chart code (the copy is what the
    keys hash, so a test edits the copy)."""
    from test_charts import published_like_estimates

    from belmig.charts import cli

    code = tmp_path / "charts"
    shutil.copytree(Path(cli.__file__).parent, code, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cli, "CHARTS_DIR", code)
    est = tmp_path / "estimates.parquet"
    published_like_estimates().to_parquet(est)
    out, state = tmp_path / "figures", tmp_path / "state.json"
    out.mkdir()

    def run(*extra: str) -> tuple[list[str], list[str]]:
        argv = ["--chart", "1", "7", "--estimates", str(est), "--lang", "en", "--ci-whiskers", "0"]
        argv += ["--dpi", "60", "--min-cell", "5", "--out-dir", str(out), "--state", str(state), *extra]
        stamps = {p.name: p.stat().st_ino for p in out.iterdir()}
        assert cli.main(argv) == 0
        rewritten = sorted({p.name.split(".")[0] for p in out.iterdir() if stamps.get(p.name) != p.stat().st_ino})
        return rewritten, sorted(json.loads(state.read_text(encoding="utf-8"))["charts"])

    return run, code, out, state


def test_editing_one_charts_spec_redraws_that_chart_alone(chart_job):
    run, code, out, state = chart_job
    assert run() == (["chart01", "chart07"], ["chart01", "chart07"])  # cold: both drawn
    assert run()[0] == []  # nothing changed: nothing redrawn
    spec = code / "specs" / "chart07.py"
    spec.write_text(spec.read_text(encoding="utf-8") + "# an edit\n", encoding="utf-8")
    assert run()[0] == ["chart07"]
    base = code / "base.py"
    base.write_text(base.read_text(encoding="utf-8") + "# shared code\n", encoding="utf-8")
    assert run()[0] == ["chart01", "chart07"]  # shared code: every chart


def test_a_chart_is_redrawn_when_its_files_or_its_options_differ(chart_job):
    run, _, out, state = chart_job
    run()
    (out / "chart01.png").write_bytes(b"not the drawn chart")  # planted: a file changed behind the job
    assert run()[0] == ["chart01"]
    (out / "chart07.alt.txt").unlink()
    assert run()[0] == ["chart07"]
    assert run("--lang", "ru")[0] == ["chart01", "chart07"]  # other labels
    state.write_text("not json", encoding="utf-8")  # an unreadable state redraws everything
    assert run("--lang", "ru")[0] == ["chart01", "chart07"]


def test_languages_after_the_first_get_their_own_files(chart_job):
    run, _, out, _ = chart_job
    drawn, keys = run("--lang", "en", "ru")
    assert keys == ["chart01", "chart01.ru", "chart07", "chart07.ru"]
    assert json.loads((out / "chart07.ru.json").read_text(encoding="utf-8"))["lang"] == "ru"
    assert json.loads((out / "chart07.json").read_text(encoding="utf-8"))["lang"] == "en"


@pytest.mark.integration
def test_the_dag_redraws_one_chart_when_its_spec_is_edited(built_repo):
    spec = built_repo / "src/belmig/charts/specs/chart07.py"
    text = spec.read_text(encoding="utf-8")
    try:
        spec.write_text(text + "# an edit\n", encoding="utf-8")
        run_snakemake(built_repo, "draw_charts")
        log = (built_repo / "logs/draw_charts.log").read_text(encoding="utf-8")
        # chart 7 in every chart language (charts.languages), nothing else
        drawn = re.search(r"^charts drawn: (.*)$", log, re.M).group(1).split()
        assert drawn and {d.split(".")[0] for d in drawn} == {"chart07"}, drawn
        unchanged = re.search(r"^charts unchanged \(not redrawn\): (.*)$", log, re.M).group(1).split()
        assert {u.split(".")[0] for u in unchanged} == {f"chart{n:02d}" for n in range(1, 19)} - {"chart07"}
    finally:
        spec.write_text(text, encoding="utf-8")
        run_snakemake(built_repo)  # leave the build up to date for the tests after this one


# ------------------------------------------------------------------------------ parse-time cache
def test_the_parse_cache_reuses_a_value_only_for_the_same_files(tmp_path):
    from belmig.core import parsecache

    data, cache = tmp_path / "codebook.yaml", tmp_path / "cache.json"
    data.write_text("a: 1\n", encoding="utf-8")
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    assert parsecache.cached("x", [data], compute, cache=cache) == {"n": 1}
    assert parsecache.cached("x", [data], compute, cache=cache) == {"n": 1} and len(calls) == 1  # a hit
    data.write_text("a: 2\n", encoding="utf-8")  # planted: the data changed
    assert parsecache.cached("x", [data], compute, cache=cache) == {"n": 2}
    assert parsecache.cached("x", [data], compute, extra="--config x=1", cache=cache) == {"n": 3}  # an override

    def rejects():
        raise ValueError("config/config.yaml: unknown key 'chrats'")

    with pytest.raises(ValueError, match="chrats"):  # a failing check raises and stores nothing
        parsecache.cached("x", [data], rejects, extra="bad", cache=cache)
    with pytest.raises(ValueError, match="chrats"):
        parsecache.cached("x", [data], rejects, extra="bad", cache=cache)
    cache.write_text("{broken", encoding="utf-8")  # an unreadable cache: computed again
    assert parsecache.cached("x", [data], compute, cache=cache) == {"n": 4}
