"""belmig.report.typstd: the warm Typst server writes the PDF a fresh compiler writes.

Each test has its own runtime folder (so its own server) and stops the servers it started."""

import time
from pathlib import Path

import pytest

from belmig.report import typstd

pytest.importorskip("typst")

STAMP = 1667433600


def _doc(n_paragraphs: int, extra: str = "") -> str:
    body = "\n\n".join(
        f"== Section {i}\n\nParagraph {i}: the weighted share, its interval and the base. " * 3
        for i in range(n_paragraphs)
    )
    return f'#set text(lang: "lt")\n#set page(numbering: "1")\n= Ataskaita ąčęėįšųūž\n\n{extra}\n\n{body}\n'


def _cold(typ: Path, out: Path) -> bytes:
    import typst

    typst.Compiler(str(typ), root=str(typ.parent), font_paths=[], ignore_system_fonts=True).compile(
        output=str(out), timestamp=STAMP
    )
    return out.read_bytes()


def test_a_recompile_in_the_warm_server_writes_the_bytes_a_cold_compile_writes(render_server, tmp_path):
    typ = tmp_path / "report.typ"
    typ.write_text(_doc(40), encoding="utf-8")
    typstd.compile_pdf(typ, tmp_path, tmp_path / "first.pdf", STAMP)
    assert (tmp_path / "first.pdf").read_bytes() == _cold(typ, tmp_path / "cold1.pdf")
    typ.write_text(_doc(40, extra="An edited paragraph in the middle."), encoding="utf-8")
    typstd.compile_pdf(typ, tmp_path, tmp_path / "second.pdf", STAMP)  # warm: the same compiler
    assert (tmp_path / "second.pdf").read_bytes() == _cold(typ, tmp_path / "cold2.pdf")
    assert (tmp_path / "second.pdf").read_bytes() != (tmp_path / "first.pdf").read_bytes()
    assert len(render_server()) == 1  # one server did both


def test_a_text_that_does_not_compile_raises_typst_s_message_and_the_server_goes_on(render_server, tmp_path):
    bad = tmp_path / "bad.typ"
    bad.write_text("#let x = (\n", encoding="utf-8")
    with pytest.raises(RuntimeError) as err:
        typstd.compile_pdf(bad, tmp_path, tmp_path / "bad.pdf", STAMP)
    assert "bad.typ" in str(err.value) or "unclosed" in str(err.value).lower()
    assert not (tmp_path / "bad.pdf").exists()
    good = tmp_path / "good.typ"
    good.write_text(_doc(1), encoding="utf-8")
    typstd.compile_pdf(good, tmp_path, tmp_path / "good.pdf", STAMP)
    assert (tmp_path / "good.pdf").read_bytes()[:5] == b"%PDF-"
    assert len(render_server()) == 1


@pytest.mark.parametrize("env", [{"BELMIG_TYPST_SERVER": "0"}, {"BELMIG_TRACE_IO": "/nonexistent"}])
def test_disabled_or_traced_the_job_compiles_itself(render_server, tmp_path, monkeypatch, env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    typ = tmp_path / "a.typ"
    typ.write_text(_doc(1), encoding="utf-8")
    with pytest.raises(typstd.Unavailable):
        typstd.compile_pdf(typ, tmp_path, tmp_path / "a.pdf", STAMP)
    assert render_server() == []


def test_a_server_that_holds_too_much_memory_exits_and_the_next_job_starts_another(
    render_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("BELMIG_TYPST_SERVER_MAX_RSS", "1")  # MiB: every server is over it after a compile
    typ = tmp_path / "a.typ"
    typ.write_text(_doc(2), encoding="utf-8")
    typstd.compile_pdf(typ, tmp_path, tmp_path / "a.pdf", STAMP)
    (first,) = render_server()
    deadline = time.monotonic() + 20
    while Path(f"/proc/{first}").exists() and Path(f"/proc/{first}/cmdline").read_bytes():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    typstd.compile_pdf(typ, tmp_path, tmp_path / "b.pdf", STAMP)
    assert len(render_server()) == 2 and (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_starting_the_server_leaves_no_thread_in_the_job(render_server, tmp_path):
    """The server is started through sh and runs on its own: no thread of the job waits for it
    (one did, and a job that then forked its checks ran them in a thread: render.while_checking)."""
    import threading

    before = threading.active_count()
    typ = tmp_path / "a.typ"
    typ.write_text(_doc(1), encoding="utf-8")
    typstd.compile_pdf(typ, tmp_path, tmp_path / "a.pdf", STAMP)
    assert len(render_server()) == 1
    assert threading.active_count() == before
