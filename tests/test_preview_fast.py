"""``make preview``'s speed-ups give pandoc's own bytes (belmig.report.pandocast): the section-cached
AST is the whole text's AST, and the stylesheet embedded in Python is ``--embed-resources``'s page,
on all three editions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from belmig.core import paths
from belmig.report import editions, pandocast, render

LANGS = ("en", "ru", "lt")
LUA = paths.REPORT / "filters" / "crossref.lua"
CSS = paths.REPORT / "style.css"


def pandoc(args: list[str], text: str) -> str:
    return subprocess.run(
        [render.pandoc_binary(), *args], input=text, capture_output=True, text=True, check=True, encoding="utf-8"
    ).stdout


def edition_text(lang: str) -> str:
    """The edition as the renderer gives it to pandoc, as far as it goes without a build: front
    matter completed, the appendix tables included when built (else the include lines stay), and
    every chart a data: URI (the HTML's embedded SVG)."""
    ed = editions.edition(lang)
    raw = ed.qmd.read_text(encoding="utf-8")
    gen = {
        m.group(1): (paths.REPORT / m.group(1)).read_text(encoding="utf-8")
        for m in render.INCLUDE_RE.finditer(raw)
        if (paths.REPORT / m.group(1)).is_file()
    }
    text = render.INCLUDE_RE.sub(lambda m: gen.get(m.group(1), m.group(0)), raw)
    text = render.with_defaults(text, editions.strings(lang))
    return render.FIG_RE.sub(
        lambda m: f'![{m.group("cap")}](data:image/svg+xml;base64,AAAA){{{m.group("attrs")} fig-alt="alt"}}', text
    )


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {lang: edition_text(lang) for lang in LANGS}


def whole_ast(text: str) -> dict:
    return json.loads(pandoc(["--from=markdown", "--to=json"], text))


@pytest.mark.parametrize("lang", LANGS)
def test_the_section_cache_gives_the_whole_texts_ast_cold_and_after_an_edit(texts, lang):
    text = texts[lang]
    sections = pandocast.split_sections(text)
    assert sections is not None and len(sections) >= 10 and "".join(sections) == text
    cache = pandocast.SectionCache(render.pandoc_binary())
    assert json.loads(cache.document(text)) == whole_ast(text)
    assert cache.converted == 1  # cold: one reader run, cut at the level-1 headers
    # an edit in one section (before the footnotes it refers to, after citations): one section re-read
    i = next(k for k, s in enumerate(sections) if k > 1 and "\n\n" in s.strip())
    edited = text.replace(sections[i], sections[i].replace("\n\n", "\n\nAn added sentence, see @sec-methods.\n\n", 1))
    assert json.loads(cache.document(edited)) == whole_ast(edited)
    assert cache.converted == 2


@pytest.mark.parametrize("lang", LANGS)
def test_every_section_read_alone_gives_the_whole_texts_blocks(texts, lang):
    """Footnotes defined in another section, pandoc's citation counter and header ids come out as in
    the whole text when each section is read on its own (the warm path)."""
    text = texts[lang]
    cache = pandocast.SectionCache(render.pandoc_binary())
    sections = pandocast._with_notes(pandocast.split_sections(text))
    for i, s in enumerate(sections):
        doc = cache._read(s)
        cache._api = doc["pandoc-api-version"]
        cache._sections[cache._key(s)] = pandocast._Section(doc["meta"] if i == 0 else None, doc["blocks"])
    assert json.loads(cache.document(text)) == whole_ast(text)
    assert cache.converted == 0


def test_what_the_cache_cannot_cut_is_read_whole():
    cache = pandocast.SectionCache(render.pandoc_binary())
    dup = "# A\n\n## Same\n\nx\n\n# B\n\n## Same\n\ny\n"  # pandoc numbers the second id: same-1
    assert json.loads(cache.document(dup)) == whole_ast(dup)
    assert pandocast.split_sections("# A\n\nSee [it][r].\n\n# B\n\n[r]: http://x\n") is None
    assert pandocast.split_sections("# A\n\n(@) one\n\n# B\n\n(@) two\n") is None
    fenced = "# A\n\n```\n# not a header\n```\n\n::: {.x}\n# in a div\n:::\n\n# B\n"
    assert [s.split("\n")[0] for s in pandocast.split_sections(fenced)] == ["", "# A", "# B"]


@pytest.mark.skipif(
    not (paths.REPORT / "_generated").is_dir(),
    reason="needs the appendix tables (make report): the text refers to them, pandoc's filter fails without",
)
@pytest.mark.parametrize("lang", LANGS)
def test_the_stylesheet_embedded_here_gives_embed_resources_bytes(texts, tmp_path, lang):
    text = texts[lang]
    switcher = tmp_path / "switcher.html"
    switcher.write_text(editions.switcher_html(lang, paths.REPORT), encoding="utf-8")
    args = [
        "--to=html5", "--standalone", f"--css={CSS}", f"--lua-filter={LUA}", "--toc", "--toc-depth=2",
        f"--resource-path={paths.REPORT}", f"--include-before-body={switcher}",
    ]  # fmt: skip
    pandocs_own = pandoc(["--from=markdown", "--embed-resources", *args], text)
    ast = pandocast.SectionCache(render.pandoc_binary()).document(text)
    ours = pandocast.self_contained(pandoc(["--from=json", *args], ast), str(CSS), CSS.read_text(encoding="utf-8"))
    assert ours is not None and 'role="img"' in ours
    assert ours == pandocs_own


def test_a_page_with_more_to_embed_is_left_to_pandoc():
    page = '<html><head><link rel="stylesheet" href="s.css" /></head><body>{}</body></html>'
    assert pandocast.self_contained(page.format('<img src="a.png" alt="x" />'), "s.css", "") is None
    assert pandocast.self_contained(page.format("<script>x()</script>"), "s.css", "") is None
    assert pandocast.self_contained(page.format("&quot;"), "s.css", "") is None
    assert pandocast.self_contained(page.format(""), "s.css", "a { background: url(x.png) }") is None
    assert pandocast.embed_css("/* c */\n  a {  b: c; }\n") == "\na { b: c; }\n"


@pytest.mark.skipif(not paths.LEDGER.exists(), reason="needs a built ledger (make report)")
@pytest.mark.parametrize("lang", LANGS)
def test_the_previews_render_is_the_builds_byte_for_byte(tmp_path, lang):
    """render.render with the preview's section cache writes the HTML and the PDF the build's path
    (the whole text through pandoc, --embed-resources) writes: cold, and warm after an edit."""
    from belmig.core import ledger

    entries = ledger.load(paths.LEDGER)
    ed = editions.edition(lang)
    prov = [{"label": "repository commit", "value": "0" * 40}]
    cache = pandocast.SectionCache(render.pandoc_binary())
    qmd = paths.REPORT / f".test-preview-{lang}.qmd"  # beside the edition: includes and figures resolve
    original = ed.qmd.read_text(encoding="utf-8")
    builds = {name: paths.REPORT / f".test-preview-build-{name}-{lang}" for name in ("build", "preview")}
    try:
        for text in (original, re.sub(r"(\n\n[A-Z][^\n]{20,})", r"\1 An added sentence.", original, count=1)):
            qmd.write_text(text, encoding="utf-8")
            out = {}
            for name, ast in (("build", None), ("preview", cache)):
                d = tmp_path / name
                d.mkdir(exist_ok=True)
                render.render(
                    qmd,
                    entries,
                    out_pdf=d / "r.pdf",
                    out_html=d / "r.html",
                    provenance=prov,
                    build_dir=builds[name],
                    ast=ast,
                )
                out[name] = ((d / "r.html").read_bytes(), (d / "r.pdf").read_bytes())
            assert out["preview"][0] == out["build"][0]
            assert out["preview"][1] == out["build"][1]
    finally:
        qmd.unlink(missing_ok=True)
        for d in builds.values():
            shutil.rmtree(d, ignore_errors=True)


# the number-word patterns' lead: a word's start (hoisted from each word), their first letters
LEAD = r"^(?:\(\?<!\[\^\\W_\]\))?\(\?=\[[^\]]*\]\)"


@pytest.mark.parametrize("lang", LANGS)
def test_the_lexicons_quick_skips_find_what_a_scan_of_every_phrase_finds(lang):
    """lexicon.find skips a phrase whose longest word is not in the lower-cased text and tries a
    phrase only where the lower-cased text has its first word, and the number-word patterns
    start with a word's start and a look-ahead for their first letters: the same matches as a
    scan of the text for every phrase and the plain patterns, also in upper case, with the
    letters re.IGNORECASE pairs with others ("ı" for "i") and with "Σ" (whose lower case depends
    on where it stands)."""
    import dataclasses

    from belmig.report import lexicon

    lex = lexicon.Lexicon.load(editions.lexicon_path())
    plain = dataclasses.replace(
        lex,
        phrases={
            k: [
                dataclasses.replace(p, literal="", first="", source=re.sub(r"^\(\?=(?:\\.|[^\\)])\)", "", p.source))
                for p in ps
            ]
            for k, ps in lex.phrases.items()
        },
        number_words={k: {n: re.sub(LEAD, "", rx) for n, rx in d.items()} for k, d in lex.number_words.items()},
    )
    assert all(rx.startswith(rf"(?<!{lexicon._WORD})(?=[") for d in lex.number_words.values() for rx in d.values())
    assert not any(re.match(LEAD, rx) for d in plain.number_words.values() for rx in d.values())
    assert any(p.literal for p in lex.phrases[lang])
    assert all(p.first for p in lex.phrases[lang] if p.literal)
    assert all(p.source.startswith("(?=") for p in lex.phrases[lang])
    assert not any(p.source.startswith("(?=") for ps in plain.phrases.values() for p in ps)
    text = editions.edition(lang).qmd.read_text(encoding="utf-8")
    variants = (text.upper(), text.replace("i", "ı"), text.replace("s", "ſ"), text.replace("o", "Σ"), text.title())
    for t in (text, *variants, "MORE THAN TWO THIRDS, twenty-one %", "most   OF\n\nthe Most of"):
        for outside in (False, True):
            got = [(m.words, m.start, m.end) for m in lex.find(t, lang, outside_guards=outside)]
            assert got == [(m.words, m.start, m.end) for m in plain.find(t, lang, outside_guards=outside)]
        assert [m.span() for m in lex.numbers_in_words(t, lang)] == [m.span() for m in plain.numbers_in_words(t, lang)]


@pytest.mark.skipif(not paths.LEDGER.exists(), reason="needs a built ledger (make report)")
def test_the_checks_process_answers_as_the_checks_here_and_ends_with_the_preview():
    from belmig.report import preview

    pv = preview.Preview("en", pdf=False)
    pv.start_checker()
    assert pv._checker_conn is not None
    for _ in range(2):
        assert pv._finish_check(pv._start_check()) == pv.check()
    assert pv.checks_cpu > 0
    pv.reload()
    assert pv._finish_check(pv._start_check()) == pv.check()
    pv._checker_conn.close()  # the preview goes: the checks' process sees EOF and leaves
    pv._checker.join(10)
    assert not pv._checker.is_alive()
