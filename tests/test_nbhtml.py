"""The reviewers' notebook HTML is rendered again only when its executed notebook changed."""

from __future__ import annotations

import nbformat

from belmig.core import nbrun


def _notebook(path, text):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {text}")]
    nb.cells[0].id = "title"
    nbformat.write(nb, path)


def test_an_unchanged_notebook_keeps_its_html_and_a_changed_one_is_rendered(tmp_path):
    ipynb, html = tmp_path / "03_clean.ipynb", tmp_path / "03_clean.html"
    _notebook(ipynb, "Cleaning")
    assert nbrun.export_html([(ipynb, html)]) == [html]
    first = html.read_text(encoding="utf-8")
    assert "Cleaning" in first and first.endswith(nbrun.html_stamp(ipynb))
    assert nbrun.export_html([(ipynb, html)]) == []  # the same notebook: kept as it is
    assert html.read_text(encoding="utf-8") == first
    _notebook(ipynb, "Cleaning, again")
    assert nbrun.export_html([(ipynb, html)]) == [html]
    assert "Cleaning, again" in html.read_text(encoding="utf-8")


def test_an_html_without_the_stamp_of_its_notebook_is_rendered_again(tmp_path):
    ipynb, html = tmp_path / "a.ipynb", tmp_path / "a.html"
    _notebook(ipynb, "A stage")
    html.write_text("<html>an old export</html>\n", encoding="utf-8")
    assert nbrun.export_html([(ipynb, html)]) == [html]
    assert "A stage" in html.read_text(encoding="utf-8")
