"""report/filters/crossref.lua, DOCX: the tables are written by the docx writer alone and spliced in
as raw OpenXML (docx_tables), so that the render server's worker keeps them with their sections.
The document must be the one the writer makes of the tables itself: the same word/document.xml,
the empty paragraph between two tables in a row included, and a table whose XML refers to
anything numbered across the document (a link) left to the writer."""

from __future__ import annotations

import json
import subprocess
import zipfile

from belmig.core import paths
from belmig.report import render

LUA = paths.REPORT / "filters" / "crossref.lua"

TEXT = """---
title: Tables
lang: en-GB
---

# Tables {#sec-t}

See @tbl-one and @tbl-two.

| a | b |
|---|---|
| 1 | 2 |

: The first {#tbl-one}

| c | d |
|---|---|
| 3 | 4 |

: The second, right after it {#tbl-two}

| e |
|---|
| 5 |

```{=html}
<div>raw HTML, dropped from a DOCX</div>
```

| f |
|---|
| [a link](https://example.org) |

::: {#note-box}
| g |
|---|
| 6 |

| h |
|---|
| 7 |
:::

::: {custom-style="Quote"}
| i |
|---|
| 8 |
:::

Words after the tables.
"""


def document_xml(lua, tmp_path, name) -> bytes:
    out = tmp_path / f"{name}.docx"
    subprocess.run(
        [render.pandoc_binary(), "--from=markdown", "--to=docx", f"--lua-filter={lua}", f"--output={out}"],
        input=TEXT, text=True, check=True, capture_output=True, env={"SOURCE_DATE_EPOCH": "0"},
    )  # fmt: skip
    with zipfile.ZipFile(out) as z:
        return z.read("word/document.xml")


def test_the_raw_tables_give_the_writers_own_document(tmp_path):
    source = LUA.read_text(encoding="utf-8")
    step = "  { Pandoc = docx_document },\n"
    assert step in source
    writer_only = tmp_path / "writer_only.lua"
    writer_only.write_text(source.replace(step, ""), encoding="utf-8")
    ours, theirs = document_xml(LUA, tmp_path, "ours"), document_xml(writer_only, tmp_path, "theirs")
    assert ours == theirs
    assert ours.count(b"<w:tbl>") == 7
    # between the first two, the second and the third, the third and the linked one (the raw
    # HTML between them is dropped), and the two in the Div
    assert ours.count(b"<w:p />") == 4


def test_which_tables_are_spliced_in_and_where_the_empty_paragraphs_go(tmp_path):
    """The steps (the worker's view): plain tables become raw OpenXML (with an id: in a Div with
    it), the linked one and the one in a custom-style Div stay tables; each list's first and last
    kind is reported for lists joined later."""
    script = tmp_path / "kinds.lua"
    script.write_text(
        f"""
FORMAT = "docx"
local steps = loadfile({json.dumps(str(LUA))})("phases")
local doc = pandoc.read(io.read("a"), "markdown")
local res = steps.docx_tables({{ doc.blocks, pandoc.Blocks({{}}) }})
local function kinds(blocks)
  local out = {{}}
  for _, b in ipairs(blocks) do
    local k = b.t
    if b.t == "RawBlock" then k = b.format .. (b.text == "<w:p />" and ":sep" or ":xml") end
    if b.t == "Div" then k = "Div[" .. table.concat(kinds(b.content), ",") .. "]" end
    out[#out + 1] = k
  end
  return out
end
print(table.concat(kinds(res[1].blocks), " "))
print(res[1].first, res[1].last, res[2].first, res[2].last)
""",
        encoding="utf-8",
    )
    got = subprocess.run(
        [render.pandoc_binary(), "lua", str(script)], input=TEXT, text=True, check=True, capture_output=True
    ).stdout.splitlines()
    assert got[0] == (
        "Header Para Div[openxml:xml] openxml:sep Div[openxml:xml] openxml:sep openxml:xml html:xml openxml:sep "
        "Table Div[openxml:xml,openxml:sep,openxml:xml] Div[Table] Para"
    )
    assert got[1] == "other\tother\tnil\tnil"
