"""Execute a stage notebook with papermill, then render it to HTML for reviewers.

    python -m belmig.core.nbrun notebooks/03_clean.ipynb notebooks/executed/03_clean.ipynb \
        notebooks/executed/03_clean.html --params '{"ingested": "data/processed/ingested.parquet", ...}'

The executed notebook keeps its injected-parameters cell (with a fixed cell id, so links and
rebuilds are stable); papermill's timing metadata is stripped, so two builds of the same commit
give the same notebook. No absolute machine path reaches the executed copies: parameters inside
the repository are passed relative to its root, a file outside it is shown by name and checksum,
and outputs name the repository, the Python installation and the home folder by placeholders.

Outputs are written atomically. A failing notebook leaves no stage output: its executed copy goes
to ``logs/<stage>.failed.ipynb`` (never to the public ``notebooks/executed/``), and the error's
own message (not the traceback) is the last lines of the job's log and stderr, which Snakemake
shows on the console (``show-failed-logs`` in profiles/default/config.yaml).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

# jsonschema (imported by nbformat/papermill) builds an RFC 3987 grammar at import when the
# optional `rfc3987_syntax` package is present (~1.5–5 s here). We never validate IRI formats:
# mark the optional module as absent so jsonschema skips that format checker.
sys.modules.setdefault("rfc3987_syntax", None)

import nbformat  # noqa: E402

from belmig.core import atomic, paths  # noqa: E402

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
# The kernel's only stderr line in a normal run (a local, one-user kernel): not a problem to report.
_KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class StageError(Exception):
    """A stage notebook failed; the message is what the console shows."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def portable_params(params: Any, outside: dict[str, str] | None = None) -> Any:
    """The parameters with every absolute path inside the repository made relative to its root
    (the notebook runs from the root). An absolute path outside it stays (the stage must read it)
    and is recorded in `outside` as ``{path: "name (sha256 …)"}`` for :func:`scrub`."""
    if isinstance(params, dict):
        return {k: portable_params(v, outside) for k, v in params.items()}
    if isinstance(params, list):
        return [portable_params(v, outside) for v in params]
    if isinstance(params, str) and os.path.isabs(params):
        p = Path(params)
        if p.resolve().is_relative_to(paths.ROOT):
            return paths.rel(p)
        if outside is not None:
            outside[params] = f"{p.name} (sha256 {_sha256(p)[:16]})" if p.is_file() else p.name
    return params


def _placeholders(outside: dict[str, str]) -> list[tuple[str, str]]:
    """(machine path, what to show instead), longest first."""
    subs = [(path, label) for path, label in outside.items()]
    subs += [(str(paths.ROOT) + os.sep, ""), (str(paths.ROOT), ".")]
    for prefix, label in ((sys.prefix, "<python>"), (sys.base_prefix, "<python>"), (str(Path.home()), "~")):
        if prefix and prefix not in ("/", str(paths.ROOT)):
            subs.append((prefix, label))
    return sorted(set(subs), key=lambda s: -len(s[0]))


def _sub(text: str, subs: list[tuple[str, str]]) -> str:
    for path, label in subs:
        if path in text:  # a whole path or folder: "/root" is not replaced in "/rooted"
            end = "" if path.endswith(os.sep) else r"(?![\w.-])"
            text = re.sub(re.escape(path) + end, lambda _m, label=label: label, text)
    return text


def scrub(nb: nbformat.NotebookNode, outside: dict[str, str]) -> nbformat.NotebookNode:
    """Replace machine paths in the cells and their outputs (see :func:`_placeholders`); the injected
    cell says which files came from outside the repository."""
    subs = _placeholders(outside)

    def deep(v: Any) -> Any:
        if isinstance(v, str):
            return _sub(v, subs)
        if isinstance(v, dict):
            return {k: deep(x) for k, x in v.items()}
        if isinstance(v, list):
            return [deep(x) for x in v]
        return v

    pm = nb.metadata.get("papermill")
    if pm and "parameters" in pm:
        pm["parameters"] = deep(pm["parameters"])
    for cell in nb.cells:
        if cell.id == INJECTED_ID and outside:
            cell.source = _sub(cell.source, subs) + "".join(
                f"\n# {label}: a file outside the repository" for label in sorted(outside.values())
            )
        else:
            cell.source = _sub(cell.source, subs)
        for out in cell.get("outputs", []):
            if "text" in out:
                out.text = _sub(out.text, subs)
            if "traceback" in out:
                out.traceback = [_sub(t, subs) for t in out.traceback]
            if "evalue" in out:
                out.evalue = _sub(out.evalue, subs)
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    if isinstance(value, str):
                        out.data[mime] = _sub(value, subs)
                    elif isinstance(value, list):
                        out.data[mime] = [_sub(v, subs) if isinstance(v, str) else v for v in value]
    return nb


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove run-specific metadata (timings, papermill's paths and environment, random ids)."""
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


def failed_copy(out_ipynb: Path) -> Path:
    """Where the executed copy of a failed stage goes: ``logs/<stage>.failed.ipynb``."""
    return paths.LOGS / f"{Path(out_ipynb).stem}.failed.ipynb"


def _error_message(exc: BaseException) -> str:
    import papermill as pm

    if isinstance(exc, pm.PapermillExecutionError):
        return f"{exc.ename}: {_ANSI.sub('', str(exc.evalue))}"
    return f"{type(exc).__name__}: {_ANSI.sub('', str(exc))}"


def run(notebook: Path, out_ipynb: Path, out_html: Path, params: dict) -> None:
    """Execute `notebook` with `params`; write the executed copy and its HTML. Raises
    :class:`StageError` (the stage's own error message) when a cell fails."""
    import papermill as pm
    from nbconvert import HTMLExporter

    notebook, out_ipynb, out_html = Path(notebook), Path(out_ipynb), Path(out_html)
    failed = failed_copy(out_ipynb)
    for stale in (failed, out_ipynb.with_name(out_ipynb.stem + ".failed.ipynb")):  # the latter: old builds
        stale.unlink(missing_ok=True)
    outside: dict[str, str] = {}
    params = portable_params(params, outside)
    out_ipynb.parent.mkdir(parents=True, exist_ok=True)
    running = out_ipynb.with_name(f".{out_ipynb.stem}.running.ipynb")
    try:
        try:
            pm.execute_notebook(
                str(notebook),
                str(running),
                parameters=params,
                cwd=str(paths.ROOT),
                progress_bar=False,
                log_output=False,
                kernel_name="python3",
                extra_arguments=_KERNEL_ARGS,
            )
        except Exception as exc:
            where = f"in cell {exc.exec_count}" if isinstance(exc, pm.PapermillExecutionError) else "to run"
            if running.exists():
                nb = normalise(nbformat.read(running, as_version=4))
                failed.parent.mkdir(parents=True, exist_ok=True)
                atomic.write_text(failed, nbformat.writes(scrub(nb, outside)))
                where += f" (executed copy: {paths.rel(failed)})"
            raise StageError(f"stage {notebook.stem} failed {where}:\n{_error_message(exc)}") from None
        nb = scrub(normalise(nbformat.read(running, as_version=4)), outside)
    finally:
        running.unlink(missing_ok=True)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    text = nbformat.writes(nb)
    atomic.write_text(out_ipynb, text if text.endswith("\n") else text + "\n")  # as nbformat.write does
    atomic.write_text(out_html, body)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("out_ipynb", type=Path)
    ap.add_argument("out_html", type=Path)
    ap.add_argument("--params", default="{}", help="JSON object of notebook parameters")
    a = ap.parse_args(argv)
    try:
        run(a.notebook, a.out_ipynb, a.out_html, json.loads(a.params))
    except StageError as err:
        sys.stdout.flush()
        sys.stderr.write(f"\n{err}\n")
        sys.stderr.flush()
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
