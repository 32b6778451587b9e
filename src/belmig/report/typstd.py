"""A Typst compiler that stays warm between builds: the PDF of an edited text in ~0.1 s, not ~1 s.

Typst keeps what it laid out in memory (comemo) and reuses it when a recompile's input is mostly
the same: a one-paragraph edit of the report recompiles in 0.1–0.15 s, a cold compile takes
0.7–1.2 s (measured on the 37-page report). A render job is a new process each build, so each
compiled cold. Here one server process per interpreter and install keeps a ``typst.Compiler``
per ``.typ`` file and compiles for every job (English and both editions, in threads: Typst
releases the GIL); the job waits for its PDF.

The PDF is the one a fresh ``typst.Compiler`` writes: Typst's output depends on its inputs
alone (tests/test_typstd.py compiles an edited text warm and cold and compares the bytes).
The same server keeps pandoc warm for the renders' conversions (requests with ``op: pandoc``,
answered by belmig.report.pandocd in a thread each).

The protocol is belmig.core.forkserver's (a length, then marshal data, over a unix socket in the
same private folder). The server's name is a digest of the interpreter, this file, pandocd's
two files, requirements.lock and the site-packages listing: a reinstall gets a new server. It exits after
``IDLE`` seconds without a compile, or after a compile that left it holding more than
``MAX_RSS_MIB`` (or ``$BELMIG_TYPST_SERVER_MAX_RSS``; Typst's caches grow with every revision it has seen; the next job starts a fresh
server). Anything wrong with the server (none can start, it went away, ``BELMIG_TYPST_SERVER=0``,
or ``BELMIG_TRACE_IO``, whose audit hook must see the compile's reads) and the job compiles
in its own process, as before.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path

from belmig.core import forkserver

IDLE = 600  # seconds without a compile before the server exits
MAX_RSS_MIB = 1536  # a server holding more after a compile exits (the next job starts another)
START_TIMEOUT = 30


class Unavailable(Exception):
    """No server: compile in this process."""


def enabled(env=None) -> bool:
    env = os.environ if env is None else env
    return env.get("BELMIG_TYPST_SERVER", "1") != "0" and not env.get("BELMIG_TRACE_IO")


def socket_path() -> str:
    from hashlib import sha256

    h = sha256()
    h.update(sys.executable.encode() + b"\0")
    here = Path(__file__).parent
    for name in (Path(__file__).name, "pandocd.py", "pandoc_worker.lua"):  # the server's code
        h.update((here / name).read_bytes())
    h.update(forkserver.server_key({}).encode())  # interpreter, lock file, site-packages
    return os.path.join(forkserver.runtime_dir(), f"typst-{h.hexdigest()[:20]}.sock")


def _start(path: str):
    """Start the server (under a lock, detached) and connect to it."""
    import fcntl
    import subprocess

    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return forkserver._connect(path)
        except OSError:
            pass
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        r, w = os.pipe()
        with open(path + ".log", "ab") as log:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # this checkout's src/
            # through sh, which leaves the server running in the background and exits: the server
            # is no child of this process, so nothing here waits for it (a thread that reaped it
            # kept this process from forking its checks: render.while_checking)
            proc = subprocess.Popen(
                [
                    "/bin/sh",
                    "-c",
                    '"$@" &',
                    "sh",
                    sys.executable,
                    "-m",
                    "belmig.report.typstd",
                    "--serve",
                    path,
                    str(w),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(w,),
                start_new_session=True,
                cwd="/",
                env=env,
            )
        os.close(w)
        import select

        proc.wait()
        ok = select.select([r], [], [], START_TIMEOUT)[0] and os.read(r, 1)
        os.close(r)
        if not ok:
            raise Unavailable("the Typst server did not start")
        return forkserver._connect(path)


def ask(request: dict) -> dict:
    """One request to the server (started when there is none); raises Unavailable when there is
    no server to ask."""
    if not enabled():
        raise Unavailable("disabled")
    try:
        path = socket_path()
        try:
            sock = forkserver._connect(path)
        except OSError:
            sock = _start(path)
        try:  # forkserver's socket is the C one: no context manager
            forkserver._send(sock, request)
            reply, _ = forkserver._recv(sock)
        finally:
            sock.close()
    except (OSError, EOFError, ValueError) as exc:
        raise Unavailable(repr(exc)) from None
    return reply


def compile_pdf(typ: Path, root: Path, output: Path, timestamp: int) -> None:
    """Compile `typ` to `output` in the warm server; raises RuntimeError with Typst's message
    when the text does not compile, Unavailable when there is no server to ask."""
    reply = ask(
        {
            "typ": str(Path(typ).resolve()),
            "root": str(Path(root).resolve()),
            "output": str(Path(output).resolve()),
            "timestamp": int(timestamp),
        }
    )
    if "error" in reply:
        raise RuntimeError(reply["error"])


# ---------------------------------------------------------------------------------------------
# Server


def serve(path: str, ready_fd: int | None = None, idle: float = IDLE) -> None:
    import time

    import typst

    from belmig.report import pandocd

    pandocd.serving()
    compilers: dict[tuple[str, str], object] = {}
    locks: dict[tuple[str, str], threading.Lock] = {}
    guard = threading.Lock()
    busy = [0]  # compiles under way
    last = [time.monotonic()]  # when the last one ended
    done = threading.Event()  # set once the server holds too much memory

    def compile_one(req) -> dict:
        key = (req["typ"], req["root"])
        with guard:
            lock = locks.setdefault(key, threading.Lock())
        with lock:
            if key not in compilers:
                compilers[key] = typst.Compiler(req["typ"], root=req["root"], font_paths=[], ignore_system_fonts=True)
            try:
                compilers[key].compile(output=req["output"], timestamp=req["timestamp"])
                return {"ok": True}
            except Exception as exc:  # Typst's own error, with its diagnostics
                return {"error": str(exc)}

    def handle(conn) -> None:
        try:
            req, _ = forkserver._recv(conn)
            with guard:
                busy[0] += 1
            try:
                reply = pandocd.handle(req) if req.get("op") == "pandoc" else compile_one(req)
            finally:
                with guard:
                    busy[0] -= 1
                    last[0] = time.monotonic()
            forkserver._send(conn, reply)
            if pandocd.rss_mib() > float(os.environ.get("BELMIG_TYPST_SERVER_MAX_RSS", MAX_RSS_MIB)):
                done.set()
        except Exception as exc:  # a client that went away: nothing to answer
            print(f"request failed: {exc!r}", flush=True)
        finally:
            conn.close()

    srv, ino = forkserver.listen(path, 16, ready_fd)
    srv.settimeout(1.0)
    try:
        while not done.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                with guard:
                    if busy[0] == 0 and time.monotonic() - last[0] > idle:
                        break
                continue
            if not forkserver.owns(path, ino):
                conn.close()
                break  # replaced or removed: another server owns the name
            conn.settimeout(None)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
    finally:
        forkserver.release(srv, path, ino)
        deadline = time.monotonic() + 60  # let the compiles under way answer
        while busy[0] and time.monotonic() < deadline:
            time.sleep(0.05)
        pandocd.close_all()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None,
              float(os.environ.get("BELMIG_TYPST_SERVER_IDLE", IDLE)))  # fmt: skip
