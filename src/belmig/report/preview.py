"""``make preview``: one warm process that watches the report, checks it and re-renders on save.

    make preview            # English: report/report.qmd -> http://127.0.0.1:8000/report.html
    make preview LANG=ru    # report/report.ru.qmd -> report.ru.html / .pdf

What it shows is what ``make report`` builds, byte for byte: the same checks (``build.check``, key
grammar included) and the same renderer (``build.render_edition``: withheld values marked, the
same provenance stamp) on the same ledger, disclosure decisions, tables and figures the last build
left (tests/test_report_loop.py compares the files). On every save of the edition, an included
file, claims.yaml, lexicon.yaml, the template, the filter or the stylesheet it re-runs the checks
in a process forked from this one at start (warm ledger, guards and lexicon) while the HTML renders
(problems are printed and the render dropped: the last good HTML and PDF stay), then the PDF; when
the HTML is in place the browser reloads (a small polling script injected into the served page,
not into the file). Served on localhost only (plain http.server, no internet).

Speed (benchmarks/bench_preview.py; benchmarks/README.md "preview"): pandoc re-reads only the
sections of the text that changed (``belmig.report.pandocast.SectionCache``: the AST cached by
top-level section, the writer and the Lua filter run once on the whole document), the HTML's
stylesheet is embedded in Python as ``--embed-resources`` would (``pandocast.self_contained``),
the Typst compiler is kept with its fonts (``render._typst_compiler``), and the checks reuse the
parsed claims.yaml and lexicon. All of it gives the build's bytes (tests/test_preview_fast.py).
Ledger or data changes need ``make report`` (the preview says so when the ledger file changes).
"""

from __future__ import annotations

import contextlib
import http.server
import io
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from belmig.core import paths

# Disclosure control's decisions (rule protect_values): the text prints "–" for a withheld value.
PUBLIC_VALUES = paths.PROCESSED / "public_values.json"

RELOAD_JS = b"""<script>(function(){var v=null;function poll(){fetch('/__version').then(function(r){return r.json()})
.then(function(s){if(v!==null&&s.html!==v){location.reload()}v=s.html;var e=document.getElementById('__preview_err');
if(s.error){if(!e){e=document.createElement('pre');e.id='__preview_err';e.style.cssText='position:fixed;bottom:0;left:0;right:0;max-height:40vh;overflow:auto;margin:0;padding:.6em;background:#fde;border-top:2px solid #c00;font-size:12px;z-index:99';document.body.appendChild(e)}e.textContent=s.error}
else if(e){e.remove()}}).catch(function(){}).finally(function(){setTimeout(poll,250)})}poll()})();</script>"""


@dataclass
class State:
    html: int = 0  # incremented after each refreshed HTML
    pdf: int = 0
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> dict:
        with self.lock:
            return {"html": self.html, "pdf": self.pdf, "error": self.error}


def _handler(state: State, directory: Path):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(directory), **kw)

        def log_message(self, *a):  # quiet
            pass

        def do_GET(self):  # noqa: N802
            if self.path.startswith("/__version"):
                body = json.dumps(state.snapshot()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path.split("?")[0].endswith(".html"):
                target = directory / self.path.split("?")[0].lstrip("/")
                if target.is_file():
                    data = target.read_bytes().replace(b"</body>", RELOAD_JS + b"</body>", 1)
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Cache-Control", "no-store")
                    self.end_headers()
                    self.wfile.write(data)
                    return
            super().do_GET()

    return Handler


class Preview:
    """Check and render one edition, reusing the loaded ledger, codebook and generated tables."""

    def __init__(self, lang: str = "en", pdf: bool = True):
        from belmig.core import codebook, config, ledger
        from belmig.report import editions

        self.ed = editions.edition(lang)
        self.pdf = pdf
        self.cfg = config.load()
        self.entries = ledger.load(paths.LEDGER)
        self.cb = codebook.load(paths.CODEBOOK)
        self.publication = self._publication()
        self.guards = editions.guards_path()
        self.lexicon = editions.lexicon_path()
        sfx = self.ed.suffix
        self.out_html = paths.REPORT / f"report{sfx}.html"
        self.out_pdf = paths.REPORT / f"report{sfx}.pdf"
        self.generated = self._generated_from_disk()
        self.state = State()
        from belmig.report import pandocast, render

        self.ast = pandocast.SectionCache(render.pandoc_binary())
        self._checker_conn = None  # the pipe to the checks' process (start_checker)
        self.checks_cpu = 0.0  # CPU seconds the checks' process has used

    @staticmethod
    def _publication():
        """The last build's disclosure decisions (rule protect_values), None before there are any."""
        from belmig.privacy import publish

        path = PUBLIC_VALUES
        return publish.load(path) if path.exists() else None

    def _generated_from_disk(self) -> dict[str, str]:
        d = paths.REPORT / "_generated"
        return {p.name: p.read_text(encoding="utf-8") for p in sorted(d.glob("*.md"))} if d.exists() else {}

    def watched(self) -> list[Path]:
        from belmig.report import render

        st = self.ed.qmd.stat()
        key = (st.st_mtime_ns, st.st_size)
        if getattr(self, "_includes", (None, []))[0] != key:  # re-read the text only when it changed
            text = self.ed.qmd.read_text(encoding="utf-8")
            self._includes = (key, [self.ed.qmd.parent / m.group(1) for m in render.INCLUDE_RE.finditer(text)])
        inc = self._includes[1]
        d = paths.REPORT
        return [self.ed.qmd, self.guards, self.lexicon, self.ed.allowlist, d / "template.typ",
                d / "filters" / "crossref.lua", d / "style.css", paths.LEDGER, *inc]  # fmt: skip

    def check(self) -> str | None:
        """The problems as text (None when the edition passes)."""
        from belmig.report import build

        try:
            result = build.check(
                self.ed.qmd,
                self.entries,
                self.ed.allowlist,
                self.cfg["report"],
                guards_path=self.guards,
                lexicon_path=self.lexicon,
                generated=self.generated,
                codebook=self.cb,
            )
        except build.ReportCheckError as exc:
            return str(exc)
        if result.warnings:
            print(result.message(), flush=True)
        return None

    def staged(self, which: str) -> Path:
        """Where a render goes before the checks have passed (beside its output, renamed onto it)."""
        out = self.out_pdf if which == "pdf" else self.out_html
        return out.with_name(f".{out.name}.preview")

    def render(self, which: str, out: Path | None = None) -> str | None:
        """Render the HTML or the PDF to `out` (default: the edition's file); the error text or None."""
        from belmig.report import build, render

        out = out or (self.out_pdf if which == "pdf" else self.out_html)
        try:
            build.render_edition(
                self.ed.qmd,
                self.entries,
                self.publication,
                Path(self.cfg["raw_export"]),
                self.cfg,
                out_pdf=out if which == "pdf" else None,
                out_html=out if which == "html" else None,
                codebook=self.cb,
                ast=self.ast,
            )
        except render.RenderError as exc:
            return str(exc)
        return None

    def start_checker(self) -> None:
        """Fork the process that runs the checks, while this one has no other thread (a fork taken
        later would copy the locks the HTTP server and the renderers hold). It keeps the ledger,
        the guards and the lexicon warm; the HTML renders here meanwhile, not sharing this
        interpreter with them. Without fork the checks run here."""
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._checker_conn, child = ctx.Pipe()
        self._checker = ctx.Process(target=_serve_checks, args=(self, child), daemon=True, name="preview-checks")
        self._checker.start()
        child.close()

    def reload(self) -> None:
        """Read the ledger, the generated tables and the disclosure decisions again (here and in
        the checker)."""
        from belmig.core import ledger

        self.entries = ledger.load(paths.LEDGER)
        self.generated = self._generated_from_disk()
        self.publication = self._publication()
        if self._checker_conn is not None:
            self._checker_conn.send("reload")

    def _start_check(self) -> bool:
        if self._checker_conn is None:
            return False
        try:
            self._checker_conn.send("check")
            return True
        except OSError:
            self._checker_conn = None
            return False

    def _finish_check(self, started: bool) -> str | None:
        if started:
            try:
                err, printed, cpu = self._checker_conn.recv()
                self.checks_cpu += cpu
                if printed:
                    print(printed, end="", flush=True)
                return err
            except (EOFError, OSError):
                print("the checks' process stopped: checking here from now on", file=sys.stderr, flush=True)
                self._checker_conn = None
        return self.check()

    def cycle(self) -> dict[str, float]:
        """Check the text while the HTML renders beside its file; when the checks pass it is renamed
        onto its file, then the PDF renders and replaces its file. When the checks fail the render is
        dropped and the last good files stay. Returns the timings from the save (seconds)."""
        t0 = time.perf_counter()
        times: dict[str, float] = {}
        which = ["html", "pdf"] if self.pdf else ["html"]
        errors: dict[str, str | None] = {}

        def work(kind: str) -> None:
            try:
                errors[kind] = self.render(kind, self.staged(kind))
            except Exception as exc:  # noqa: BLE001 - e.g. a text caught half-written: shown, kept going
                errors[kind] = f"rendering failed: {exc!r}"

        # The checks run in the checks' process (start_checker) while the HTML renders (pandoc, a child process); the PDF starts when the HTML is
        # in place.
        workers = {k: threading.Thread(target=work, args=(k,), daemon=True) for k in which}
        started = self._start_check()
        workers["html"].start()
        err = self._finish_check(started)
        times["check"] = time.perf_counter() - t0
        if err:
            workers["html"].join()
            for k in which:
                self.staged(k).unlink(missing_ok=True)
            with self.state.lock:
                self.state.error = err + "\n(the last good HTML and PDF are kept)"
            print(err + "\n(the last good HTML and PDF are kept)", file=sys.stderr, flush=True)
            return times
        for k in which:
            if k == "pdf":  # after the HTML: on a busy machine the two would share the cores it waits for
                workers[k].start()
            workers[k].join()
            if errors[k] is None:
                self.staged(k).replace(self.out_html if k == "html" else self.out_pdf)
            times[k] = time.perf_counter() - t0
            with self.state.lock:
                if errors[k]:
                    self.state.error = errors[k]
                elif k == "html":
                    self.state.error = ""
                    self.state.html += 1
                else:
                    self.state.pdf += 1
            if errors[k]:
                print(errors[k], file=sys.stderr, flush=True)
        return times


def _serve_checks(pv: Preview, conn) -> None:
    """The checks' process: check on every "check", send (problems, printed warnings, CPU seconds)."""
    if pv._checker_conn is not None:  # the preview's end: closed here, so its exit is seen as EOF
        pv._checker_conn.close()
        pv._checker_conn = None
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):  # the preview has gone, or Ctrl-C
            return
        if msg == "reload":
            from belmig.core import ledger

            pv.entries = ledger.load(paths.LEDGER)
            pv.generated = pv._generated_from_disk()
            pv.publication = pv._publication()
            continue
        printed = io.StringIO()
        cpu = time.process_time()
        try:
            with contextlib.redirect_stdout(printed):
                err = pv.check()
        except Exception as exc:  # noqa: BLE001 - reported by the preview
            err = f"the checks failed: {exc!r}"
        conn.send((err, printed.getvalue(), time.process_time() - cpu))


def _mtimes(files: list[Path]) -> dict[Path, int]:
    return {f: (f.stat().st_mtime_ns if f.exists() else -1) for f in files}


def main(lang: str = "en", port: int = 8000, *, pdf: bool = True, once: bool = False) -> int:
    if not paths.LEDGER.exists():
        print(f"{paths.rel(paths.LEDGER)} does not exist: run `make report` once first", file=sys.stderr)
        return 2
    pv = Preview(lang, pdf)
    if not once:
        pv.start_checker()  # now, while this process has one thread
    times = pv.cycle()
    print(f"{paths.rel(pv.ed.qmd)}: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()), flush=True)
    if once:
        return 1 if pv.state.error else 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler(pv.state, paths.REPORT))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(
        f"preview: http://127.0.0.1:{port}/{pv.out_html.name} (PDF: {paths.rel(pv.out_pdf)}); Ctrl-C stops", flush=True
    )
    seen = _mtimes(pv.watched())
    ledger_mtime = seen.get(paths.LEDGER)
    try:
        while True:
            time.sleep(0.02)  # a save is seen within 20 ms (a stat of a dozen files per look)
            now = _mtimes(pv.watched())
            if now == seen:
                continue
            while (later := _mtimes(pv.watched())) != now:  # still being written: wait for the last write
                now = later
                time.sleep(0.01)
            seen = now
            if now.get(paths.LEDGER) != ledger_mtime:
                ledger_mtime = now.get(paths.LEDGER)
                print("the ledger changed: reloading it (run `make report` for new data and charts)", flush=True)
                pv.reload()
            before, checks_cpu = os.times(), pv.checks_cpu
            times = pv.cycle()
            cpu = sum(b - a for a, b in zip(before[:4], os.times()[:4], strict=True)) + pv.checks_cpu - checks_cpu
            print("saved: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()) + f", cpu {cpu:.2f} s", flush=True)
    except KeyboardInterrupt:
        server.shutdown()
    return 0
