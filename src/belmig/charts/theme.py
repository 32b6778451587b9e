"""The house theme of the charts: one palette, one font, one set of sizes.

Applied through :func:`rc` inside ``matplotlib.rc_context`` while a chart is built and saved;
importing this module changes no global matplotlib state.

- Palette: Okabe & Ito (2008), safe for the common colour-vision deficiencies.
- Font: DejaVu Sans (ships with matplotlib; covers Latin and Cyrillic), so the English and the
  Russian build look the same and render identically everywhere (SVG text is converted to paths).
- Sizes: the figure is 16 cm wide (an A4 text column) and is printed at 100 %, so the point
  sizes below are the sizes on paper.
"""

from __future__ import annotations

from typing import Any

from matplotlib.font_manager import FontProperties, findfont

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
