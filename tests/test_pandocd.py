"""belmig.report.pandocd: the warm pandoc of the render server writes what the command line writes.

Each test has its own runtime folder (so its own server) and stops the servers it started."""

from __future__ import annotations

import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from belmig.core import paths
from belmig.report import editions, pandocd, render

LANGS = ("en", "lt", "ru")
LUA = paths.REPORT / "filters" / "crossref.lua"
STAMP = render.PDF_TIMESTAMP


def typstd_socket() -> str:
    from belmig.report import typstd

    return typstd.socket_path()


def cli(args: list[str], text: str, output: Path | None = None) -> str:
    cmd = [render.pandoc_binary(), "--from=markdown", f"--to={args[0]}", *args[1:]]
    if output is not None:
        cmd.append(f"--output={output}")
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(STAMP)}
    return subprocess.run(cmd, input=text, capture_output=True, text=True, check=True, encoding="utf-8", env=env).stdout


def warm(args: list[str], text: str, key: str, output: Path | None = None) -> str | None:
    return pandocd.convert(render.pandoc_binary(), args, text, key=key, output=output, epoch=STAMP)


def writers(tmp: Path, lang: str, report_dir: Path = paths.REPORT) -> dict[str, list[str]]:
    """The render's three conversions (render.render), their files in `tmp`."""
    meta = tmp / "provenance.yaml"
    meta.write_text('provenance:\n- label: repository commit\n  value: "0000"\n', encoding="utf-8")
    switcher = tmp / "switcher.html"
    switcher.write_text(editions.switcher_html(lang, report_dir), encoding="utf-8")
    common = [f"--lua-filter={report_dir / 'filters' / 'crossref.lua'}", "--metadata-file", str(meta)]
    return {
        "typst": ["typst", "--standalone", "--wrap=none", f"--template={report_dir / 'template.typ'}", *common],
        "html5": [
            "html5",
            "--standalone",
            "--wrap=none",
            f"--css={report_dir / 'style.css'}",
            *common,
            "--toc",
            "--toc-depth=2",
            f"--resource-path={report_dir}",
            f"--include-before-body={switcher}",
        ],  # fmt: skip
        "docx": ["docx", *common, f"--resource-path={report_dir}", "--toc", "--toc-depth=2"],
    }


def edition_text(lang: str, root: Path = paths.ROOT) -> str:
    """The edition as the render gives it to pandoc: appendix tables included, values printed
    (from the build in `root`)."""
    from belmig.core import ledger

    report_dir = root / "report"
    raw = editions.edition(lang, report_dir).qmd.read_text(encoding="utf-8")
    if lang != "en":
        from belmig.report import locale

        includes = {
            m.group(1): locale.localize_table((report_dir / m.group(1)).read_text(encoding="utf-8"), lang)
            for m in render.INCLUDE_RE.finditer(raw)
        }
    else:
        includes = None
    text = render.with_defaults(render.expand_includes(raw, report_dir, includes=includes), editions.strings(lang))
    text = render.absorb_abbreviation_period(render.localize_figures(text, lang))
    entries = ledger.load(root / paths.rel(paths.LEDGER))
    return render.substitute_values(text, entries, "../", "test", lang).markdown


@pytest.fixture(scope="module")
def build_root(request) -> Path:
    """This checkout when it is built (make report), else the test suite's build in a copy."""
    if (paths.REPORT / "_generated").is_dir() and paths.LEDGER.exists():
        return paths.ROOT
    return request.getfixturevalue("built_repo")


def docx_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


@pytest.mark.integration  # the editions as built (this checkout's build, else the suite's)
@pytest.mark.parametrize("lang", LANGS)
def test_every_writer_gives_the_command_lines_bytes_cold_and_after_an_edit(render_server, tmp_path, lang, build_root):
    text = edition_text(lang, build_root)
    edited = re.sub(r"(\n\n[A-ZŽĄČĘĖĮŠŲŪА-Я][^\n]{20,})", r"\1 An added sentence, see @sec-methods.", text, count=1)
    assert edited != text
    for name, args in writers(tmp_path, lang, build_root / "report").items():
        if name == "docx" and lang != "en":
            continue  # only English has a DOCX
        for version, t in (("cold", text), ("edited", edited)):
            key = f"test:{lang}"
            if name == "docx":
                ours, theirs = tmp_path / f"{version}.ours.docx", tmp_path / f"{version}.cli.docx"
                assert warm(args, t, key, output=ours) == ""
                cli(args, t, output=theirs)
                assert docx_parts(ours) == docx_parts(theirs), (lang, name, version)
                assert ours.read_bytes() == theirs.read_bytes()
            else:
                ours = warm(args, t, key)
                assert ours is not None, (lang, name, version)
                assert ours == cli(args, t), (lang, name, version)
    assert len(render_server()) == 1


SMALL = """---
title: A test
lang: en-GB
---

# One

Text with a note.[^a] See @sec-two.

[^a]: The note.

# Two {#sec-two}

More text.[^b] A citation [@someone] and another @other.

[^b]: Another note.
"""


def test_sections_a_note_or_a_citation_number_across_come_out_as_in_the_whole_text(render_server, tmp_path):
    args = ["html5", "--standalone", f"--lua-filter={LUA}"]
    for text in (SMALL, SMALL.replace("More text.", "More text, edited.")):
        assert warm(args, text, "small") == cli(args, text)


def tiny_png() -> bytes:
    """A 1×1 white PNG (the DOCX shows a figure's PNG)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\xff")) + chunk(b"IEND", b"")
    )


NUMBERED = """---
title: Numbered
lang: en-GB
crossref:
  fig-prefix: Chart
---

# Opening {#sec-open}

See @fig-one, @tbl-one and @sec-last.[^o]

[^o]: A note in the opening.

![The first chart](chart.svg){#fig-one fig-alt="Bars"}

# Middle

| a | b |
|---|---|
| 1 | 2 |

: A table {#tbl-one}

Words about @fig-one and `a_code.key`.

## Deeper

::: {.callout-note}
A callout with [a claim]{.claim guard="x"}.
:::

# The last {#sec-last}

More words.[^l]

[^l]: A note at the end.

![The second chart](chart.svg){#fig-two}
"""

# edits that change what the other sections print (numbering, a heading referred to, the notes,
# the headers of the table of contents, the last section) and one that changes nothing else
NUMBERED_EDITS = {
    "a word": lambda t: t.replace("Words about", "Some words about"),
    "a figure before the others": lambda t: t.replace(
        "# Opening {#sec-open}\n", "# Opening {#sec-open}\n\n![New](chart.svg){#fig-zero}\n"
    ),
    "a heading referred to": lambda t: t.replace("# The last {#sec-last}", "# The very last {#sec-last}"),
    "a note where there was none": lambda t: t.replace("Words about", "Words[^m] about") + "\n[^m]: A new note.\n",
    "the notes removed": lambda t: (
        t.replace("[^o]", "")
        .replace("[^l]", "")
        .replace(": A note in the opening.", "")
        .replace(": A note at the end.", "")
    ),
    "a new header": lambda t: t.replace("## Deeper", "## Deeper\n\nText.\n\n## Deepest"),
    "the last section": lambda t: t.replace("More words.", "More words, edited."),
    "raw HTML, a list": lambda t: t.replace("More words", '<div class="raw">raw</div>\n\n- one\n- two\n\nMore words'),
    # DOCX: a section that starts with a table after one that ends with a table (the writer's empty
    # paragraph between them, where the worker joins the sections' raw tables), one with a link
    "two tables in a row, one linked": lambda t: t.replace(
        ": A table {#tbl-one}\n",
        ": A table {#tbl-one}\n\n| c |\n|---|\n| [x](https://example.org) |\n\n: Linked {#tbl-two}\n\n"
        "| d |\n|---|\n| 4 |\n\n: Third {#tbl-three}\n",
    ),
}

# what the worker does not join (the template or the table of contents depend on it): it writes
# the whole document, and the text is still the command line's
WHOLE_EDITS = {
    "highlighted code": lambda t: t.replace("More words", "```python\nx = 1\n```\n\nMore words"),
    "math": lambda t: t.replace("More words", "Math $x^2$ here. More words"),
    "a header in a callout": lambda t: t.replace("A callout with", "## Inside\n\nA callout with"),
}


@pytest.mark.parametrize("to", ["typst", "html5", "docx"])
def test_an_edit_that_changes_the_other_sections_numbering_gives_the_command_lines_bytes(render_server, tmp_path, to):
    """The filter and the writer are kept per section (pandoc_worker.lua): after each edit, in turn
    (so that what was kept from the edit before is tried), the text is the command line's, and
    Typst and HTML were put together from the sections' texts."""
    args = [to, "--wrap=none", f"--lua-filter={LUA}"]
    if to == "typst":
        args += ["--standalone", f"--template={paths.REPORT / 'template.typ'}"]
    elif to == "html5":
        args += ["--standalone", "--toc", "--toc-depth=2"]
    (tmp_path / "chart.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    (tmp_path / "chart.png").write_bytes(tiny_png())
    args.append(f"--resource-path={tmp_path}")
    text = NUMBERED
    for name, edit in [("cold", lambda t: t), *NUMBERED_EDITS.items()]:
        text = edit(text)
        detail: dict = {}
        if to == "docx":
            ours, theirs = tmp_path / "ours.docx", tmp_path / "cli.docx"
            assert warm(args, text, f"numbered-{to}", output=ours) == "", name
            cli(args, text, output=theirs)
            assert ours.read_bytes() == theirs.read_bytes(), name
        else:
            ours = pandocd.convert(render.pandoc_binary(), args, text, key=f"numbered-{to}", epoch=STAMP, detail=detail)
            assert ours == cli(args, text), name
            assert detail == {"joined": True}, name
    if to == "docx":
        return
    for name, edit in WHOLE_EDITS.items():
        detail = {}
        t = edit(NUMBERED)
        assert t != NUMBERED
        assert pandocd.convert(
            render.pandoc_binary(), args, t, key=f"numbered-{to}", epoch=STAMP, detail=detail
        ) == cli(args, t), name
        # Typst has no table of contents of pandoc's: a header in a callout is joined there
        assert detail == {"joined": to == "typst" and name == "a header in a callout"}, name


def test_an_edited_filter_is_read_again_and_what_was_kept_for_the_old_one_is_not_used(render_server, tmp_path):
    """The worker keeps the filter's steps and each section's output by the filter file's text:
    a changed filter (its words for a figure) gives the command line's bytes with the new one."""
    lua = tmp_path / "crossref.lua"
    lua.write_text(LUA.read_text(encoding="utf-8"), encoding="utf-8")
    text = NUMBERED.replace("crossref:\n  fig-prefix: Chart\n", "")
    for to in ("typst", "html5"):
        args = [to, "--standalone", "--wrap=none", f"--lua-filter={lua}"]
        for words in ("Chart", "Figure"):
            source = LUA.read_text(encoding="utf-8").replace('fig = "Chart"', f'fig = "{words}"')
            assert source.count(f'fig = "{words}"') == 2
            lua.write_text(source, encoding="utf-8")
            detail: dict = {}
            ours = pandocd.convert(render.pandoc_binary(), args, text, key=f"filter-{to}", epoch=STAMP, detail=detail)
            assert ours == cli(args, text), (to, words)
            assert detail == {"joined": True}
            if to == "html5":
                assert f"{words}\u00a01" in ours


@pytest.mark.parametrize(
    "text",
    [
        "# A\n\n## Same\n\nx\n\n# B\n\n## Same\n\ny\n",  # pandoc numbers the second id (same-1)
        "# A\n\nSee [it][r].\n\n# B\n\n[r]: http://x\n",  # a reference defined in another section
        "# A\n\nNested.[^n]\n\n[^n]: A note with a citation [@x].\n\n# B\n\nz\n",
    ],
)
def test_what_the_sections_cannot_stand_for_is_read_whole(render_server, text):
    args = ["html5", "--standalone", f"--lua-filter={LUA}"]
    assert warm(args, text, "whole") == cli(args, text)


def test_an_error_or_an_unknown_argument_leaves_it_to_the_command_line(render_server, tmp_path):
    bad = "# A\n\nSee @fig-missing.\n"  # the filter stops: an unresolved cross-reference
    assert warm(["html5", "--standalone", f"--lua-filter={LUA}"], bad, "bad") is None
    assert pandocd.request_for(["html5", "--embed-resources", f"--lua-filter={LUA}"]) is None
    assert pandocd.request_for(["html5", "--citeproc", f"--lua-filter={LUA}"]) is None
    assert pandocd.request_for(["docx", f"--lua-filter={LUA}"]) is None  # a binary writer needs a file
    # and the worker goes on
    good = "# A\n\nText.\n"
    assert warm(["html5", "--standalone", f"--lua-filter={LUA}"], good, "bad") == cli(
        ["html5", "--standalone", f"--lua-filter={LUA}"], good
    )


@pytest.mark.parametrize("env", [{"BELMIG_TYPST_SERVER": "0"}, {"BELMIG_TRACE_IO": "/nonexistent"}])
def test_disabled_or_traced_the_job_runs_the_command_line(render_server, monkeypatch, env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert warm(["html5", f"--lua-filter={LUA}"], "# A\n", "off") is None
    assert render_server() == []


def test_a_worker_that_holds_too_much_memory_is_replaced(render_server, monkeypatch):
    """The limit is read by the server: one started with it stops every worker after its answer."""
    monkeypatch.setenv("BELMIG_PANDOC_WORKER_MAX_RSS", "1")  # MiB: every worker is over it
    args = ["html5", "--standalone", f"--lua-filter={LUA}"]
    for text in ("# A\n\nOne.\n", "# A\n\nTwo.\n", "# A\n\nTwo.\n"):
        assert warm(args, text, "mem") == cli(args, text)
    assert len(render_server()) == 1
    workers = subprocess.run(["pgrep", "-f", "pandoc_worker"], capture_output=True, text=True).stdout.split()
    server_pid = str(render_server()[0])
    parents = [Path(f"/proc/{p}/stat").read_text().split()[3] for p in workers if Path(f"/proc/{p}").exists()]
    assert server_pid not in parents  # each was stopped after its answer


def test_the_workers_of_many_editions_are_kept_to_the_last_few(render_server, monkeypatch):
    args = ["html5", f"--lua-filter={LUA}"]
    for i in range(pandocd.MAX_WORKERS + 3):
        assert warm(args, f"# A\n\nCopy {i}.\n", f"copy-{i}") == cli(args, f"# A\n\nCopy {i}.\n")
    server_pid = str(render_server()[0])
    workers = subprocess.run(["pgrep", "-f", "pandoc_worker"], capture_output=True, text=True).stdout.split()
    ours = [
        p
        for p in workers
        if Path(f"/proc/{p}").exists() and Path(f"/proc/{p}/stat").read_text().split()[3] == server_pid
    ]
    assert 1 <= len(ours) <= pandocd.MAX_WORKERS


def test_a_server_started_by_a_copy_that_is_gone_still_converts(render_server, tmp_path):
    """The test suite and the benchmark run the build in copies of the repository, which start the
    render server and are deleted; a later build of another checkout talks to that server."""
    import shutil
    import sys

    copy = tmp_path / "copy"
    shutil.copytree(paths.ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(paths.ROOT / "requirements.lock", copy)  # the same server's name (typstd.socket_path)
    args = ["html5", "--standalone", f"--lua-filter={LUA}"]
    code = (
        "from belmig.report import pandocd, render, typstd\n"
        f"assert pandocd.__file__.startswith({str(copy)!r})\n"
        f"assert typstd.socket_path() == {typstd_socket()!r}\n"
        f"assert pandocd.convert(render.pandoc_binary(), {args!r}, '# A\\n\\nOne.\\n', key='copy') is not None\n"
    )
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(copy / "src")}, check=True)
    shutil.rmtree(copy)
    assert len(render_server()) == 1
    assert warm(args, "# A\n\nTwo.\n", "main") == cli(args, "# A\n\nTwo.\n")


TABLES = """---
title: Tables
---

# One

| a | b |
|---|---|
| 1 | 2 |

: A caption {#tbl-one}

After the first table.

| c |
|---|
| 3 |

: The caption between two tables goes to the one before it

| d |
|---|
| 4 |

A paragraph.

: A caption before its table {#tbl-four}

| e |
|---|
| 5 |

::: {.note}
| f |
|---|
| 6 |

: In a div

Still in the div.
:::

See @tbl-one and @tbl-four.
"""


def test_a_text_is_cut_after_its_captioned_tables_and_reads_as_the_whole():
    """The cut after a caption is where pandoc gives the caption to the table before it (a caption
    before its table, one inside a div: no cut); the sections put together are the text."""
    from belmig.report import pandocast

    sections, after = pandocast.sections_after_tables(TABLES, 3)
    assert "".join(sections) == TABLES
    cut_after = [s.split("\n")[1] for s, a in zip(sections, after, strict=True) if a]
    assert cut_after == ["After the first table.", "| d |"]
    assert pandocast.sections_after_tables(TABLES + "\n\n", 3)[0][:-1] == sections[:-1]  # appended: the last alone


@pytest.mark.parametrize("edit", ["", "\n", "\n\nA last paragraph.\n", "X"])
def test_sections_cut_after_tables_give_the_command_lines_bytes(render_server, edit):
    text = TABLES + edit if edit != "X" else TABLES.replace("After the first", "After the 1st")
    for to in ("html5", "typst"):
        args = [to, "--standalone", f"--lua-filter={LUA}"]
        assert warm(args, text, f"tables-{to}") == cli(args, text)


def test_a_cut_where_pandoc_saw_no_captioned_table_is_read_whole(render_server):
    """A line that looks like a table but is not one (no separator row): the worker finds no
    captioned table before the cut and asks for the whole text."""
    text = "# A\n\n| not a table |\n\n: and this is a definition? no: a paragraph\n\nNext.\n"
    from belmig.report import pandocast

    assert any(pandocast.sections_after_tables(text, 3)[1])
    args = ["html5", "--standalone", f"--lua-filter={LUA}"]
    assert warm(args, text, "not-a-table") == cli(args, text)
