"""Opt-in trace of the files a stage job opens, for the declared-inputs test (tests/test_io_declared.py).

With ``BELMIG_TRACE_IO=<dir>`` in the environment, every process that imports ``belmig`` (a
job's ``python -m belmig...`` and the notebook kernel it starts) records the files it opens,
renames and removes, one JSON line per event, in ``<dir>/<job>.<pid>.jsonl``. ``<job>`` is the
pid of the job's first process (inherited by its children through ``BELMIG_TRACE_JOB``); that
process also records its command line, which the test matches to the job's printed shell command.
The Snakemake process itself is never traced (it imports belmig from the Snakefile).

What it sees: Python's audit events ``open`` (``open()``, ``os.open``, ``io.open_code``),
``os.rename`` (also ``os.replace``), ``os.remove``, ``shutil.copyfile`` and ``subprocess.Popen``.
Libraries that open files in C (pyarrow's Parquet and CSV readers and writers, which pandas uses
for ``read_parquet``/``to_parquet``; pyreadstat) raise no audit event: their entry points are
wrapped while tracing and record the path they were given. Files a subprocess (pandoc, typst)
opens are not seen; the Popen event records its command line.

Off (the default) this module is not even imported.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import json
import os
import sys
import threading

ENV_DIR = "BELMIG_TRACE_IO"
ENV_JOB = "BELMIG_TRACE_JOB"

# Entry points of C readers/writers: module -> {name: (kind, index of the path argument, keyword)}.
# kind "mode": read or write as the ``mode`` argument (after the path) says.
NATIVE: dict[str, dict[str, tuple[str, int, str]]] = {
    "pyarrow": {
        "OSFile": ("mode", 0, "path"),  # pandas' to_parquet opens its target with pa.OSFile
        "memory_map": ("mode", 0, "path"),
        "input_stream": ("read", 0, "source"),
        "output_stream": ("write", 0, "source"),
    },
    "pyarrow.parquet": {
        "read_table": ("read", 0, "source"),
        "read_pandas": ("read", 0, "source"),
        "read_metadata": ("read", 0, "where"),
        "read_schema": ("read", 0, "where"),
        "ParquetFile": ("read", 0, "source"),
        "ParquetDataset": ("read", 0, "path_or_paths"),
        "write_table": ("write", 1, "where"),
        "write_to_dataset": ("write", 1, "root_path"),
        "ParquetWriter": ("write", 0, "where"),
    },
    "pyarrow.csv": {
        "read_csv": ("read", 0, "input_file"),
        "open_csv": ("read", 0, "input_file"),
        "write_csv": ("write", 1, "output_file"),
        "CSVWriter": ("write", 0, "sink"),
    },
    "pyreadstat": {
        "read_sav": ("read", 0, "filename_path"),
        "read_dta": ("read", 0, "filename_path"),
        "read_por": ("read", 0, "filename_path"),
        "read_sas7bdat": ("read", 0, "filename_path"),
        "read_xport": ("read", 0, "filename_path"),
        "write_sav": ("write", 1, "dst_path"),
        "write_dta": ("write", 1, "dst_path"),
        "write_por": ("write", 1, "dst_path"),
        "write_xport": ("write", 1, "dst_path"),
    },
}

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_state = threading.local()
_installed = False
_out = None
_lock = threading.Lock()


def _path(p) -> str | None:
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    elif hasattr(p, "__fspath__"):
        p = os.fspath(p)
        if isinstance(p, bytes):
            p = os.fsdecode(p)
    if not isinstance(p, str) or not p or "://" in p:
        return None
    return os.path.abspath(p)


def _emit(record: dict) -> None:
    if _out is None:
        return
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with _lock:
        _out.write(line)


def _is_write(mode, flags) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return bool(isinstance(flags, int) and flags & _WRITE_FLAGS)


def _hook(event: str, args: tuple) -> None:
    if getattr(_state, "busy", False):
        return
    if event not in ("open", "os.rename", "os.remove", "shutil.copyfile", "subprocess.Popen"):
        return
    _state.busy = True
    try:
        if event == "open":
            path = _path(args[0])
            if path is not None:
                _emit({"ev": "write" if _is_write(args[1], args[2]) else "read", "path": path})
        elif event == "os.rename":
            src, dst = _path(args[0]), _path(args[1])
            if src and dst:
                _emit({"ev": "rename", "src": src, "dst": dst})
        elif event == "os.remove":
            path = _path(args[0])
            if path:
                _emit({"ev": "remove", "path": path})
        elif event == "shutil.copyfile":
            src, dst = _path(args[0]), _path(args[1])
            if src and dst:
                _emit({"ev": "read", "path": src})
                _emit({"ev": "write", "path": dst})
        elif event == "subprocess.Popen":
            cmd = args[1]
            cmd = (
                [os.fsdecode(c) if isinstance(c, bytes) else str(c) for c in cmd]
                if isinstance(cmd, list | tuple)
                else str(cmd)
            )
            _emit({"ev": "exec", "args": cmd})
    except Exception:  # a trace must never break the job it watches
        pass
    finally:
        _state.busy = False


def _record(via: str, kind: str, index: int, keyword: str, args: tuple, kwargs: dict) -> None:
    path = _path(args[index] if len(args) > index else kwargs.get(keyword))
    if path is None:
        return
    if kind == "mode":
        mode = args[index + 1] if len(args) > index + 1 else kwargs.get("mode", "r")
        kind = "write" if _is_write(mode, None) else "read"
    _emit({"ev": kind, "path": path, "via": via})


def _wrap(fn, kind: str, index: int, keyword: str):
    via = f"{fn.__module__}.{fn.__name__}"
    if isinstance(fn, type):  # a class: subclass it, so isinstance checks keep working

        class Traced(fn):
            def __init__(self, *args, **kwargs):
                _record(via, kind, index, keyword, args, kwargs)
                if fn.__init__ is not object.__init__:  # C types take their arguments in __cinit__
                    super().__init__(*args, **kwargs)

        Traced.__name__ = Traced.__qualname__ = fn.__name__
        Traced.__module__ = fn.__module__
        Traced.__belmig_traced__ = True
        return Traced

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        _record(via, kind, index, keyword, args, kwargs)
        return fn(*args, **kwargs)

    traced.__belmig_traced__ = True
    return traced


def _patch(module) -> None:
    for name, (kind, index, keyword) in NATIVE.get(module.__name__, {}).items():
        fn = getattr(module, name, None)
        if fn is not None and not fn.__dict__.get("__belmig_traced__", False):
            setattr(module, name, _wrap(fn, kind, index, keyword))


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Wraps the C readers' entry points as soon as their module is imported."""

    def find_spec(self, name, path=None, target=None):
        if name not in NATIVE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                loader = spec.loader
                original = loader.exec_module

                def exec_module(module, _original=original):
                    _original(module)
                    _patch(module)

                loader.exec_module = exec_module
                return spec
        return None


def _write_site(trace_dir: str) -> str:
    """A ``sitecustomize`` that starts the trace in every child Python (the notebook kernel) at startup."""
    site = os.path.join(trace_dir, "_site")
    os.makedirs(site, exist_ok=True)
    shim = os.path.join(site, "sitecustomize.py")
    if not os.path.exists(shim):
        tmp = f"{shim}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(
                "try:\n    import belmig.core.iotrace as _t\nexcept ImportError:  # a Python without belmig\n"
                "    pass\nelse:\n    _t.install()\n"
            )
        os.replace(tmp, shim)
    return site


def install() -> bool:
    """Start tracing this process if ``BELMIG_TRACE_IO`` is set (idempotent); return whether it traces."""
    global _installed, _out
    trace_dir = os.environ.get(ENV_DIR)
    if _installed or not trace_dir or "snakemake.workflow" in sys.modules:
        return _installed
    trace_dir = os.path.abspath(trace_dir)
    os.makedirs(trace_dir, exist_ok=True)
    site = _write_site(trace_dir)
    if site not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (site, os.environ.get("PYTHONPATH")) if p)
    first = ENV_JOB not in os.environ
    job = os.environ.setdefault(ENV_JOB, str(os.getpid()))
    _out = open(os.path.join(trace_dir, f"{job}.{os.getpid()}.jsonl"), "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    _emit({"ev": "start", "job": job, "root": first, "argv": list(sys.orig_argv), "cwd": os.getcwd()})
    for name in NATIVE:
        if name in sys.modules:
            _patch(sys.modules[name])
    sys.meta_path.insert(0, _PatchOnImport())
    sys.addaudithook(_hook)
    _installed = True
    return True
