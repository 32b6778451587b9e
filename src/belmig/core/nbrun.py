"""Execute a stage notebook (papermill's parameterised format), and render executed ones to HTML.

    python -m belmig.core.nbrun notebooks/03_clean.ipynb notebooks/executed/03_clean.ipynb \
        --params '{"ingested": "data/processed/ingested.parquet", ...}'
    python -m belmig.core.nbrun --html notebooks/executed/03_clean.ipynb notebooks/executed/03_clean.html ...

The notebook runs in this process (belmig.core.nbengine: no kernel to start, no second import of
what the stage uses); the stages' HTML export for reviewers is its own job, off the critical path (a third
positional argument writes it in the same job, after the notebook: rule render_report). The executed notebook keeps its injected-parameters cell (with a fixed cell id, so links and
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
from typing import TYPE_CHECKING, Any

# jsonschema (imported by nbformat/papermill) builds an RFC 3987 grammar at import when the
# optional `rfc3987_syntax` package is present (~1.5–5 s here). We never validate IRI formats:
# mark the optional module as absent so jsonschema skips that format checker.
sys.modules.setdefault("rfc3987_syntax", None)

from belmig.core import atomic, paths  # noqa: E402

if TYPE_CHECKING:  # nbformat is imported where a notebook is read or written (not by a kept HTML)
    import nbformat

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


def run(notebook: Path, out_ipynb: Path, out_html: Path | None, params: dict) -> None:
    """Execute `notebook` with `params` in this process (belmig.core.nbengine); write the executed
    copy and, when `out_html` is given, its HTML. Raises :class:`StageError` (the stage's own
    error message) when a cell fails."""
    import nbformat

    from belmig.core import nbengine

    notebook, out_ipynb = Path(notebook), Path(out_ipynb)
    failed = failed_copy(out_ipynb)
    for stale in (failed, out_ipynb.with_name(out_ipynb.stem + ".failed.ipynb")):  # the latter: old builds
        stale.unlink(missing_ok=True)
    outside: dict[str, str] = {}
    params = portable_params(params, outside)
    out_ipynb.parent.mkdir(parents=True, exist_ok=True)
    try:
        nb = nbengine.execute(nbformat.read(notebook, as_version=4), params, cwd=paths.ROOT)
    except nbengine.CellError as exc:
        failed.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(failed, nbformat.writes(scrub(normalise(exc.nb), outside)))
        where = f"in cell {exc.exec_count} (executed copy: {paths.rel(failed)})"
        msg = f"{exc.ename}: {_ANSI.sub('', exc.evalue)}"
        raise StageError(f"stage {notebook.stem} failed {where}:\n{msg}") from None
    nb = scrub(normalise(nb), outside)
    text = nbformat.writes(nb)
    atomic.write_text(out_ipynb, text if text.endswith("\n") else text + "\n")  # as nbformat.write does
    if out_html is not None:
        export_html([(out_ipynb, Path(out_html))])


def html_stamp(ipynb: Path) -> str:
    """The last line of a notebook's HTML: the checksum of the executed notebook it shows."""
    return f"<!-- from {Path(ipynb).name} sha256 {_sha256(Path(ipynb))} (belmig.core.nbrun) -->\n"


def _ends_with(path: Path, tail: str) -> bool:
    data = tail.encode("utf-8")
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size < len(data):
                return False
            fh.seek(size - len(data))
            return fh.read() == data
    except OSError:
        return False


def export_html(pairs: list[tuple[Path, Path]]) -> list[Path]:
    """Render executed notebooks to the HTML reviewers read (nbconvert's lab template), each
    written atomically and ending with :func:`html_stamp`. One process for all of them:
    nbconvert's import is the cost (~1 s). An HTML whose stamp names the same executed notebook
    is the one nbconvert would write again: it is kept (and touched, for Snakemake), and when
    every one is, nbconvert is not imported at all. Returns the files written."""
    todo = []
    for ipynb, html in pairs:
        stamp = html_stamp(ipynb)
        if _ends_with(Path(html), stamp):
            os.utime(html)
        else:
            todo.append((Path(ipynb), Path(html), stamp))
    if not todo:
        return []
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    for ipynb, html, stamp in todo:
        body, _ = exporter.from_notebook_node(nbformat.read(ipynb, as_version=4))
        atomic.write_text(html, (body if body.endswith("\n") else body + "\n") + stamp)
    return [html for _, html, _ in todo]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebook", type=Path)
    ap.add_argument("out_ipynb", type=Path)
    ap.add_argument("out_html", type=Path, nargs="?", help="its HTML (default: none; see --html)")
    ap.add_argument("--params", default="{}", help="JSON object of notebook parameters")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--html"]:  # --html A.ipynb A.html [B.ipynb B.html ...]: the HTML export alone
        files = [Path(a) for a in argv[1:]]
        if not files or len(files) % 2:
            ap.error("--html takes pairs of executed notebook and HTML file")
        pairs = list(zip(files[::2], files[1::2]))
        written = export_html(pairs)
        print(f"{len(written)} notebook(s) rendered to HTML, {len(pairs) - len(written)} unchanged (kept)")
        return
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
