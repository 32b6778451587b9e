"""A warm fork server for the pipeline's jobs: ``python -m belmig.<module>`` without the imports.

Every job used to start a fresh interpreter and import pandas, numpy, pyarrow, matplotlib,
scipy, IPython and nbformat/nbconvert again (0.5–2 s a job). Here a server process imports most
of those third-party modules once (PRELOAD) and listens on a unix socket; each job is a client that sends its argv,
cwd, umask and environment and passes its stdin/stdout/stderr (SCM_RIGHTS). The server forks the
job: it dup2()s the descriptors, chdir()s, replaces ``os.environ``, puts the sent ``PYTHONPATH``
first on ``sys.path`` and runs the module with ``runpy.run_module(alter_sys=True)`` as
``__main__``. The job itself reports its exit status to the client (its ``SystemExit`` code, 1 and
a traceback on stderr for an exception) just before it exits, and the client exits with it; the
server, its parent, reports the signal that killed a job that could not. When the client goes
away (Snakemake cancels the job: SIGTERM is forwarded, SIGKILL closes the socket) the job's
process group is killed, unless the job had already reported (what it leaves running then
stays, as without the server). The server's one loop tends every job (select on the clients'
sockets, the jobs' pidfds and the pipes on which they say they reported). A stopped server
stops listening and still tends its running jobs; a killed one loses only the report of a
job killed by a signal.

Each fork of the server's heap (~150 MB of private memory after the preload) costs ~4 ms of
page tables here, and so does the exit of the process it made (measured: fork, exit and wait
~9 ms against 0.5 ms for a bare interpreter). A supervisor process between the server and each
job paid both once more, and the job's report waited for the job's exit: an empty module took
38 ms through the server against 22 ms for ``python -SI -m`` on its own; now 25 ms.

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
    # what a job's first InteractiveShell imports (belmig.core.nbengine's: 19 ms, 3 ms with these)
    "IPython.core.magics",
    "IPython.core.completerlib",
    "IPython.core.crashhandler",
    "IPython.core.application",
    "IPython.core.oinspect",
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
    # the virtualenv of the interpreter: sys.prefix, except that a client runs with -S -I, and then
    # sys.prefix is the base installation's (the Snakefile's start() named another server than the
    # jobs', and a reinstall into the virtualenv did not change the key)
    venv = os.path.dirname(os.path.dirname(sys.executable))
    own = venv if os.path.isfile(os.path.join(venv, "pyvenv.cfg")) else sys.prefix
    for prefix in dict.fromkeys((own, sys.base_prefix)):
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
    if "signal" in status:  # die of the job's signal, as its shell would see the job die
        sig = status["signal"]
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP keep their default (an OOM kill is a SIGKILL)
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


def _run_job(request, fds, base_path, conn, note) -> None:
    """In the job's process: become the job, run the module, report its status to the client
    (`conn`) and, by a byte on `note`, to the server, then exit with it (never returns). The
    report goes before the exit: the kernel's teardown of a process forked from the server's
    heap (~7 ms) is no longer between the job's end and its client's."""
    code = 1
    job = os.getpid()  # a process the job forks that ends here too reports nothing
    try:
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)
        try:
            _send(conn, {"started": os.getpid()})  # from here the client forwards its signals
        except OSError:  # the client is already gone
            os._exit(1)
        _adopt_nice(request.get("nice", 0))
        # the report's two descriptors: 3 and 4, close-on-exec (a program it runs gets neither)
        import fcntl

        conn_fd = conn.detach()
        keep = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 16) for fd in (conn_fd, note)]
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
        for fd in {*fds, conn_fd, note} - {0, 1, 2}:
            os.close(fd)
        report_fd, note_fd = 3, 4
        os.dup2(keep[0], report_fd, inheritable=False)
        os.dup2(keep[1], note_fd, inheritable=False)
        os.closerange(5, 1 << 16)
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
    if code < 0:  # dies of the signal: the server reports it
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    if os.getpid() != job:
        os._exit(code & 0xFF)
    try:
        os.write(note_fd, b"1")  # first the server: the client's end is its cue to clean up
    except OSError:
        pass  # the server is gone
    try:
        _send(socket.socket(fileno=report_fd), {"code": code & 0xFF})
    except OSError:
        pass  # the client is gone
    os._exit(code & 0xFF)


class _Job:
    """A job the server forked: its client's connection, its pid, what tells the server it ended
    (its pidfd, None without one), and the pipe on which it says it reported its status."""

    __slots__ = ("conn", "pid", "done", "note", "reported")

    def __init__(self, conn, pid, done, note):
        self.conn, self.pid, self.done, self.note, self.reported = conn, pid, done, note, False

    def close(self) -> None:
        for f in (self.done, self.note):
            if f is not None:
                try:
                    os.close(f)
                except OSError:
                    pass
        self.done = self.note = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _fork_job(conn, base_path, others) -> "_Job | None":
    """Receive a client's request on `conn` and fork its job (None: a request that never came)."""
    conn.settimeout(10)  # a client sends its request as it connects: a silent one is dropped
    try:
        request, fds = _recv(conn, with_fds=3)
    except (OSError, EOFError, ValueError):
        conn.close()
        return None
    conn.settimeout(None)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        conn.close()
        return None
    note_r, note_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            for sock in others:  # the server's sockets: closed below with every other descriptor
                sock.detach()
        except BaseException:
            os._exit(1)
        _run_job(request, fds, base_path, conn, note_w)
    os.close(note_w)
    try:
        os.setpgid(pid, pid)  # as the child does: killpg() works whichever runs first
    except OSError:
        pass
    for fd in fds:
        os.close(fd)
    try:
        done = os.pidfd_open(pid)  # readable once the job has exited
    except (AttributeError, OSError):
        done = None
    return _Job(conn, pid, done, note_r)  # the job says "started" itself, before its report


def _read_note(job, ready=None) -> None:
    """Whether the job has said it reported its status (once its note is readable)."""
    import select

    if job.note is None:
        return
    if ready is None:
        ready = select.select([job.note], [], [], 0)[0]
    if job.note in ready:
        job.reported = os.read(job.note, 1) == b"1" or job.reported
        os.close(job.note)
        job.note = None


def _tend(job, ready) -> bool:
    """Handle what `ready` (select's) says of `job`: its report, its client's signals or
    departure, its end. True once the job is over and reaped."""
    _read_note(job, ready)
    if job.conn is not None and job.conn in ready:
        try:
            data = job.conn.recv(4096)
        except OSError:
            data = b""
        if data:
            for sig in _signals(data):
                _killpg(job.pid, sig)
        else:  # the client is gone: so is its job (nobody to report to), unless it has reported
            _read_note(job)
            if not job.reported:
                _killpg(job.pid, signal.SIGKILL)
            job.conn.close()
            job.conn = None
    if job.done is not None and job.done not in ready:
        return False
    try:
        wpid, status = os.waitpid(job.pid, os.WNOHANG)
    except ChildProcessError:
        wpid, status = job.pid, 0
    if not wpid:
        return False
    _read_note(job)  # a report written just before the end
    if not job.reported and job.conn is not None:
        if os.WIFSIGNALED(status):
            report = {"signal": os.WTERMSIG(status)}
        else:
            report = {"code": os.waitstatus_to_exitcode(status)}
        try:
            _send(job.conn, report)
        except OSError:
            pass
    job.close()
    return True


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
    """Listen on ``path`` (renamed into place once ready), fork each job and tend it; import
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

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the jobs are this process's children: reaped in tend()

    for name in before:
        if not load(name):
            raise SystemExit(f"preloading imported {NOT_PRELOADED}: not serving")
    if not pending:
        settle()
    signal.signal(signal.SIGTERM, _terminate)  # exit through the finally below: remove the socket
    srv, ino = listen(path, 64, ready_fd)
    refuse = False  # a preloaded module imported belmig: every job closes at once (runs direct)
    jobs: list[_Job] = []  # forked and not yet reaped (this process is their parent)

    def tend(timeout) -> list:
        """Wait for an event (at most `timeout` s) and handle the jobs'; returns what was ready."""
        waiting = [srv] if srv is not None else []
        for j in jobs:
            waiting += [f for f in (j.conn, j.done, j.note) if f is not None]
        if any(j.done is None for j in jobs):  # no pidfd: look for their ends every 50 ms
            timeout = 0.05 if timeout is None else min(timeout, 0.05)
        ready, _, _ = select.select(waiting, [], [], timeout)
        jobs[:] = [j for j in jobs if not _tend(j, ready)]
        return ready

    try:
        while True:
            busy = pending and not refuse
            ready = tend(0 if busy else None if jobs else idle)
            if srv not in ready:
                if ready:
                    continue  # a job's event (handled)
                if busy:
                    refuse = not load(pending.pop(0))
                    if not pending and not refuse:
                        settle()
                    continue
                if jobs:
                    continue
                break  # idle
            if not owns(path, ino):
                break  # replaced or removed: another server owns the name
            conn, _ = srv.accept()
            if refuse:
                conn.close()  # EOF before "started": the client runs the job itself
                continue
            job = _fork_job(conn, base_path, [srv, *(j.conn for j in jobs if j.conn is not None)])
            if job is not None:
                jobs.append(job)
    finally:
        release(srv, path, ino)
        srv = None
        while jobs:  # the jobs still running keep their supervision (their reports, signals)
            tend(None)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--start"]:
        _start_only()
    elif sys.argv[1:2] == ["--serve"]:
        ready = int(sys.argv[3]) if len(sys.argv) > 3 else None
        serve(sys.argv[2], idle=float(os.environ.get("BELMIG_FORKSERVER_IDLE", IDLE)), ready_fd=ready)
    else:
        main()
