"""Execute a parameterised notebook in this process: papermill's notebook format, no kernel.

A stage notebook used to run in a fresh Jupyter kernel started by papermill: every stage paid for
papermill's and nbclient's imports (~1 s), a kernel start (~1–1.5 s) and, in the kernel, the
imports the stage's own process had already paid for. This engine runs the cells in an IPython
shell inside the stage's process (the same shell a kernel wraps, so the outputs are the same
MIME bundles: DataFrames as text/html + text/plain, ``display(...)`` as display_data, prints as
streams, a failing cell as an error output with its traceback).

What papermill does around the execution is kept, and the executed notebook has its layout:
the parameters cell tagged ``parameters`` is followed by a cell tagged ``injected-parameters``
that assigns the run's values (Python literals, as papermill's translator writes them), the
notebook's ``metadata.papermill.parameters`` records them, code cells are numbered 1, 2, … as a
kernel numbers them, and each cell carries an empty ``metadata.papermill``. Nothing run-specific
is recorded (no times, no paths), so the same inputs give the same bytes.

    nb = nbengine.execute(nbformat.read(path, as_version=4), params, cwd=paths.ROOT)
    # raises CellError (nb: the notebook as far as it ran) when a cell fails
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

# The language_info a python3 kernel reports (nbconvert reads the lexer from it).
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": platform.python_version(),
}


class CellError(Exception):
    """A cell raised: ``exec_count``, ``ename``, ``evalue`` as papermill reports them; ``nb`` is the
    notebook executed up to and including the failing cell."""

    def __init__(self, exec_count: int, ename: str, evalue: str, nb: NotebookNode):
        super().__init__(f"{ename}: {evalue}")
        self.exec_count, self.ename, self.evalue, self.nb = exec_count, ename, evalue, nb


# ------------------------------------------------------------------------------ parameters
def literal(value: Any, indent: int = 0) -> str:
    """A Python literal for a JSON-like value (dicts and lists over several lines when long)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        items = [literal(v, indent + 4) for v in value]
        opener, closer = "[", "]"
    elif isinstance(value, dict):
        items = [f"{json.dumps(str(k), ensure_ascii=False)}: {literal(v, indent + 4)}" for k, v in value.items()]
        opener, closer = "{", "}"
    else:
        raise TypeError(f"notebook parameter of type {type(value).__name__} is not a JSON value: {value!r}")
    flat = opener + ", ".join(items) + closer
    if len(flat) + indent <= 100 and "\n" not in flat:
        return flat
    pad = " " * (indent + 4)
    return opener + "\n" + "".join(f"{pad}{it},\n" for it in items) + " " * indent + closer


def parameterize(nb: NotebookNode, params: dict[str, Any]) -> NotebookNode:
    """Insert the ``injected-parameters`` cell after the ``parameters`` cell (first, if none)."""
    source = "# Parameters\n" + "".join(f"{k} = {literal(v)}\n" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.id = "injected-parameters"
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    at = next((i + 1 for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])), 0)
    nb.cells.insert(at, cell)
    nb.metadata["papermill"] = {"default_parameters": {}, "parameters": params}
    return nb


# ------------------------------------------------------------------------------ execution
class _Capture:
    """Collects a cell's outputs in nbformat's shape."""

    def __init__(self, execution_count: int | None = None) -> None:
        self.outputs: list[NotebookNode] = []
        self.execution_count = execution_count

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        # as a kernel sends them (each stream buffered): writes to one stream since the last rich
        # output are one output, whatever the other stream wrote in between
        for out in reversed(self.outputs):
            if out.output_type != "stream":
                break
            if out.name == name:
                out.text += text
                return
        self.outputs.append(nbformat.v4.new_output("stream", name=name, text=text))

    def add(self, output: NotebookNode) -> None:
        self.outputs.append(output)


class _Stream:
    """sys.stdout / sys.stderr of a running cell (sys.__stdout__/__stderr__ stay the process's)."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, capture: _Capture, name: str, real: Any):
        self._capture, self.name, self._real = capture, name, real

    def write(self, text: str) -> int:
        self._capture.stream(self.name, text)
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:  # C code and subprocesses write to the job's own stream (its log)
        return self._real.fileno()

    def writable(self) -> bool:
        return True


def _json_clean(data: dict[str, Any]) -> dict[str, Any]:
    """MIME bundle as a kernel sends it: bytes base64 (IPython already does), text as str."""
    return json.loads(json.dumps(data, default=str))


def _shell(capture_ref: list[_Capture]):
    """An in-process IPython shell whose display hook, display publisher and traceback go to the
    current cell's capture (``capture_ref[0]``)."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Hook(DisplayHook):
        def start_displayhook(self) -> None:
            self._bundle = None

        def write_output_prompt(self) -> None:
            pass

        def write_format_data(self, format_dict, md_dict=None) -> None:
            self._bundle = (format_dict, md_dict or {})

        def finish_displayhook(self) -> None:
            if self._bundle is not None:
                data, md = self._bundle
                capture_ref[0].add(
                    nbformat.v4.new_output(
                        "execute_result",
                        data=_json_clean(data),
                        metadata=_json_clean(md),
                        execution_count=capture_ref[0].execution_count,
                    )
                )
            self._bundle = None

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw) -> None:
            capture_ref[0].add(
                nbformat.v4.new_output("display_data", data=_json_clean(data), metadata=_json_clean(metadata or {}))
            )

        def clear_output(self, wait=False) -> None:
            capture_ref[0].outputs.clear()

    cfg = Config()
    cfg.HistoryManager.enabled = False  # no ~/.ipython history database
    cfg.InteractiveShell.colors = "nocolor"
    cfg.InteractiveShell.autocall = 0
    # the singleton: IPython.display.display() publishes through InteractiveShell.instance()
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=cfg, displayhook_class=Hook)
    shell.display_pub = Publisher(shell=shell)

    def showtraceback(etype, evalue, stb) -> None:
        capture_ref[0].add(
            nbformat.v4.new_output("error", ename=etype.__name__, evalue=str(evalue), traceback=list(stb))
        )

    shell._showtraceback = showtraceback
    # Libraries ask whether they run in a kernel (pandas: then it wraps wide frames rather than
    # fitting them to a terminal): they do, as far as their output goes.
    shell.kernel = None
    # pandas chooses display.max_columns once, when it is imported: 20 in a kernel, 0 (fit the
    # terminal) otherwise. Imported before this shell existed (belmig.core.forkserver preloads it),
    # it chose the terminal's: give it the kernel's, so a stage prints wide frames the same way.
    pd = sys.modules.get("pandas")
    if pd is not None:
        pd.set_option("display.max_columns", 20)
    return shell


def execute(nb: NotebookNode, params: dict[str, Any], cwd: Path) -> NotebookNode:
    """Parameterise `nb` and run its code cells in order, in `cwd`; return the executed notebook.
    Raises :class:`CellError` at the first failing cell (later cells are left unexecuted)."""
    nb = parameterize(nb, params)
    nb.metadata["language_info"] = dict(LANGUAGE_INFO)
    ref = [_Capture()]
    shell = _shell(ref)
    old_cwd, old_out, old_err = os.getcwd(), sys.stdout, sys.stderr
    try:
        os.chdir(cwd)
        with _matplotlib_agg():
            for cell in nb.cells:
                cell.metadata["papermill"] = {}
                cell.metadata.setdefault("tags", [])
                if cell.cell_type != "code":
                    continue
                cell.outputs, cell.execution_count = [], None
                if not cell.source.strip():
                    continue
                ref[0] = capture = _Capture(shell.execution_count)
                sys.stdout = _Stream(capture, "stdout", old_out)
                sys.stderr = _Stream(capture, "stderr", old_err)
                try:
                    result = shell.run_cell(cell.source, store_history=True, silent=False)
                finally:
                    sys.stdout, sys.stderr = old_out, old_err
                cell.execution_count = capture.execution_count
                cell.outputs = capture.outputs
                if not result.success:
                    err = result.error_in_exec or result.error_before_exec
                    raise CellError(cell.execution_count, type(err).__name__, str(err), nb) from None
    finally:
        sys.stdout, sys.stderr = old_out, old_err
        os.chdir(old_cwd)
        type(shell).clear_instance()
    return nb


@contextlib.contextmanager
def _matplotlib_agg():
    """A kernel draws with the inline backend; in-process a figure must never open a window."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    yield
