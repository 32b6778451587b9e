"""Reviewers' index of the executed stage notebooks (notebooks/executed/index.html).

Stages in DAG order; for each: its purpose (the notebook's title cell), the parameters that
Snakemake injected (inputs and outputs), and every value the stage put into the ledger with a
link to the notebook cell that computed it. From a number in the PDF a reviewer clicks once to
that cell; from this page, once to the stage and once to the cell.
"""

from __future__ import annotations

import ast
import html
import json
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

from belmig.core.ledger import Entry


def read_notebook(path: Path) -> SimpleNamespace:
    """The cells of an executed notebook (nbformat 4, as this build writes them), read as JSON: the
    index needs each cell's type, source and tags, not nbformat's conversion and validation, whose
    import (jsonschema) costs more than the whole index."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("nbformat") != 4:
        raise ValueError(f"{path}: not an nbformat 4 notebook (nbformat={data.get('nbformat')!r})")
    cells = [
        SimpleNamespace(
            cell_type=c.get("cell_type"),
            source="".join(c["source"]) if isinstance(c.get("source"), list) else c.get("source", ""),
            metadata=c.get("metadata", {}),
        )
        for c in data.get("cells", [])
    ]
    return SimpleNamespace(cells=cells)


def injected_parameters(nb: SimpleNamespace) -> dict[str, object]:
    """Parameters papermill injected (falls back to the notebook's defaults)."""
    src = None
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            src = cell.source
            break
        if "parameters" in tags and src is None:
            src = cell.source
    params: dict[str, object] = {}
    for node in ast.parse(src or "").body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                params[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                params[node.targets[0].id] = ast.unparse(node.value)
    return params


def _title(nb: SimpleNamespace) -> tuple[str, str]:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = cell.source.strip().splitlines()
            title = lines[0].lstrip("# ").strip()
            intro = next((ln for ln in lines[1:] if ln.strip()), "")
            return title, intro
    return "", ""


def _fmt(v: object) -> str:
    if isinstance(v, (list, tuple)):
        return "<br>".join(html.escape(str(x)) for x in v)
    if isinstance(v, dict):
        return "<br>".join(f"{html.escape(str(k))}: {html.escape(str(x))}" for k, x in v.items())
    return html.escape(str(v))


def render_index(notebooks: list[Path], entries: Mapping[str, Entry]) -> str:
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Executed notebooks — index</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}"
        "h2{color:#1f4e79;border-bottom:1px solid #ccd;margin-top:2.2rem}table{border-collapse:collapse;width:100%;font-size:.85em}"
        "td,th{border-bottom:1px solid #e4e4e4;padding:.2em .5em;text-align:left;vertical-align:top}"
        "code{font-size:.95em}.note{background:#fff4e5;border:1px solid #c77700;padding:.5em 1em}</style></head><body>",
        "<h1>Executed stage notebooks</h1>",
        "<p class='note'>The data behind these notebooks is a <strong>synthetic reconstruction</strong> of the 2022 survey "
        "calibrated to the published figures, unless the build was pointed at a real export.</p>",
        "<p>Stages in the order the DAG runs them. Each links to its executed notebook (HTML). Only the values the "
        "report prints (and their bases) are listed; each links to its anchor on the "
        "<a href='values.html'>values page</a> (value, base, interval, question, the function that computed it) "
        "and to the notebook cell that recorded it.</p>",
        "<ol>",
    ]
    stems = [Path(n).stem for n in notebooks]
    parts += [f"<li><a href='#{s}'>{s}</a></li>" for s in stems]
    parts += ["<li><a href='07_report.html'>07_report</a> (checks and renders the report)</li>", "</ol>"]
    for path in notebooks:
        path = Path(path)
        nb = read_notebook(path)
        stem = path.stem
        title, intro = _title(nb)
        params = injected_parameters(nb)
        inputs = {k: v for k, v in params.items() if not k.startswith("out_")}
        outputs = {k: v for k, v in params.items() if k.startswith("out_")}
        vals = sorted((e for e in entries.values() if e.notebook == stem), key=lambda e: e.key)
        parts.append(f"<h2 id='{stem}'><a href='{stem}.html'>{html.escape(title or stem)}</a></h2>")
        parts.append(f"<p>{html.escape(intro)}</p>")
        parts.append("<table><tr><th>inputs and parameters</th><th>outputs</th></tr><tr><td>")
        parts.append("<br>".join(f"<code>{html.escape(k)}</code> = {_fmt(v)}" for k, v in inputs.items()))
        parts.append("</td><td>")
        parts.append("<br>".join(f"<code>{html.escape(k)}</code> = {_fmt(v)}" for k, v in outputs.items()))
        parts.append("</td></tr></table>")
        parts.append(f"<p>{len(vals)} value(s) in the ledger.</p>")
        if vals:
            shown = vals[:400]
            parts.append(
                "<details><summary>values</summary><table><tr><th>key</th><th>value</th><th>base n</th><th>cell</th></tr>"
            )
            for e in shown:
                parts.append(
                    f"<tr><td><a href='values.html#{html.escape(e.key)}'><code>{html.escape(e.key)}</code></a></td><td>{html.escape(e.text)}</td>"
                    f"<td>{'' if e.n is None else e.n}</td><td><a href='{stem}.html#cell-id={e.cell}'>{html.escape(e.cell)}</a></td></tr>"
                )
            if len(vals) > len(shown):
                parts.append(f"<tr><td colspan='4'>… and {len(vals) - len(shown)} more (see the ledger)</td></tr>")
            parts.append("</table></details>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
