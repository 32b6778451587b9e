"""The SVG text cache (belmig.charts.theme.CachedTextToPath) returns what matplotlib's TextToPath
returns: the same glyph ids, positions and outlines of the glyphs not yet in the file's glyph map,
the same text metrics, for the charts' own strings in English, Lithuanian and Russian, warm or
cold, whatever the shared font object went through in between; and a saved SVG is the same bytes.
"""

from __future__ import annotations

import io
import warnings
from collections import OrderedDict

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from belmig.charts import theme
from belmig.charts.strings import TEXT
from belmig.core import codebook as codebook_mod

HANDMADE = [
    "",
    " ",
    "  two  spaces ",
    "0%",
    "20%",
    "100%",
    "n = 335",
    "AVAT Wa To fi fl ffi",  # kerning pairs and ligatures
    "−5 – 7 — 9",
    "3,5\u00a0%",
    "Ąžuolas, čia šįkart ėjo ūkininkų įėjimas",
    "Į ką kreipėtės? Ž Š Č Ę Ė Į Ų Ū",
    "Съешь же ещё этих мягких французских булок, да выпей чаю",
    "Ёжик № 5 — «ответ»",
    "бгдпт",  # Serbian localised forms (language="sr")
    "Vilnius / Вильнюс 2022",
]


def _chart_strings() -> list[str]:
    """The chart titles, questions, options and furniture of the codebook in every language."""
    cb = codebook_mod.load()
    out = set(HANDMADE)
    for lang in ("en", "lt", "ru"):
        texts = [c.title(lang) for c in cb.charts]
        for c in cb.charts:
            q = cb[c.question]
            texts.append(q.text(lang))
            texts += [o.label(lang) for o in q.options]
        texts += TEXT[lang].values()
        for text in texts:
            out.update(line for line in text.split("\n"))
    return sorted(out)


STRINGS = _chart_strings()
HOUSE = FontProperties(family=theme.FONT_FAMILY, size=theme.SIZE_LABEL)
PROPS = [
    HOUSE,
    FontProperties(family=theme.FONT_FAMILY, size=theme.SIZE_TITLE, weight="bold"),
    FontProperties(family="DejaVu Serif", size=theme.SIZE_SOURCE),
    # no Cyrillic in Computer Modern: those glyphs come from the fallback font (another FT2Font)
    FontProperties(family=["cmr10", theme.FONT_FAMILY], size=theme.SIZE_NOTE),
]


def _strings(prop) -> list[str]:
    """Every string in the house font; a sample (and the handmade ones) in the others."""
    return STRINGS if prop is HOUSE else sorted(set(STRINGS[::7] + HANDMADE))


@pytest.fixture(autouse=True)
def cold_cache():
    theme.clear_text_cache()
    yield
    theme.clear_text_cache()


def _disturb(font) -> None:
    """What the Agg renderer and the text measurement do to the same (shared) font object."""
    font.set_size(8.5, 200)
    font._set_transform([[0xF000, -0x1000], [0x1000, 0xF000]], [300, 700])
    font.set_text("Ширина ž", 0.0)


def _same(got, want) -> None:
    (info, new_map, rects), (info_w, new_map_w, rects_w) = got, want
    assert info == info_w
    assert type(new_map) is type(new_map_w)
    assert list(new_map) == list(new_map_w)
    for key, (verts, codes) in new_map.items():
        verts_w, codes_w = new_map_w[key]
        assert verts.dtype == verts_w.dtype and codes.dtype == codes_w.dtype
        assert np.array_equal(verts, verts_w) and np.array_equal(codes, codes_w)
    assert rects == rects_w


def _like_svg(t2p, prop, strings, glyph_map, **kw):
    """The SVG renderer's calls for a sequence of texts: each time the glyphs it has not defined."""
    out = []
    for s in strings:
        font = t2p._get_font(prop)
        res = t2p.get_glyphs_with_font(font, s, glyph_map=glyph_map, return_new_glyphs_only=True, **kw)
        glyph_map.update(res[1])
        out.append(res)
        _disturb(font)
    return out


@pytest.mark.parametrize("prop", PROPS, ids=["house", "bold", "serif", "fallback"])
def test_layout_is_matplotlibs_for_the_charts_strings(prop):
    ref, cached = TextToPath(), theme.CachedTextToPath()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Computer Modern lacks some punctuation (both warn)
        for file_no in range(3):  # a cold file, a warm one, and one that starts with a glyph map
            start = {} if file_no < 2 else dict(ref.get_glyphs_with_font(ref._get_font(prop), "aeoиж")[1])
            got = _like_svg(cached, prop, _strings(prop), OrderedDict(start))
            want = _like_svg(ref, prop, _strings(prop), OrderedDict(start))
            for g, w in zip(got, want, strict=True):
                _same(g, w)
    assert theme._LAYOUTS and theme._GLYPHS  # the cache was used


VARIANTS = [(None, None), (("-kern",), None), (("-kern", "-liga"), "lt"), (None, "ru"), (None, "sr")]


def test_fonts_features_and_languages_share_one_cache():
    """One cache for every font, feature set and language: each is told apart (the same string in
    another font, with kerning off, or in Serbian is laid out anew)."""
    ref, cached = TextToPath(), theme.CachedTextToPath()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Computer Modern lacks some punctuation (both warn)
        for _ in range(2):
            for s in HANDMADE:
                for prop in PROPS:
                    for features, language in VARIANTS:
                        kw = {"features": features, "language": language}
                        got = cached.get_glyphs_with_font(cached._get_font(prop), s, **kw)
                        want = ref.get_glyphs_with_font(ref._get_font(prop), s, **kw)
                        _same(got, want)
                        _disturb(ref._get_font(prop))


def test_a_glyph_map_passed_in_is_filled_as_matplotlib_fills_it():
    ref, cached = TextToPath(), theme.CachedTextToPath()
    for s in ["Vilnius / Вильнюс 2022", "aaaa", "Ąžuolas ėjo", "Vilnius / Вильнюс 2022"]:
        got_map, want_map = OrderedDict(), OrderedDict()
        got = cached.get_glyphs_with_font(cached._get_font(HOUSE), s, glyph_map=got_map)
        want = ref.get_glyphs_with_font(ref._get_font(HOUSE), s, glyph_map=want_map)
        assert got[1] is got_map and want[1] is want_map
        _same(got, want)
        _same(
            cached.get_glyphs_with_font(cached._get_font(HOUSE), s), ref.get_glyphs_with_font(ref._get_font(HOUSE), s)
        )


def test_outlines_handed_out_are_the_callers_own():
    cached, ref = theme.CachedTextToPath(), TextToPath()
    first = cached.get_glyphs_with_font(cached._get_font(HOUSE), "жук")
    for verts, codes in first[1].values():
        verts *= 0  # a caller that changes what it was given changes nothing in the cache
        codes[:] = 0
    again = cached.get_glyphs_with_font(cached._get_font(HOUSE), "жук")
    _same(again, ref.get_glyphs_with_font(ref._get_font(HOUSE), "жук"))


def test_a_font_not_just_sized_by_get_font_is_left_to_matplotlib():
    cached, ref = theme.CachedTextToPath(), TextToPath()
    font = cached._get_font(HOUSE)
    cached.get_glyphs_with_font(font, "Вильнюс")  # uses up "just sized"
    for size in (12, 100):
        font.set_size(size, 72)
        got = cached.get_glyphs_with_font(font, "Вильнюс AV")
        font.set_size(size, 72)
        _same(got, ref.get_glyphs_with_font(font, "Вильнюс AV"))
    assert list(theme._LAYOUTS) == [(font, "Вильнюс", None, None)]
    unhashable = cached.get_glyphs_with_font(cached._get_font(HOUSE), "AV", features=["-kern"])
    _same(unhashable, ref.get_glyphs_with_font(ref._get_font(HOUSE), "AV", features=["-kern"]))


@pytest.mark.parametrize("prop", PROPS, ids=["house", "bold", "serif", "fallback"])
def test_metrics_are_matplotlibs(prop):
    ref, cached = TextToPath(), theme.CachedTextToPath()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            for s in _strings(prop):
                for size in (prop.get_size_in_points(), 7.5):
                    p = prop.copy()
                    p.set_size(size)
                    assert cached.get_text_width_height_descent(s, p, False) == ref.get_text_width_height_descent(
                        s, p, False
                    )
                    _disturb(ref._get_font(p))
    # mathtext is matplotlib's own
    assert cached.get_text_width_height_descent(r"$x^2$", HOUSE, True) == ref.get_text_width_height_descent(
        r"$x^2$", HOUSE, True
    )
    assert cached._sized is None  # measuring leaves no font "just sized" for a later layout


def _svg(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def test_svg_saved_inside_the_cache_is_the_same_bytes():
    with matplotlib.rc_context(theme.rc()):
        fig = Figure(figsize=(4, 3))
        ax = fig.add_subplot()
        ax.barh(["Ąžuolas", "Вильнюс", "Other"], [30.15, 12.5, 7])
        ax.set_title("Chart 1. Į ką kreipėtės? — «ответ»")
        fig.text(0.01, 0.01, "Source: synthetic reconstruction · 2022", size=7)
        plain = _svg(fig)
        saved = matplotlib.text.TextToPath
        with theme.svg_text_cache():
            cold, warm = _svg(fig), _svg(fig)
        assert matplotlib.text.TextToPath is saved
    assert cold == plain and warm == plain
    # the renderer took the cached class (a matplotlib that made its renderers otherwise would
    # silently lose the saving: this says so)
    assert any(key[1] == "Вильнюс" for key in theme._LAYOUTS)
    assert any(key[2] == "Ąžuolas" for key in theme._METRICS)
