"""The report: ledger values into text (render), its checks, claims, appendix tables, value diff, index.

The submodules are imported one by one (``from belmig.report import render``): the research-
integrity code imports :mod:`belmig.report.claims` without pulling in the renderer.
"""
