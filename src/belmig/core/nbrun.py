"""Execute a stage notebook with papermill, then render it to HTML for reviewers.

    python -m belmig.core.nbrun notebooks/03_clean.ipynb notebooks/executed/03_clean.ipynb \
        --params '{"ingested": "data/processed/ingested.parquet", ...}'

The executed notebook keeps its injected-parameters cell (with a fixed cell id, so links and
rebuilds are stable); papermill's timing metadata and absolute paths are stripped, so two
builds of the same commit give the same notebook. Outputs are written atomically: a failing
notebook leaves ``<out>.failed.ipynb`` for debugging and no stage output.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# jsonschema (imported by nbformat/papermill) builds an RFC 3987 grammar at import when the
# optional `rfc3987_syntax` package is present (~1.5–5 s here). We never validate IRI formats:
# mark the optional module as absent so jsonschema skips that format checker.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402

from belmig.core import paths  # noqa: E402

INJECTED_ID = "injected-parameters"
_VOLATILE_NB_META = (
    "start_time",
    "end_time",
    "duration",
    "exception",
    "input_path",
    "output_path",
    "environment_variables",
    "version",
)


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove run-specific metadata (timings, absolute paths, random ids)."""
    pm = nb.metadata.get("papermill", {})
    for k in _VOLATILE_NB_META:
        pm.pop(k, None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cpm = cell.metadata.get("papermill")
        if cpm is not None:
            for k in ("start_time", "end_time", "duration", "status", "exception"):
                cpm.pop(k, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = INJECTED_ID
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                out.get("metadata", {}).pop("execution", None)
    return nb


def run(notebook: Path, out_ipynb: Path, out_html: Path, params: dict) -> None:
    import papermill as pm
    from nbconvert import HTMLExporter

    out_ipynb.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_ipynb.with_name(out_ipynb.stem + ".running.ipynb")
    try:
        pm.execute_notebook(
            str(notebook),
            str(tmp),
            parameters=params,
            cwd=str(paths.ROOT),
            progress_bar=False,
            log_output=False,
            kernel_name="python3",
        )
    except pm.PapermillExecutionError as exc:
        failed = out_ipynb.with_name(out_ipynb.stem + ".failed.ipynb")
        tmp.replace(failed)
        sys.stderr.write(
            f"\nstage notebook {paths.rel(notebook)} failed in cell {exc.exec_count}:\n"
            f"{exc.ename}: {exc.evalue}\n(executed copy: {paths.rel(failed)})\n"
        )
        raise SystemExit(1) from None
    nb = normalise(nbformat.read(tmp, as_version=4))
    nbformat.write(nb, tmp)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    html_tmp = out_html.with_name(out_html.name + ".tmp")
    html_tmp.write_text(body, encoding="utf-8")
    tmp.replace(out_ipynb)
    html_tmp.replace(out_html)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("out_ipynb", type=Path)
    ap.add_argument("out_html", type=Path)
    ap.add_argument("--params", default="{}", help="JSON object of notebook parameters")
    a = ap.parse_args(argv)
    run(a.notebook, a.out_ipynb, a.out_html, json.loads(a.params))


if __name__ == "__main__":
    main()
