"""A warm fork server for the pipeline's jobs: ``python -m belmig.<module>`` without the imports.

Every job used to start a fresh interpreter and import pandas, numpy, pyarrow, matplotlib,
scipy, IPython and nbformat/nbconvert again (0.5–2 s a job). Here a server process imports most
of those third-party modules once (PRELOAD) and listens on a unix socket; each job is a client that sends its argv,
cwd, umask and environment and passes its stdin/stdout/stderr (SCM_RIGHTS). The server forks a
supervisor per job, which forks the job: the job dup2()s the descriptors, chdir()s, replaces
``os.environ``, puts the sent ``PYTHONPATH`` first on ``sys.path`` and runs the module with
``runpy.run_module(alter_sys=True)`` as ``__main__``. The supervisor reports the job's exit status
(its ``SystemExit`` code, 1 and a traceback on stderr for an exception, or the signal that killed
it); the client exits with it. When the client goes away (Snakemake cancels the job: SIGTERM
is forwarded, SIGKILL closes the socket) the job's process group is killed.

``belmig`` itself is never imported by the server: every job imports the project's code fresh,
so an edit is always seen. The server is keyed by the interpreter, this file, requirements.lock,
the site-packages listing and the environment variables read at start-up or import (locale,
``PYTHON*``, ``MPL*``, thread counts…): a reinstall, another virtualenv or another locale gets its
own server. The Snakefile starts it when it parses (``start``), or else the first client does
(under a lock, detached); it exits after ``IDLE`` seconds without a job. It listens at once and
imports PRELOAD one module at a time while no job is waiting: a job that comes earlier imports
the rest itself (a cold build's first stages need pandas, not matplotlib or nbconvert). Its socket is in ``$XDG_RUNTIME_DIR`` or ``/tmp/belmig-forkserver-<uid>/`` (0700).

Fallback: with ``BELMIG_FORKSERVER=0``, ``BELMIG_TRACE_IO`` set (the audit hook of
belmig.core.iotrace must see the whole process), a command that is not ``-m <module> …``, or
whenever the server cannot be reached or started, the client execs the real interpreter:
exactly the process the job would have been without the server.

The Snakefile writes ``.snakemake/belmig/python`` (a two-line sh script) and sets ``$PYTHON`` to it::

    exec <sys.executable> -SI <this file> "$@"

Measured (2 shared cores, load ~2–4): a job importing matplotlib.pyplot, pyarrow.parquet,
scipy.stats, IPython and nbformat/nbconvert 3.0–3.6 s direct, 0.04 s served; with pandas too
(not preloaded) 1.0–1.2 s → 0.2–0.3 s; an empty module 0.01–0.02 s → 0.04–0.05 s (client + two
forks). Cold build ``snakemake --cores 2``: 77–96 s with BELMIG_FORKSERVER=0, 49–73 s served
(server started by the build), outputs byte-identical.

The client half (``main``) imports only the standard library and runs with ``-S -I`` (~20 ms);
the server half runs as ``<sys.executable> <this file> --serve <socket>``. The module is over
600 lines because both halves must be one file: the client can import nothing of the project,
and the server's name is the digest of this file (a client and a server of different code never
meet).
"""

# The client runs with -S -I and imports as little as it can: the C halves of socket and signal
# (their Python wrappers import enum, ~10 ms), marshal for the messages (both ends are this user's),
# no contextlib (hence try/except/pass).
# ruff: noqa: SIM105, SIM115
import _signal as signal
import _socket as socket
import marshal
import os
import sys

try:
    from _sha256 import sha256
except ImportError:  # Python >= 3.12
    from hashlib import sha256

IDLE = 600  # seconds without a job before the server exits
START_TIMEOUT = 60  # seconds a client waits for a server to start before running the job itself
# Third-party modules the server imports (never belmig): the imports jobs share. (pandas chooses
# display.max_columns when it is imported, by whether an IPython shell with a kernel exists:
# belmig.core.nbengine gives a preloaded pandas the kernel's value, as a stage imported it.)
# NOT_PRELOADED: the server refuses to serve if a preloaded module imported one of these.
PRELOAD = (
    # the stages from the audit to the estimates (IPython runs their notebooks)
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.parquet",
    "yaml",
    "IPython.core.interactiveshell",
    "nbformat",
    "scipy.special",
    "scipy.optimize",
    # the charts, the notebooks' HTML, the report
    "matplotlib",
    "matplotlib.pyplot",
    "nbconvert",
    "babel",
    "babel.numbers",
    "babel.dates",
)
# Data those modules load on first use, loaded once here as well (each job loaded it again):
# Babel's CLDR data of these locales (0.17 s of every job that formats a number: the editions'
# languages) and nbformat's compiled schema of version-4 notebooks (0.06 s of every job that
# writes one). Both are kept by the modules themselves (babel.localedata's cache, nbformat's
# validators), so a job asking for them gets what it would have loaded. And nbconvert's first
# HTML export (what it imports and builds on first use: 0.24 s of each job that exports one).
WARM_LOCALES = ("en_GB", "lt_LT", "ru_RU")
WARM_NBFORMAT = ((4, 5), (4, 4))
# Environment variables read when the interpreter starts or the preloaded modules are imported:
# part of the server's key (the rest of the environment is the job's, replaced in the child).
# (BELMIG_FORKSERVER_PRELOAD: a comma-separated list instead of PRELOAD, for the tests.)
KEY_ENV_PREFIXES = ("PYTHON", "LC_", "MPL", "OMP_", "OPENBLAS_", "MKL_", "JUPYTER", "NUMEXPR_", "BELMIG_FORKSERVER_")
KEY_ENV = ("LANG", "LANGUAGE", "TZ", "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "IPYTHONDIR")
KEY_ENV += ("GOTO_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NBFORMAT_VALIDATOR")
NOT_KEY_ENV = ("PYTHONPATH",)  # per job: put on sys.path by the child

NOT_PRELOADED = ("belmig",)
_HEAD = 4  # a message: its length (4 bytes, big-endian), then marshal data
_FD_SIZE = 4  # an fd in SCM_RIGHTS: a C int


# ---------------------------------------------------------------------------------------------
# Shared


def runtime_dir() -> str:
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base and os.path.isdir(base) and os.access(base, os.W_OK):
        d = os.path.join(base, "belmig-forkserver")
    else:
        d = f"/tmp/belmig-forkserver-{os.getuid()}"
    if len(d) > 70:  # a unix socket's path has at most 107 bytes
        d = f"/tmp/belmig-forkserver-{os.getuid()}"
    os.makedirs(d, mode=0o700, exist_ok=True)
    st = os.lstat(d)
    if st.st_uid != os.getuid() or st.st_mode & 0o077 or not os.path.isdir(d):
        raise OSError(f"{d}: not a private directory of this user")
    return d


def _warm_babel() -> None:
    import babel

    for tag in WARM_LOCALES:
        babel.Locale.parse(tag).percent_formats  # noqa: B018  (loads the locale's data)


def _warm_nbformat() -> None:
    from nbformat import validator

    for version, minor in WARM_NBFORMAT:
        validator.get_validator(version, minor)


def _warm_nbconvert() -> None:
    """One small notebook through nbconvert's HTML exporter: what its first export imports and
    builds (Markdown, Pygments' Python lexer and formatter, the lab template's files) is loaded
    once here; a job's own exporter then takes ~0.12 s for a stage notebook instead of ~0.37 s."""
    from nbconvert import HTMLExporter
    from nbformat import v4

    result = v4.new_output("execute_result", data={"text/plain": "1", "text/html": "<b>1</b>"}, execution_count=1)
    cells = [
        v4.new_markdown_cell("# Title\n\nSome *text*, a [link](#title) and `code`."),
        v4.new_code_cell("x = 1\nprint(x)", outputs=[v4.new_output("stream", text="1\n"), result], execution_count=1),
    ]
    HTMLExporter(template_name="lab").from_notebook_node(v4.new_notebook(cells=cells))


# What the preloaded modules load on first use, loaded after them one step at a time (as a module
# is imported: a job waiting is served first). A failure is printed: the job loads it itself.
WARM_STEPS = {"babel": _warm_babel, "nbformat": _warm_nbformat, "nbconvert": _warm_nbconvert}
_WARM_PREFIX = "warm:"


def server_key(env=None) -> str:
    """The digest that names the server this interpreter, code, install and environment use."""
    env = os.environ if env is None else env
    h = sha256()
    here = os.path.abspath(__file__)
    h.update(sys.executable.encode() + b"\0")
    with open(here, "rb") as f:
        h.update(f.read())
    lock = os.path.join(os.path.dirname(here), "..", "..", "..", "requirements.lock")
    try:
        with open(lock, "rb") as f:
            h.update(f.read())
    except OSError:
        h.update(b"no lock")
    ver = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        site = os.path.join(prefix, "lib", ver, "site-packages")
        try:
            h.update(f"{site}\0{os.stat(site).st_mtime_ns}\0".encode())
            h.update("\0".join(sorted(os.listdir(site))).encode())
        except OSError:
            pass
    for k in sorted(env):
        if k in NOT_KEY_ENV or not (k in KEY_ENV or k.startswith(KEY_ENV_PREFIXES)):
            continue
        h.update(f"\0{k}={env[k]}".encode())
    return h.hexdigest()[:20]


def _send(sock, obj, fds=()) -> None:
    data = marshal.dumps(obj)
    msg = len(data).to_bytes(_HEAD, "big") + data
    if fds:
        anc = b"".join(fd.to_bytes(_FD_SIZE, sys.byteorder, signed=True) for fd in fds)
        sent = sock.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, anc)])
        msg = msg[sent:]
    while msg:
        msg = msg[sock.send(msg) :]


def _recv_exact(sock, n) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _recv(sock, with_fds=0):
    fds = []
    if with_fds:
        head, anc, _flags, _addr = sock.recvmsg(_HEAD, socket.CMSG_LEN(with_fds * _FD_SIZE))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                n = len(data) - len(data) % _FD_SIZE
                fds += [
                    int.from_bytes(data[i : i + _FD_SIZE], sys.byteorder, signed=True) for i in range(0, n, _FD_SIZE)
                ]
        if not head:
            raise EOFError
        head += _recv_exact(sock, _HEAD - len(head))
    else:
        head = _recv_exact(sock, _HEAD)
    return marshal.loads(_recv_exact(sock, int.from_bytes(head, "big"))), fds


# ---------------------------------------------------------------------------------------------
# Client


def _direct(argv):
    """Run the command as the job would have without the server (never returns)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *argv])


def _connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


def _start_server(rdir, path):
    """Connect to the server at ``path``, starting it first if no one else has (under a lock)."""
    import fcntl

    with open(path + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _connect(path)  # another client started it while we waited for the lock
        except OSError:
            pass
        try:
            os.unlink(path)  # a stale socket: its server is gone
        except FileNotFoundError:
            pass
        env = {k: v for k, v in os.environ.items() if k not in NOT_KEY_ENV}
        log = os.open(path + ".log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        ready_r, ready_w = os.pipe()  # the server writes a byte once it listens; EOF: it died
        pid = os.fork()
        if pid == 0:  # detach: a new session, the grandchild is the server
            try:
                os.setsid()
                if os.fork():
                    os._exit(0)
                os.dup2(null, 0)
                os.dup2(log, 1)
                os.dup2(log, 2)
                os.dup2(ready_w, 3)
                os.closerange(4, 1 << 16)
                os.chdir("/")
                argv = [sys.executable, os.path.abspath(__file__), "--serve", path, "3"]
                os.execve(sys.executable, argv, env)
            finally:
                os._exit(127)
        os.close(log)
        os.close(null)
        os.close(ready_w)
        os.waitpid(pid, 0)
        import select

        ok = select.select([ready_r], [], [], START_TIMEOUT)[0] and os.read(ready_r, 1)
        os.close(ready_r)
        if not ok:
            return None
        return _connect(path)


def _forward(sock):
    def handler(signum, _frame):
        try:
            _send(sock, {"signal": signum})
        except OSError:
            pass

    return handler


def start(env) -> None:
    """Start, in the background, the server a job with environment `env` would use, unless it
    runs already (or the server is disabled): the Snakefile calls this when it parses, so that the
    preload (~3 s) overlaps Snakemake's own start and DAG instead of delaying the first job.
    Returns at once; a failure only means the first job starts the server itself."""
    import subprocess

    if env.get("BELMIG_FORKSERVER", "1") == "0" or env.get("BELMIG_TRACE_IO"):
        return
    try:
        path = os.path.join(runtime_dir(), server_key(env) + ".sock")
        _connect(path).close()
        return  # already serving
    except OSError:
        pass
    import threading

    try:
        proc = subprocess.Popen(
            [sys.executable, "-SI", os.path.abspath(__file__), "--start"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    except OSError:
        return
    threading.Thread(target=proc.wait, daemon=True).start()  # reaped once it has started the server


def _start_only() -> None:
    """``forkserver.py --start``: connect to this environment's server, starting it if need be."""
    try:
        rdir = runtime_dir()
        path = os.path.join(rdir, server_key() + ".sock")
        try:
            _connect(path).close()
        except OSError:
            sock = _start_server(rdir, path)
            if sock is not None:
                sock.close()
    except (OSError, EOFError, ValueError):
        pass
    os._exit(0)


def main(argv=None) -> None:
    """The client: ``<python> -SI forkserver.py -m <module> [args…]``; exits with the job's status."""
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ
    if (
        len(argv) < 2
        or argv[0] != "-m"
        or env.get("BELMIG_FORKSERVER", "1") == "0"
        or env.get("BELMIG_TRACE_IO")
        or not hasattr(socket.socket, "sendmsg")
    ):
        _direct(argv)
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
        rdir = runtime_dir()
        path = os.path.join(rdir, server_key() + ".sock")
        try:
            sock = _connect(path)
        except OSError:
            sock = _start_server(rdir, path)
        if sock is None:
            _direct(argv)
        umask = os.umask(0)
        os.umask(umask)
        request = {"argv": argv, "cwd": os.getcwd(), "env": dict(env), "umask": umask}
        request["nice"] = os.getpriority(os.PRIO_PROCESS, 0)  # a job run under `nice` stays niced
        _send(sock, request, fds=(0, 1, 2))
        started, _ = _recv(sock)  # EOF here: the server never forked the job, run it ourselves
    except (OSError, EOFError, ValueError):
        _direct(argv)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, _forward(sock))
    try:
        status, _ = _recv(sock)
    except (OSError, EOFError, ValueError):
        sys.stderr.write("belmig.core.forkserver: the server went away while the job ran\n")
        os._exit(1)
    if "signal" in status:
        sig = status["signal"]
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(status["code"])


# ---------------------------------------------------------------------------------------------
# Server


def _exit_code(exc: SystemExit) -> int:
    """The status ``python`` exits with for an uncaught ``SystemExit`` (printing a non-int code)."""
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(f"{code}\n")
    except Exception:
        pass
    return 1


def _reset_stdio() -> None:
    """New sys.stdin/stdout/stderr over fds 0–2, configured as a fresh interpreter would."""
    import io

    enc, errs = sys.stdout.encoding, sys.stdout.errors
    stdin = io.TextIOWrapper(open(0, "rb", closefd=False), encoding=sys.stdin.encoding, errors=sys.stdin.errors)
    out_raw = open(1, "wb", closefd=False)
    stdout = io.TextIOWrapper(out_raw, encoding=enc, errors=errs, line_buffering=os.isatty(1))
    err_raw = open(2, "wb", closefd=False)
    stderr = io.TextIOWrapper(err_raw, encoding=sys.stderr.encoding, errors="backslashreplace", line_buffering=True)
    sys.stdin = sys.__stdin__ = stdin
    sys.stdout = sys.__stdout__ = stdout
    sys.stderr = sys.__stderr__ = stderr


def _adopt_nice(nice: int) -> None:
    """The job's process takes the client's niceness when it is lower in priority than the
    server's: a job started as ``nice -n 10 "$PYTHON" ...`` (rules/notebooks.smk) gives way to
    the others, as it would run without the server (a priority is never raised)."""
    if nice > os.getpriority(os.PRIO_PROCESS, 0):
        os.setpriority(os.PRIO_PROCESS, 0, nice)


def _run_job(request, fds, base_path) -> None:
    """In the job's process: become the job, run the module, exit with its status (never returns)."""
    code = 1
    try:
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)
        _adopt_nice(request.get("nice", 0))
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.closerange(3, 1 << 16)
        _reset_stdio()
        os.chdir(request["cwd"])
        os.umask(request["umask"])
        os.environ.clear()
        os.environ.update(request["env"])
        import importlib
        import runpy
        import warnings

        pythonpath = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [request["cwd"], *pythonpath, *base_path]
        importlib.invalidate_caches()
        warnings._filters_mutated()  # "once"/"default" registries of the server's imports: forgotten
        if "tempfile" in sys.modules:
            sys.modules["tempfile"].tempdir = None  # found again from the job's TMPDIR
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()  # each job its own global RNG, as a fresh process
        module, args = request["argv"][1], request["argv"][2:]
        sys.argv = ["-m", *args]
        sys.orig_argv = [sys.executable, "-m", module, *args]
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc)
        except KeyboardInterrupt:
            sys.excepthook(*sys.exc_info())
            code = -signal.SIGINT  # as python does: die of SIGINT (below, once flushed)
        except BaseException:
            sys.excepthook(*sys.exc_info())
            code = 1
        try:
            import atexit
            import threading

            threading._shutdown()
            atexit._run_exitfuncs()
        except BaseException:
            code = code or 1
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None and not stream.closed:
                    stream.flush()
            except Exception:
                code = code or 120  # as a fresh interpreter does when flushing at exit fails
    except BaseException:
        try:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(1)
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code & 0xFF)


def _supervise(conn, base_path) -> None:
    """In the per-job supervisor: receive the request, fork the job, report how it ended."""
    import select

    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        request, fds = _recv(conn, with_fds=3)
        if len(fds) != 3:
            os._exit(1)
        pid = os.fork()
        if pid == 0:
            conn.close()
            _run_job(request, fds, base_path)
        try:
            os.setpgid(pid, pid)  # as the child does: killpg() works whichever runs first
        except OSError:
            pass
        for fd in fds:
            os.close(fd)
        try:
            _send(conn, {"started": pid})
        except OSError:  # the client is already gone
            _killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os._exit(0)
        try:
            done = os.pidfd_open(pid)  # readable once the job has exited
        except (AttributeError, OSError):
            done = None
        status = None
        while status is None:
            waiting = [conn] if done is None else [conn, done]
            ready, _, _ = select.select(waiting, [], [], 0.05 if done is None else None)
            if conn in ready:
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                if not data:  # the client is gone: so is its job (nobody to report to)
                    _killpg(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    os._exit(0)
                else:
                    for sig in _signals(data):
                        _killpg(pid, sig)
            wpid, wstatus = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status = wstatus
        if os.WIFSIGNALED(status):
            report = {"signal": os.WTERMSIG(status)}
        else:
            report = {"code": os.waitstatus_to_exitcode(status)}
        try:
            _send(conn, report)
        except OSError:
            pass
        code = 0
    finally:
        os._exit(code)


def _signals(data):
    out = []
    while len(data) >= _HEAD:
        n = int.from_bytes(data[:_HEAD], "big")
        try:
            out.append(int(marshal.loads(data[_HEAD : _HEAD + n])["signal"]))
        except (ValueError, KeyError, TypeError, EOFError):
            pass
        data = data[_HEAD + n :]
    return out


def _killpg(pid, sig) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def listen(path, backlog, ready_fd=None):
    """A unix socket listening at `path` (bound beside it, renamed into place once it listens),
    and the inode that says this server still owns the name; `ready_fd` gets a byte then.
    belmig.report.typstd's server listens the same way."""
    import socket as pysocket  # the server may import what it likes: accept() is the wrapper's

    srv = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    tmp = f"{path}.{os.getpid()}.tmp"
    srv.bind(tmp)
    srv.listen(backlog)
    os.rename(tmp, path)
    ino = os.stat(path).st_ino
    print(f"serving on {path} (pid {os.getpid()})", flush=True)
    if ready_fd is not None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)
    return srv, ino


def owns(path, ino) -> bool:
    """Whether the socket at `path` is still the one this server bound (not replaced or removed)."""
    try:
        return os.stat(path).st_ino == ino
    except FileNotFoundError:
        return False


def release(srv, path, ino) -> None:
    """Close the server's socket and remove its name, unless another server owns it now."""
    try:
        if owns(path, ino):
            os.unlink(path)
    except OSError:
        pass
    srv.close()


def _preload_lists() -> tuple[list[str], list[str]]:
    """(imported before the server listens, imported while it serves): PRELOAD, or
    BELMIG_FORKSERVER_PRELOAD's ``before[;while]`` (comma-separated module names)."""
    preload = os.environ.get("BELMIG_FORKSERVER_PRELOAD")
    if preload is None:
        return [], list(PRELOAD)
    before, _, later = preload.partition(";")
    return [m for m in before.split(",") if m], [m for m in later.split(",") if m]


def serve(path, idle=IDLE, ready_fd=None) -> None:
    """Listen on ``path`` (renamed into place once ready) and fork a supervisor per job; import
    the preloaded modules one by one while no job is waiting. A job that comes before the preload
    is done imports the rest itself (the first jobs of a cold build need pandas, not matplotlib:
    they no longer wait ~3 s for every import). The server refuses jobs (they run in their own
    interpreter) if a preloaded module imported a NOT_PRELOADED one."""
    import gc
    import importlib
    import select

    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # this file's folder (src/belmig/core) is no package root
    base_path = list(sys.path)
    # as belmig.core.nbrun does in a job run without the server: jsonschema (imported by nbformat)
    # skips the IRI format checker whose grammar it would build at import (~1.2 s of the preload)
    sys.modules.setdefault("rfc3987_syntax", None)
    before, pending = _preload_lists()
    warm = os.environ.get("BELMIG_FORKSERVER_PRELOAD") is None

    if warm:
        pending += [_WARM_PREFIX + step for step in WARM_STEPS]

    def load(name) -> bool:
        """Import one module (or take one warm step); False once a NOT_PRELOADED module has come
        with it."""
        try:
            if name.startswith(_WARM_PREFIX):
                WARM_STEPS[name.removeprefix(_WARM_PREFIX)]()
            else:
                importlib.import_module(name)
        except Exception as exc:  # a missing optional module: the job imports it (or fails) itself
            print(f"preload {name}: {exc!r}", flush=True)
        bad = sorted({m.split(".")[0] for m in sys.modules} & set(NOT_PRELOADED))
        if bad:
            print(f"preloading {name} imported {bad}: jobs run in their own interpreter", flush=True)
        return not bad

    def settle() -> None:
        gc.collect()
        gc.freeze()  # fewer copy-on-write pages in the children

    for name in before:
        if not load(name):
            raise SystemExit(f"preloading imported {NOT_PRELOADED}: not serving")
    if not pending:
        settle()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    signal.signal(signal.SIGTERM, _terminate)  # exit through the finally below: remove the socket
    srv, ino = listen(path, 64, ready_fd)
    refuse = False  # a preloaded module imported belmig: every job closes at once (runs direct)
    try:
        while True:
            ready, _, _ = select.select([srv], [], [], 0 if pending and not refuse else idle)
            if not ready:
                if pending and not refuse:
                    refuse = not load(pending.pop(0))
                    if not pending and not refuse:
                        settle()
                    continue
                break
            if not owns(path, ino):
                break  # replaced or removed: another server owns the name
            conn, _ = srv.accept()
            if refuse:
                conn.close()  # EOF before "started": the client runs the job itself
                continue
            if os.fork() == 0:
                srv.close()
                _supervise(conn, base_path)
            conn.close()
    finally:
        release(srv, path, ino)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--start"]:
        _start_only()
    elif sys.argv[1:2] == ["--serve"]:
        ready = int(sys.argv[3]) if len(sys.argv) > 3 else None
        serve(sys.argv[2], idle=float(os.environ.get("BELMIG_FORKSERVER_IDLE", IDLE)), ready_fd=ready)
    else:
        main()
