"""The Lua filter report/filters/crossref.lua on small documents (pandoc only, no build)."""

from __future__ import annotations

import re
import subprocess

import pytest

from belmig.core import paths
from belmig.report import render

LUA = paths.REPORT / "filters" / "crossref.lua"

TABLE_WITH_CODE = """\
| Figure | Printed |
|---|---:|
| `reasons_exit_political__cover` | 86 |

: Reproduction {#tbl-x}

Body `not_in_a_table` stays one raw run.
"""


def pandoc(text: str, to: str) -> str:
    proc = subprocess.run(
        [render.pandoc_binary(), "--from=markdown", f"--to={to}", f"--lua-filter={LUA}"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def test_code_in_a_typst_table_is_small_and_breaks_after_underscores_and_dots():
    """A figure id in a table cell ran into the next column of the PDF (one unbreakable raw run at
    the body's 8.5pt, in an 8pt table)."""
    typ = pandoc(TABLE_WITH_CODE, "typst")
    cell = '#[#show raw: set text(size: 7pt);#raw("reasons_")#sym.zws#raw("exit_")#sym.zws#raw("political_")'
    assert cell in typ
    assert '#raw("_")#sym.zws#raw("cover")]' in typ
    assert "`not_in_a_table`" in typ  # outside tables code is left to the template


def test_the_typst_table_compiles_and_its_text_has_no_break_characters(tmp_path):
    typst = pytest.importorskip("typst")
    from pypdf import PdfReader

    src = tmp_path / "t.typ"
    src.write_text(pandoc(TABLE_WITH_CODE, "typst"), encoding="utf-8")
    typst.compile(str(src), output=str(tmp_path / "t.pdf"), font_paths=[], ignore_system_fonts=True)
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "t.pdf").pages)
    assert "reasons_exit_political__cover" in text.replace("\n", "")
    assert "\u200b" not in text


def test_html_tables_keep_code_as_code():
    html = pandoc(TABLE_WITH_CODE, "html5")
    assert "<code>reasons_exit_political__cover</code>" in html
    assert "zws" not in html


LINKS = """\
Computed in [05_estimate](../notebooks/executed/05_estimate.html#cell-id=estimate-values), see
[the source](https://example.org/x) and [Table 1](#tbl-x).
"""


def test_docx_drops_links_to_build_files_and_keeps_their_text(tmp_path):
    """The appendix's values table linked ../notebooks/executed/… cells, which break in Word."""
    out = tmp_path / "t.docx"
    subprocess.run(
        [render.pandoc_binary(), "--from=markdown", "--to=docx", f"--lua-filter={LUA}", f"--output={out}"],
        input=LINKS,
        text=True,
        check=True,
    )
    back = subprocess.run(
        [render.pandoc_binary(), str(out), "--to=markdown"], capture_output=True, text=True, check=True
    ).stdout
    assert "../notebooks" not in back
    assert "Computed in 05_estimate" in " ".join(back.split())
    assert "(https://example.org/x)" in back  # web links stay


def test_html_keeps_links_to_build_files():
    assert 'href="../notebooks/executed/05_estimate.html#cell-id=estimate-values"' in pandoc(LINKS, "html5")


def test_on_a_phone_the_contents_box_is_short_so_the_synthetic_notice_is_on_the_first_screen():
    """At 390 px the two dozen entries of the contents came before the synthetic-data notice (the
    notice follows the contents in pandoc's HTML); below the side-bar layout they scroll in a box."""
    import re

    css = (paths.REPORT / "style.css").read_text(encoding="utf-8")
    wide = re.search(r"@media \(min-width: (\d+(?:\.\d+)?)rem\)", css)
    narrow = re.search(r"@media \(max-width: (\d+(?:\.\d+)?)rem\) \{\s*nav#TOC \{([^}]*)\}", css)
    assert wide and narrow, "no narrow-screen rule for nav#TOC"
    assert float(narrow.group(1)) < float(wide.group(1)) <= float(narrow.group(1)) + 0.02  # no gap, no overlap
    box = dict(d.split(":", 1) for d in (x.strip() for x in narrow.group(2).split(";")) if d)
    assert box["max-height"].strip().endswith("rem") and float(box["max-height"].strip()[:-3]) <= 12
    assert box["overflow-y"].strip() == "auto"


def test_html_table_cells_carry_their_column_header_for_the_phone_layout():
    """At 390 px a wide appendix table was a column of words per cell, or scrolled sideways; each
    body cell now carries its header (data-label), which the phone stylesheet prints before it."""
    html = pandoc(TABLE_WITH_CODE, "html5")
    assert '<td data-label="Figure"><code>reasons_exit_political__cover</code></td>' in html
    assert re.search(r'<td [^>]*data-label="Printed"[^>]*>86</td>', html)
    assert "data-label" not in pandoc(TABLE_WITH_CODE, "typst")
    headless = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert 'data-label="a"' in pandoc(headless, "html5")


def test_on_a_phone_a_table_is_one_card_per_row_with_the_headers_printed():
    css = (paths.REPORT / "style.css").read_text(encoding="utf-8")
    phone = re.search(r"@media \(max-width: 40rem\) \{(.*?)\n\}", css, re.S)
    assert phone and "table thead { display: none; }" in phone.group(1)
    assert re.search(r"table td\[data-label\]::before \{ content: attr\(data-label\)", phone.group(1))
    assert re.search(r"table, table tbody, table tr, table td \{ display: block;", phone.group(1))


def test_inlined_chart_images_give_the_bytes_of_pandocs_own_embedding(tmp_path):
    """render.inline_chart_images (placeholders, base64 put back after pandoc) is a speed-up only:
    the HTML is byte for byte what --embed-resources writes from the charts' SVG as data: URIs."""
    import base64

    report, figures = tmp_path / "report", tmp_path / "figures"
    report.mkdir()
    figures.mkdir()
    for n, colour in ((1, "red"), (2, "blue")):
        (figures / f"chart{n:02d}.svg").write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="3" height="2"><rect width="3" height="2" fill="{colour}"/></svg>'
        )
    md = "".join(
        f'![Chart {n}](../figures/chart{n:02d}.svg){{#fig-chart{n:02d} fig-alt="values {n}"}}\n\nSee @fig-chart{n:02d}.\n\n'
        for n in (1, 2)
    )
    args = [
        render.pandoc_binary(),
        "--from=markdown",
        "--to=html5",
        "--standalone",
        "--embed-resources",
        "--metadata=title:t",
        f"--lua-filter={LUA}",
        f"--resource-path={report}",
    ]

    def run(text: str) -> str:
        return subprocess.run(args, input=text, capture_output=True, text=True, check=True, cwd=report).stdout

    inlined, images = render.inline_chart_images(md, report)
    assert len(images) == 2 and "../figures" not in inlined
    whole = inlined
    for key, b64 in images.items():
        whole = whole.replace(key, b64, 1)
        assert base64.b64decode(b64).startswith(b"<svg")
    pandocs_own = run(whole)
    ours = render.put_back_images(run(inlined), images)  # what render() does with the page
    assert pandocs_own.count("data:image/svg+xml;base64,") == 2
    assert ours == pandocs_own
    # the first occurrence of each placeholder only, as str.replace(key, b64, 1) did
    page = "a BELMIGIMG000END b BELMIGIMG001END c BELMIGIMG000END d BELMIGIMG999END"
    assert render.put_back_images(page, {"BELMIGIMG000END": "X", "BELMIGIMG001END": "Y"}) == (
        "a X b Y c BELMIGIMG000END d BELMIGIMG999END"
    )
