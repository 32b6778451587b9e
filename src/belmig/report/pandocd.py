"""pandoc kept warm between builds, in the render server (belmig.report.typstd).

A build's render ran pandoc three times per edition on the whole text: each run read the 160 KB of
Markdown again (0.3–0.45 s of its 0.5–0.75 s), though an edit touches one section. Here the
render server keeps one ``pandoc lua`` process per edition and writer (``pandoc_worker.lua``).
It keeps every section's AST (the text cut before its headers of levels 1 to 3 and after
each captioned table, by :func:`belmig.report.pandocast.sections_after_tables`) and re-reads
only the sections whose text changed. The Lua filter (report/filters/crossref.lua, in its steps)
and the writer run again only on the sections whose text or numbering changed: Typst and HTML
write a document's blocks one after the other, so the body is the sections' texts joined, and the
template around it is kept while the headers (the table of contents) are the same. An edited
text's Typst or HTML takes 0.03–0.1 s (0.5–0.75 s on the command line); the DOCX, written whole
from the kept filter output, 0.2–0.4 s.

The command line stays the one description of a conversion. :func:`request_for` translates its
arguments, and declines any it does not know. The worker's output is the command line's, byte
for byte: the same reader options (pandoc's default abbreviations, a standalone document), the
``--metadata-file`` values as defaults under the text's own, and the writer's template, contents
and variables. tests/test_pandocd.py compares all three editions in every writer.

Anything the worker cannot do returns None, and the caller runs the pandoc command line. This
covers a server that is off or unreachable, a text whose sections cannot stand for the whole,
and an error. So an error message is always pandoc's own.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from pathlib import Path

from belmig.report.pandocast import sections_after_tables

WORKER = Path(__file__).with_name("pandoc_worker.lua")
MAX_RSS_MIB = 1024  # a worker holding more after a conversion is stopped (the next starts afresh)
MAX_WORKERS = 9  # three editions' writers: a tenth stops the least recently used
DEPTH = 3  # the text is cut before its headers of levels 1-3 (the appendix alone was half of it)
BINARY = {"docx"}  # writers whose output is bytes: the worker writes the file


def request_for(args: list[str], output: Path | None = None) -> dict | None:
    """The worker's request for ``pandoc --from=markdown --to=<args[0]> <args[1:]>``, or None
    when an argument is not one this module translates."""
    req: dict = {"to": args[0], "variables": {}}
    standalone = args[0] in BINARY
    template = None
    rest = iter(args[1:])
    for a in rest:
        name, _, value = a.partition("=")
        if a == "--standalone":
            standalone = True
        elif name == "--template" and value:
            template = Path(value).read_text(encoding="utf-8")
        elif name == "--lua-filter" and value and "filter" not in req:
            req["filter"] = str(Path(value).resolve())
        elif a == "--metadata-file" and "meta" not in req:
            req["meta"] = Path(next(rest)).read_text(encoding="utf-8")
        elif name == "--css" and value:
            req["variables"].setdefault("css", []).append(value)
        elif name == "--wrap" and value in ("auto", "none", "preserve"):
            req["wrap"] = value
        elif a == "--toc":
            req["toc"] = True
        elif name == "--toc-depth" and value.isdigit():
            req["toc_depth"] = int(value)
        elif name == "--resource-path" and value and ":" not in value:
            req["cwd"] = str(Path(value).resolve())
        elif name == "--include-before-body" and value:
            req["variables"].setdefault("include-before", []).append(Path(value).read_text(encoding="utf-8"))
        else:
            return None
    if "filter" not in req:
        return None
    # what the command line sets for a text on stdin (a page without a title is titled by them)
    req["variables"] |= {"sourcefile": "-", "outputfile": "-" if output is None else str(output)}
    if req.get("toc"):
        req.setdefault("toc_depth", 3)
    if args[0] in BINARY:
        if output is None:
            return None
        req["output"] = str(Path(output).resolve())
    elif standalone:
        req["template"] = template  # None: the writer's default template
        req["standalone"] = True
    elif template is not None:
        return None
    return req


def convert(pandoc: str, args: list[str], markdown: str, *, key: str, output: Path | None = None,
            epoch: int | None = None, detail: dict | None = None) -> str | None:  # fmt: skip
    """`markdown` converted by the warm worker `key` (one per edition and writer): the text
    (or "" once `output` is written), or None when the command line must do it. `detail`, when
    given, gets "joined": whether the text was put together from the sections' texts."""
    from belmig.report import typstd

    if not typstd.enabled():
        return None
    try:
        req = request_for(args, output)
    except OSError:
        return None
    if req is None:
        return None
    cut = sections_after_tables(markdown, DEPTH)
    req |= {"op": "pandoc", "pandoc": pandoc, "key": key, "epoch": epoch}
    for parts, after in (cut or ([markdown], [False]), ([markdown], [False])):
        try:
            reply = typstd.ask(req | {"sections": parts, "after_table": after})
        except typstd.Unavailable:
            return None
        if "text" in reply:
            if detail is not None:
                detail["joined"] = bool(reply.get("joined"))
            return reply["text"]
        if "ok" in reply:
            return ""
        if not reply.get("whole"):
            return None  # an error: the command line says it in pandoc's words
    return None


# ---------------------------------------------------------------------------------------------
# Server side (in the render server's process)


_SOURCE: list[bytes] = []  # the worker's Lua, read as the server starts (serving())


def serving() -> None:
    """In the render server, as it starts: read the worker's Lua now, for the server outlives the
    checkout that started it (the test suite's and the benchmark's copies are deleted)."""
    if not _SOURCE:
        _SOURCE.append(WORKER.read_bytes())


def _script() -> str:
    """The worker's Lua file: a copy in the server's private folder."""
    import hashlib

    from belmig.core import atomic, forkserver

    serving()
    source = _SOURCE[0]
    path = Path(forkserver.runtime_dir()) / f"pandoc_worker-{hashlib.sha256(source).hexdigest()[:16]}.lua"
    if not path.is_file() or path.read_bytes() != source:
        atomic.write_bytes(path, source)
    return str(path)


class Worker:
    """One ``pandoc lua pandoc_worker.lua`` process and its pipes (one request at a time)."""

    def __init__(self, pandoc: str, epoch: int | None):
        env = dict(os.environ)
        if epoch is not None:
            env["SOURCE_DATE_EPOCH"] = str(epoch)
        self.proc = subprocess.Popen(
            [pandoc, "lua", _script(), pandoc],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd="/",
        )
        self.lock = threading.Lock()

    def ask(self, request: dict) -> dict:
        import json

        body = json.dumps(request, ensure_ascii=False).encode("utf-8")
        self.proc.stdin.write(b"%d\n" % len(body) + body)
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise EOFError("the pandoc worker went away")
        data = self.proc.stdout.read(int(line))
        return json.loads(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def rss_mib(pid: int | str = "self") -> float:
    """The resident memory of a process (this one by default), in MiB; 0 when unknown."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


_WORKERS: dict[tuple, Worker] = {}  # by pandoc, edition and writer; the most recently used last
_GUARD = threading.Lock()


def _drop(wkey: tuple, worker: Worker) -> None:
    with _GUARD:
        if _WORKERS.get(wkey) is worker:
            del _WORKERS[wkey]
    worker.close()


def handle(req: dict) -> dict:
    """Answer one request in the server (a thread per request; one at a time per worker)."""
    epoch = req.pop("epoch", None)
    wkey = (req.pop("pandoc"), req.pop("key"), req["to"], epoch)
    req.pop("op", None)
    idle: list[tuple[tuple, Worker]] = []
    with _GUARD:
        worker = _WORKERS.pop(wkey, None)
        if worker is None or worker.proc.poll() is not None:
            # the editions of the test suite's copies come and go: keep the workers of the last few
            idle = [(k, w) for k, w in _WORKERS.items() if not w.lock.locked()][
                : max(0, len(_WORKERS) + 1 - MAX_WORKERS)
            ]
            worker = Worker(wkey[0], epoch)
        _WORKERS[wkey] = worker
    for k, w in idle:
        _drop(k, w)
    with worker.lock:
        try:
            reply = worker.ask(req)
        except (OSError, EOFError, ValueError) as exc:
            _drop(wkey, worker)
            return {"error": f"the pandoc worker failed: {exc!r}"}
        if rss_mib(worker.proc.pid) > float(os.environ.get("BELMIG_PANDOC_WORKER_MAX_RSS", MAX_RSS_MIB)):
            _drop(wkey, worker)
    return reply


def close_all() -> None:
    with _GUARD:
        workers = list(_WORKERS.values())
        _WORKERS.clear()
    for w in workers:
        w.close()
