"""The reviewers' values page (``notebooks/executed/values.html``): one anchor per public value.

Every number in the report links to ``values.html#<key>``. The anchor shows exactly that value:
key, printed text, base, interval, what it is (question, option, universe, subgroup, weighted
or not), and where it comes from: for computed values the function that computed it and the one
that put it in the ledger, with their source lines at the build's commit, plus the notebook cell;
for values quoted from elsewhere (``ext.*``, ``pub.*``) "cited from …", never "computed in".
Only the public entries (:func:`belmig.report.public.public_entries`) are listed.
"""

from __future__ import annotations

import ast
import functools
import html
import importlib.util
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from belmig.core import atomic, paths
from belmig.core.keys import parse as parse_key
from belmig.core.ledger import Entry

# Which functions produce a stage's values: (computes, records in the ledger).
STAGE_FUNCTIONS = {
    "estimate": ("belmig.estimate.compute:estimate_all", "belmig.estimate.ledger:to_values"),
    "clean": ("belmig.clean.steps:clean", "belmig.clean.steps:to_values"),
    "weight": ("belmig.weight.methods:weigh", "belmig.weight.diagnostics:to_values"),
    "audit": ("belmig.integrity.audit:run", "belmig.integrity.audit:to_values"),
}
CELL_FUNCTIONS = {
    "repro-values": ("belmig.integrity.reproduce:reproduction_table", "belmig.integrity.reproduce:to_values")
}
CITED_FAMILIES = {
    "ext": "cited from the 2022 report's sources (data/published/figures.csv, external statistics)",
    "pub": "cited from the 2022 report as printed (data/published/figures.csv)",
}


def anchor(key: str) -> str:
    """The fragment id of a key on the values page (keys are [a-z0-9_.]: valid as they are)."""
    return key


@functools.cache
def _spans(path: str, mtime_ns: int) -> dict[str, tuple[int, int]]:
    """{function: (first line, last line)} of a source file's top-level functions, read with
    ``ast`` (first lines include decorators, as ``inspect`` gives them). Cached per file version."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)
    except (OSError, SyntaxError):
        return {}
    return {
        node.name: (min([node.lineno, *(d.lineno for d in node.decorator_list)]), node.end_lineno)
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _module_functions(mod_name: str) -> tuple[str, dict[str, tuple[int, int]]] | None:
    """(source path, its top-level functions' lines) of a module, found without importing it:
    importing every stage's code to find a few line numbers cost seconds."""
    top, *rest = mod_name.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    # Walk the package's folders rather than find_spec(mod_name), which imports every parent.
    base = Path(spec.origin).parent.joinpath(*rest) if rest else Path(spec.origin).with_suffix("")
    origin = next((c for c in (base.with_suffix(".py"), base / "__init__.py") if c.is_file()), None)
    if origin is None:
        return None
    mtime = origin.stat().st_mtime_ns
    return str(origin), _spans(str(origin), mtime)


def function_source(spec: str) -> dict[str, Any] | None:
    """{name, path, first, last} of 'module:function' (None when it cannot be found)."""
    mod_name, _, fn_name = spec.partition(":")
    found = _module_functions(mod_name)
    if found is None or fn_name not in found[1]:
        return None
    path = Path(found[0]).resolve()
    first, last = found[1][fn_name]
    rel = path.relative_to(paths.ROOT).as_posix() if path.is_relative_to(paths.ROOT) else path.name
    return {"name": f"{mod_name}.{fn_name}", "path": rel, "first": first, "last": last}


def _what(key: str, e: Entry, cb: Any) -> list[tuple[str, str]]:
    rows = [("description", e.description)]
    try:
        k = parse_key(key)
    except ValueError:
        return rows
    parts = list(k.parts)
    q = by = level = opt = None
    if k.family in ("pct", "count", "wpct", "wci") and len(parts) == 2:
        q, opt = parts
    elif k.family in ("n", "mean", "wmean", "wci_mean") and len(parts) == 1:
        q = parts[0]
    elif k.family == "pctby" and len(parts) == 4:
        by, level, q, opt = parts
    elif k.family == "nby" and len(parts) == 3:
        by, level, q = parts
    if q and cb is not None and q in cb.by_id:
        question = cb[q]
        rows.append(("question", f"{q}: {question.text_en}"))
        if opt:
            try:
                rows.append(("option", f"{opt}: {question.option(opt).label_en}"))
            except KeyError:
                rows.append(("option", opt))
        uni = getattr(question, "universe", None)
        rows.append(("universe", str(uni) if uni else "all respondents who answered"))
    if by and cb is not None and by in cb.by_id:
        try:
            lab = cb[by].option(level).label_en
        except KeyError:
            lab = level
        rows.append(("subgroup", f"{by} = {lab}"))
    if e.weighted is not None:
        rows.append(("weighted", "yes (survey weights, calibration-aware SE)" if e.weighted else "no (unweighted)"))
    return rows


def _source_rows(
    e: Entry, commit: str, source: Callable[[str], dict[str, Any] | None] = function_source
) -> list[tuple[str, str]]:
    fam = e.key.split(".")[0]
    if fam in CITED_FAMILIES:
        return [("source", html.escape(CITED_FAMILIES[fam]))]
    specs = CELL_FUNCTIONS.get(e.cell) or STAGE_FUNCTIONS.get(e.stage)
    out = []
    for label, spec in zip(("computed by", "recorded by"), specs or ()):
        src = source(spec)
        if src:
            link = f"../../{src['path']}"
            out.append(
                (
                    label,
                    f"<code>{html.escape(src['name'])}</code> — <a href='{html.escape(link)}'>"
                    f"{html.escape(src['path'])}</a>, lines {src['first']}–{src['last']} at commit "
                    f"<code>{html.escape(commit[:12])}</code>",
                )
            )
    out.append(
        (
            "notebook cell",
            f"<a href='{html.escape(e.notebook)}.html#cell-id={html.escape(e.cell)}'>"
            f"{html.escape(e.notebook)} · {html.escape(e.cell)}</a>",
        )
    )
    return out


def render_page(entries: Mapping[str, Entry], used: Iterable[str], cb: Any, commit: str) -> str:
    used = set(used)
    # a handful of functions for all the entries: find each once per page (finding them is most of its time)
    source = functools.cache(function_source)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Values used in the report</title>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "section{border-top:1px solid #ccd;padding:.4rem 0}section:target{background:#fff8d6}"
        "h2{font-size:1rem;margin:.4rem 0;font-family:monospace;overflow-wrap:anywhere}.v{font-size:1.4rem;font-weight:bold}"
        "table{border-collapse:collapse;font-size:.9em;width:100%}th{text-align:left;width:9rem;vertical-align:top;color:#555}"
        "td{overflow-wrap:anywhere}.note{background:#fff4e5;border:1px solid #c77700;padding:.5em 1em}</style></head><body>",
        "<h1>Values used in the report</h1>",
        "<p class='note'>Computed from a <strong>synthetic reconstruction</strong> of the 2022 survey. Only the values the "
        "report editions print, and the bases they rest on, are listed.</p>",
        f"<p>{len(entries)} value(s); build commit <code>{html.escape(commit)}</code>. "
        "<a href='index.html'>Executed notebooks</a>.</p>",
    ]
    for key, e in entries.items():
        rows: list[tuple[str, str]] = [("value", f"<span class='v'>{html.escape(e.text)}</span>")]
        if e.n is not None:
            rows.append(("base n", f"{e.n:,}" + (f" (effective n {e.n_eff:,.1f})" if e.n_eff and e.weighted else "")))
        if e.ci_low is not None and e.ci_high is not None:
            rows.append(("95% interval", f"{e.ci_low:.2f}–{e.ci_high:.2f}"))
        rows += [(a, html.escape(b)) for a, b in _what(key, e, cb) if b]
        if key not in used:
            rows.append(("why listed", "the base of a printed value"))
        rows += _source_rows(e, commit, source)
        body = "".join(f"<tr><th>{html.escape(a)}</th><td>{b}</td></tr>" for a, b in rows)
        parts.append(
            f"<section id='{html.escape(anchor(key))}'><h2>{html.escape(key)}</h2><table>{body}</table></section>"
        )
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write(path: Path, entries: Mapping[str, Entry], used: Iterable[str], cb: Any, commit: str) -> None:
    atomic.write_text(path, render_page(entries, used, cb, commit))
