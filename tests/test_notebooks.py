"""Every parameter a rule passes to a stage notebook is declared in its parameters cell."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = sorted(p.stem for p in (ROOT / "notebooks").glob("0*.ipynb"))


def declared(stage: str) -> set[str]:
    nb = nbformat.read(ROOT / "notebooks" / f"{stage}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    return {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets}


def passed(stage: str) -> set[str]:
    for rules in (ROOT / "rules").glob("*.smk"):
        m = re.search(
            r'nb_cmd\(\s*"' + stage + r'",\s*\{(.*?)\}\s*(?:,\s*html=[\w.]+\s*)?,?\s*\)',
            rules.read_text(encoding="utf-8"),
            re.S,
        )
        if m:
            return set(re.findall(r'"(\w+)":', m.group(1)))
    raise AssertionError(f"no rule runs {stage}")


@pytest.mark.parametrize("stage", STAGES)
def test_rule_parameters_match_the_notebook(stage):
    assert passed(stage) == declared(stage)


def test_notebooks_are_committed_without_outputs():
    for stage in STAGES:
        nb = nbformat.read(ROOT / "notebooks" / f"{stage}.ipynb", as_version=4)
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
        assert not any(c.cell_type == "code" and re.search(r"^\s*def ", c.source, re.M) for c in nb.cells), (
            "no functions in notebooks"
        )


def test_the_index_reads_each_notebook_as_nbformat_does():
    """The reviewers' index reads notebooks as JSON (belmig.report.index.read_notebook): the same
    cells, sources, tags and parameters as nbformat gives."""
    from belmig.report import index

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        ours, theirs = index.read_notebook(path), nbformat.read(path, as_version=4)
        assert [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in ours.cells] == [
            (c.cell_type, c.source, c.metadata.get("tags", [])) for c in theirs.cells
        ], path.name
        assert index.injected_parameters(ours) == index.injected_parameters(theirs)
        assert index._title(ours) == index._title(theirs)


def test_the_index_refuses_a_notebook_of_another_format(tmp_path):
    from belmig.report import index

    old = tmp_path / "old.ipynb"
    old.write_text('{"nbformat": 3, "worksheets": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="not an nbformat 4 notebook"):
        index.read_notebook(old)
