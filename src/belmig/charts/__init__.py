"""The 18 charts of the report, drawn from the estimates (never from raw rows).

- ``theme``: the house theme (palette, font, sizes) as an rc dict;
- ``strings``: chart furniture text in English and Russian (everything else comes from the codebook);
- ``base``: selection of the estimates and the shared drawing (bars, 1–10 scales);
- ``specs/chartNN.py``: what is particular to each chart;
- ``build``: :func:`draw` (SVG, PNG, alt text, JSON record), :func:`caption`;
- ``cli``: :func:`main`, also ``python -m belmig.charts``.
"""

from belmig.charts.build import build, caption, draw
from belmig.charts.cli import main

__all__ = ["build", "caption", "draw", "main"]
