"""The house theme of the charts: one palette, one font, one set of sizes.

Applied through :func:`rc` inside ``matplotlib.rc_context`` while a chart is built and saved;
importing this module changes no global matplotlib state.

- Palette: Okabe & Ito (2008), safe for the common colour-vision deficiencies.
- Font: DejaVu Sans (ships with matplotlib; covers Latin and Cyrillic), so the English and the
  Russian build look the same and render identically everywhere (SVG text is converted to paths).
- Sizes: the figure is 16 cm wide (an A4 text column) and is printed at 100 %, so the point
  sizes below are the sizes on paper.

:func:`svg_text_cache` (also entered by ``build.draw``) makes the SVG backend lay out each string
and outline each glyph once per process instead of once per chart; the files are the same bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib.text
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import LoadFlags
from matplotlib.textpath import TextToPath

# Okabe–Ito colours (hex) and the roles they play.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
BAR = OKABE_ITO["blue"]  # the answers
BAR_RESIDUAL = "#9DA3AA"  # "Other" / "None" answers kept apart from the ranking (grey, not a hue)
MEAN = OKABE_ITO["vermillion"]  # the mean marker on 1–10 scales
WHISKER = OKABE_ITO["black"]  # confidence-interval whiskers and the weighted point
INK = "#1A1A1A"  # titles, labels, values
INK_SOFT = "#4D4D4D"  # subtitle, notes, source (contrast 8.4:1 on white)
RULE = "#B3B3B3"  # axis baselines

FONT_FAMILY = "DejaVu Sans"
CM = 1 / 2.54
FIG_WIDTH_IN = 16 * CM  # A4 column width

# Point sizes on paper.
SIZE_TITLE = 11.0
SIZE_SUBTITLE = 9.0
SIZE_LABEL = 8.5  # option labels, tick labels
SIZE_VALUE = 8.5  # value labels at the bars
SIZE_VALUE_SCALE = 7.5  # value labels above the ten bars of a 1–10 scale
SIZE_NOTE = 7.5
SIZE_SOURCE = 7.0
LINE_SPACING = 1.25  # line height as a multiple of the font size

SVG_HASHSALT = "belmig-charts"  # fixed ids in the SVG (clip paths, glyphs): byte-identical output
CREATOR = "belmig.charts"


def font(size: float, weight: str = "normal") -> FontProperties:
    return FontProperties(family=FONT_FAMILY, size=size, weight=weight)


def check_font() -> None:
    """Fail loudly when the house font is missing (matplotlib would silently substitute another)."""
    path = findfont(font(10), fallback_to_default=False)
    if "DejaVuSans" not in path:
        raise RuntimeError(f"house font {FONT_FAMILY!r} resolved to {path!r}")


def rc() -> dict[str, Any]:
    """rcParams of the house theme, for ``matplotlib.rc_context(theme.rc())``."""
    return {
        "font.family": FONT_FAMILY,
        "font.size": SIZE_LABEL,
        "text.color": INK,
        "text.parse_math": False,  # labels are plain text: "$" or "_" in a label stays as typed
        # FreeType's hinting snaps glyphs to a screen's pixel grid: nothing at 200 dpi, and the
        # autohinter was a third of the charts' text layout (18 charts 2.9 s -> 2.5 s without)
        "text.hinting": "no_hinting",
        "axes.edgecolor": RULE,
        "axes.linewidth": 0.6,
        "axes.labelcolor": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.facecolor": "white",
        "axes.grid": False,
        "axes.unicode_minus": True,
        "xtick.color": INK,
        "ytick.color": INK,
        "xtick.labelsize": SIZE_LABEL,
        "ytick.labelsize": SIZE_LABEL,
        "xtick.major.size": 0,
        "ytick.major.size": 0,
        "xtick.major.pad": 3,
        "ytick.major.pad": 5,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.edgecolor": "white",
        "savefig.transparent": False,
        "svg.fonttype": "path",  # text as paths: identical rendering without the font installed
        "svg.hashsalt": SVG_HASHSALT,
        "svg.image_inline": True,
        "path.simplify": False,
        "lines.solid_capstyle": "butt",
    }


# --------------------------------------------------------------------------- SVG text, laid out once
#
# With text as paths the SVG backend shapes every string it draws (libraqm) and loads the outline
# of every glyph of it, for each chart again: 16,000 glyph loads for the 36 edition charts, most of
# them of glyphs (and a third of the strings: tick labels, the source line) it had already done, and
# it measures the same strings again for each chart's layout. The class below remembers, per
# process, what matplotlib's ``TextToPath`` computes from a font that its ``_get_font`` has just set
# to ``FONT_SCALE`` at ``DPI`` (the SVG renderer's calls: the state is then the same every time);
# any other call is passed to matplotlib unchanged. It returns what matplotlib returns (tests/
# test_charts_textcache.py compares them); what it skips are only side effects on the FreeType
# font object (the last glyph loaded, glyphs kept for a bitmap) that every user of that object
# resets before reading (``_get_font`` and the Agg renderer set the size, ``set_text`` clears).
# Missing-glyph warnings are not repeated for a string laid out before (the house font has every
# glyph of the three languages).

TEXT_CACHE_MAX = 4096  # entries per cache (the 18 charts in three languages: ~600 strings, ~250 glyphs)

_LAYOUTS: dict[tuple, tuple] = {}  # (font, s, features, language) -> ((glyph_repr, x, y, path), …)
_GLYPHS: dict[tuple, tuple] = {}  # (font or fallback font, glyph index) -> (glyph_repr, path)
_METRICS: dict[tuple, tuple] = {}  # (font, size in points, s) -> (width, height, descent)


def _remember(cache: dict, key: tuple, value: Any) -> Any:
    if len(cache) >= TEXT_CACHE_MAX:  # bounded: start afresh (rare; only the time differs)
        cache.clear()
    cache[key] = value
    return value


def clear_text_cache() -> None:
    for cache in (_LAYOUTS, _GLYPHS, _METRICS):
        cache.clear()


class CachedTextToPath(TextToPath):
    """``matplotlib.textpath.TextToPath`` that lays out and measures a string, and outlines a glyph,
    once per process (see the comment above). The font objects are keys: an FT2Font is one file
    list, face and kerning factor (``font_manager.get_font`` keeps one per thread), so equal keys
    mean the same font in the same state."""

    def __init__(self) -> None:
        super().__init__()
        self._sized = None  # the font _get_font has just set to FONT_SCALE at DPI, until used

    def _get_font(self, prop):
        font = super()._get_font(prop)
        self._sized = font
        return font

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:  # mathtext or TeX: matplotlib's own
            return super().get_text_width_height_descent(s, prop, ismath)
        key = (self._get_font(prop), prop.get_size_in_points(), s)
        metrics = _METRICS.get(key)
        if metrics is None:
            metrics = _remember(_METRICS, key, super().get_text_width_height_descent(s, prop, ismath))
        self._sized = None  # set_text is no glyph layout
        return metrics

    def get_glyphs_with_font(
        self, font, s, glyph_map=None, return_new_glyphs_only=False, *, features=None, language=None
    ):
        sized, self._sized = self._sized, None
        key = (font, s, features, language)
        try:
            hash(key)
        except TypeError:  # features or language in a list: matplotlib's own
            sized = None
        if font is not sized:
            return super().get_glyphs_with_font(
                font, s, glyph_map, return_new_glyphs_only, features=features, language=language
            )
        glyphs = _LAYOUTS.get(key)
        if glyphs is None:
            glyphs = _remember(_LAYOUTS, key, tuple(self._lay_out(font, s, features, language)))
        # what matplotlib's loop builds: the map of the glyphs not in glyph_map, in order of first
        # use, each outline a fresh pair of arrays
        if glyph_map is None:
            glyph_map = OrderedDict()
        glyph_map_new = OrderedDict() if return_new_glyphs_only else glyph_map
        for glyph_repr, _, _, (verts, codes) in glyphs:
            if glyph_repr not in glyph_map and glyph_repr not in glyph_map_new:
                glyph_map_new[glyph_repr] = (verts.copy(), codes.copy())
        return [(glyph_repr, x, y, 1.0) for glyph_repr, x, y, _ in glyphs], glyph_map_new, []

    def _lay_out(self, font, s, features, language) -> Iterator[tuple]:
        """matplotlib's ``_text_helpers.layout``, loading only the glyphs not outlined before."""
        for item in font._layout(s, LoadFlags.NO_HINTING, features=features, language=language):
            ft_object, index = item.ft_object, item.glyph_index
            glyph = _GLYPHS.get((ft_object, index))
            if glyph is None:
                ft_object.load_glyph(index, flags=LoadFlags.NO_HINTING)
                glyph_repr = self._get_glyph_repr(ft_object, index)
                glyph = _remember(_GLYPHS, (ft_object, index), (glyph_repr, ft_object.get_path()))
            yield glyph[0], item.x, item.y, glyph[1]


@contextmanager
def svg_text_cache() -> Iterator[None]:
    """Renderers created inside use :class:`CachedTextToPath` (matplotlib's renderers take their
    ``TextToPath`` from ``matplotlib.text`` when they are made); restored on leaving."""
    saved = matplotlib.text.TextToPath
    matplotlib.text.TextToPath = CachedTextToPath
    try:
        yield
    finally:
        matplotlib.text.TextToPath = saved
