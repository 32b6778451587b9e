"""belmig.core.forkserver: a job run through the warm server is the job run by the interpreter.

Each test starts its own server (a private runtime folder, a tiny preload list) and stops it at
the end. The probe module reports what the job sees: argv, cwd, environment, stdin, sys.path,
its exit status, and whether its parent is the server.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from belmig.core import forkserver

CLIENT = Path(forkserver.__file__).resolve()

PROBE = """
import json, os, sys
what = sys.argv[1]
parent = open(f"/proc/{os.getppid()}/cmdline", "rb").read().split(b"\\0")
if what == "sleep":
    open(sys.argv[2], "w").write(str(os.getpid()))
    import time
    time.sleep(60)
if what == "raise":
    raise RuntimeError("probe failed")
if what == "exit":
    print("before exit")
    sys.exit(int(sys.argv[2]))
if what == "slow-exit":  # write the pid, wait for the go file, exit with 5
    import time
    open(sys.argv[2], "w").write(str(os.getpid()))
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.02)
    sys.exit(5)
if what == "background":  # leave a process in the job's own group, and end
    import subprocess
    bg = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    open(sys.argv[2], "w").write(str(bg.pid))
    sys.exit(0)
if what == "fork":  # a forked child that ends as the job would (its status is not the job's)
    import time
    if os.fork() == 0:
        sys.exit(7)
    time.sleep(0.3)
    sys.exit(4)
if what == "killed":  # dies of a signal: its status comes from the server, its parent
    import signal
    print("before the signal", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
if what == "fds":  # the descriptors a program the job runs finds open (its own listing's aside)
    import subprocess
    out = subprocess.run([sys.executable, "-c", "import os; print(sorted(os.listdir('/proc/self/fd'), key=int))"],
                         capture_output=True, text=True, check=True).stdout
    print(out.strip())
    sys.exit(0)
print(json.dumps({
    "argv": sys.argv, "cwd": os.getcwd(), "env": os.environ.get("PROBE_VALUE"),
    "no_env": "PROBE_UNSET" in os.environ, "stdin": sys.stdin.read(), "path0": sys.path[:3],
    "served": b"--serve" in parent, "umask": os.umask(0o22), "name": __name__,
    "preloaded": "json" in sys.modules and "belmig" not in sys.modules,
    "belmig_fresh": __import__("importlib").util.find_spec("belmig") is not None,
    "wave": "wave" in sys.modules, "nice": os.getpriority(os.PRIO_PROCESS, 0),
}))
print("to stderr", file=sys.stderr)
"""


@pytest.fixture
def fs(tmp_path):
    """Run the client like $PYTHON does; kill the servers started here afterwards."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "fsprobe.py").write_text(PROBE)
    run_dir = Path(tempfile.mkdtemp(prefix="fs", dir="/tmp"))  # short: a socket's path is < 108 bytes
    work = tmp_path / "work"
    work.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BELMIG_", "PYTHON"))}
    base.update(
        XDG_RUNTIME_DIR=str(run_dir),
        PYTHONPATH=os.pathsep.join([str(pkg), str(CLIENT.parents[2])]),
        BELMIG_FORKSERVER_PRELOAD="json",
        BELMIG_FORKSERVER_IDLE="60",
    )

    class Runner:
        env = base
        cwd = work

        def cmd(self, *args):
            return [sys.executable, "-SI", str(CLIENT), "-m", "fsprobe", *args]

        def run(self, *args, stdin="", **env):
            e = {**base, **env}
            return subprocess.run(self.cmd(*args), input=stdin, capture_output=True, text=True, cwd=work, env=e)

        def servers(self):
            d = run_dir / "belmig-forkserver"
            return sorted(d.glob("*.sock")) if d.exists() else []

        def server_pids(self):
            pids = []
            for log in (run_dir / "belmig-forkserver").glob("*.log"):
                for line in log.read_text().splitlines():
                    if line.startswith("serving on"):
                        pids.append(int(line.rsplit("pid ", 1)[1].rstrip(")")))
            return pids

    r = Runner()
    yield r
    for pid in r.server_pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    shutil.rmtree(run_dir, ignore_errors=True)


def _report(proc):
    import json

    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_served_job_gets_its_argv_cwd_env_stdin_and_path(fs):
    out = fs.run("hello", "a b", stdin="some input\n", PROBE_VALUE="x y")
    rep = _report(out)
    assert rep["served"]
    assert rep["argv"][1:] == ["hello", "a b"] and rep["argv"][0].endswith("fsprobe.py")
    assert rep["cwd"] == str(fs.cwd) and rep["path0"][0] == str(fs.cwd)
    assert rep["path0"][1:] == fs.env["PYTHONPATH"].split(os.pathsep)  # PYTHONPATH first
    assert rep["env"] == "x y" and not rep["no_env"]
    assert rep["stdin"] == "some input\n"
    assert rep["name"] == "__main__" and rep["preloaded"] and rep["belmig_fresh"]
    assert out.stderr == "to stderr\n"
    # The environment is the job's own, not the one the server started with.
    rep2 = _report(fs.run("again", PROBE_VALUE="other"))
    assert rep2["served"] and rep2["env"] == "other"
    assert len(fs.servers()) == 1


def test_a_job_run_under_nice_keeps_its_niceness_and_the_server_its_own(fs):
    """`nice -n 10 "$PYTHON" …` (the jobs beside the critical path): the served job runs niced, as
    it would in its own interpreter; the next job is not (the server's priority is unchanged)."""
    assert _report(fs.run("first"))["nice"] == os.getpriority(os.PRIO_PROCESS, 0)  # starts the server
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    e = {**fs.env}
    niced = subprocess.run(["nice", "-n", "7", *fs.cmd("niced")], capture_output=True, text=True, cwd=fs.cwd, env=e)
    rep = _report(niced)
    assert rep["served"] and rep["nice"] == min(19, mine + 7)
    after = _report(fs.run("after"))
    assert after["served"] and after["nice"] == mine
    assert len(fs.servers()) == 1


def test_exit_codes_and_exceptions(fs):
    ok = fs.run("exit", "0")
    assert (ok.returncode, ok.stdout) == (0, "before exit\n")
    three = fs.run("exit", "3")
    assert (three.returncode, three.stdout) == (3, "before exit\n")
    boom = fs.run("raise")
    assert boom.returncode == 1
    assert "Traceback" in boom.stderr and "RuntimeError: probe failed" in boom.stderr
    assert fs.servers()  # served, not fallen back


def test_two_concurrent_clients_start_one_server(fs):
    procs = [
        subprocess.Popen(fs.cmd(f"c{i}"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, cwd=fs.cwd, env=fs.env)
        for i in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    import json

    for i, (p, (out, _)) in enumerate(zip(procs, outs, strict=True)):
        assert p.returncode == 0
        rep = json.loads(out)
        assert rep["served"] and rep["argv"][1] == f"c{i}"
    assert len(fs.servers()) == 1 and len(fs.server_pids()) == 1


@pytest.mark.parametrize("env", [{"BELMIG_FORKSERVER": "0"}, {"BELMIG_TRACE_IO": "/nonexistent"}])
def test_disabled_or_traced_jobs_run_in_a_fresh_interpreter(fs, env):
    rep = _report(fs.run("plain", stdin="in", PROBE_VALUE="v", **env))
    assert not rep["served"]
    assert rep["argv"][1:] == ["plain"] and rep["env"] == "v" and rep["stdin"] == "in"
    assert not fs.servers()
    assert fs.run("exit", "3", **env).returncode == 3


def test_another_key_gets_another_server_and_a_dead_server_is_replaced(fs):
    assert _report(fs.run("one"))["served"]
    assert _report(fs.run("two", BELMIG_FORKSERVER_PRELOAD="json,csv"))["served"]
    assert len(fs.servers()) == 2
    before = set(fs.server_pids())
    for pid in before:
        os.kill(pid, signal.SIGKILL)  # no clean-up: the sockets stay
    assert all(_gone(pid) for pid in before)
    assert _report(fs.run("three"))["served"]  # the first key's stale socket: a new server
    after = set(fs.server_pids())
    assert len(after) == 2 and len(after & before) == 1


def _wait_for(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return int(path.read_text())


def _gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_client_kills_its_job(fs, tmp_path, sig):
    pidfile = tmp_path / "job.pid"
    client = subprocess.Popen(fs.cmd("sleep", str(pidfile)), stdin=subprocess.DEVNULL, cwd=fs.cwd, env=fs.env)
    job = _wait_for(pidfile)
    assert job != client.pid  # the job is the server's fork, not the client
    client.send_signal(sig)
    assert client.wait(timeout=10) == -sig
    assert _gone(job)


def test_a_stopped_server_removes_its_socket_and_the_next_job_starts_another(fs):
    assert _report(fs.run("one"))["served"]
    (pid,) = fs.server_pids()
    os.kill(pid, signal.SIGTERM)
    assert _gone(pid)
    assert not fs.servers()
    assert _report(fs.run("two"))["served"]
    assert fs.server_pids() != [pid]


def test_a_server_serves_while_it_preloads_and_jobs_get_what_it_has_loaded(fs):
    # "before;while": json before the server listens, wave (never imported by a job) while it serves
    env = {"BELMIG_FORKSERVER_PRELOAD": "json;wave"}
    assert _report(fs.run("first", **env))["served"]
    deadline = time.monotonic() + 30
    while not _report(fs.run("later", **env))["wave"]:  # the preload goes on between jobs
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert len(fs.server_pids()) == 1


def test_forkserver_start_starts_the_server_a_job_would_use_and_returns_at_once(fs):
    t = time.monotonic()
    forkserver.start(dict(fs.env, BELMIG_FORKSERVER_PRELOAD="json;wave"))
    assert time.monotonic() - t < 1
    deadline = time.monotonic() + 30
    while not fs.servers():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (pid,) = fs.server_pids()
    assert _report(fs.run("job", BELMIG_FORKSERVER_PRELOAD="json;wave"))["served"]
    assert fs.server_pids() == [pid]  # the job used the server started for it
    forkserver.start(dict(fs.env, BELMIG_FORKSERVER="0"))  # disabled: starts nothing
    assert fs.server_pids() == [pid]


def test_a_preload_that_imports_belmig_makes_the_server_refuse_and_jobs_run_on_their_own(fs):
    env = {"BELMIG_FORKSERVER_PRELOAD": ";belmig.core.paths"}  # found on the jobs' PYTHONPATH
    assert _report(fs.run("one", **env))["served"] in (True, False)  # before or after the import
    deadline = time.monotonic() + 30
    while True:
        rep = _report(fs.run("two", **env))
        if not rep["served"]:
            break  # refused: the client ran the job itself, and it succeeded
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert rep["argv"][1:] == ["two"] and len(fs.server_pids()) == 1


def test_a_no_core_jobs_thread_exports_are_those_of_a_one_core_job():
    """rules/common.smk's ONE_THREAD (rule render_edition, threads: 0) sets every thread count
    Snakemake's shell() exports, to what it exports for one thread: the job's client finds the
    server the other jobs use (the counts are part of its key) instead of starting a cold one."""
    import importlib.util
    import re

    source = Path(importlib.util.find_spec("snakemake.shell").origin).read_text()
    exported = set(re.findall(r'envvars\["(\w+)"\] = threads', source))
    assert len(exported) >= 5
    common = (Path(__file__).resolve().parents[1] / "rules" / "common.smk").read_text()
    block = re.search(r"ONE_THREAD = \(\n((?:    \".*\"\n)+)\)", common).group(1)
    text = "".join(re.findall(r'"(.*)"', block))
    assert text.startswith("export ") and text.endswith(";")
    assert dict(v.split("=") for v in text[len("export ") : -1].split()) == dict.fromkeys(exported, "1")
    keyed = {v for v in exported if v.startswith(forkserver.KEY_ENV_PREFIXES) or v in forkserver.KEY_ENV}
    assert keyed == exported  # each is part of the server's key: a 0 would name another server


def test_a_job_reports_its_status_though_its_server_is_stopped_while_it_runs(fs, tmp_path):
    """The job tells its client how it ended (before its exit): a server stopped (SIGTERM: it
    stops listening and still tends its jobs) or killed meanwhile loses no job."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pidfile, go = tmp_path / f"job{sig}.pid", tmp_path / f"go{sig}"
        client = subprocess.Popen(
            fs.cmd("slow-exit", str(pidfile), str(go)), stdin=subprocess.DEVNULL, cwd=fs.cwd, env=fs.env
        )
        _wait_for(pidfile)
        (server,) = fs.server_pids()
        os.kill(server, sig)
        if sig == signal.SIGKILL:
            assert _gone(server)  # (a stopped one waits for its jobs)
        go.write_text("go")
        assert client.wait(timeout=30) == 5
        assert _gone(server)
        for log in (fs.servers()[0].parent if fs.servers() else Path("/nonexistent")).glob("*.log"):
            log.unlink()  # the next round's server is the only one listed


def test_a_job_that_ends_leaves_its_background_process_alone_as_without_the_server(fs, tmp_path):
    for env in ({}, {"BELMIG_FORKSERVER": "0"}):
        pidfile = tmp_path / f"bg{len(env)}.pid"
        assert fs.run("background", str(pidfile), **env).returncode == 0
        bg = int(pidfile.read_text())
        time.sleep(0.3)  # the server has seen the client go
        try:
            os.kill(bg, 0)  # still running
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(bg, signal.SIGKILL)


def test_a_program_run_by_a_served_job_finds_the_descriptors_it_would_without_the_server(fs):
    served = fs.run("fds")
    direct = fs.run("fds", BELMIG_FORKSERVER="0")
    assert served.returncode == direct.returncode == 0, served.stderr + direct.stderr
    assert served.stdout == direct.stdout == "['0', '1', '2', '3']\n"


def test_a_process_the_job_forks_does_not_report_for_it(fs):
    assert fs.run("fork").returncode == 4


LOAD_CLIENT = (
    "import importlib.util as u; s = u.spec_from_file_location('client', {path!r}); "
    "m = u.module_from_spec(s); s.loader.exec_module(m); "
)


def test_the_snakefile_and_a_job_s_client_name_the_same_server(fs):
    """start() runs in Snakemake's interpreter (with its site), a client with -S -I: the key is
    the same (the virtualenv's packages count in both)."""
    env = {**fs.env, "PYTHONPATH": str(CLIENT.parents[2])}
    code = "from belmig.core import forkserver; print(forkserver.server_key())"
    with_site = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    client = subprocess.run(
        [sys.executable, "-SI", "-c", LOAD_CLIENT.format(path=str(CLIENT)) + "print(m.server_key())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert with_site.stdout == client.stdout and len(client.stdout.strip()) == 20


def test_a_job_killed_by_a_signal_ends_its_client_with_that_signal(fs):
    """A job that dies of a signal reports nothing itself: the server, its parent, reports it."""
    proc = fs.run("killed")
    assert proc.returncode == -signal.SIGKILL and proc.stdout == "before the signal\n"
    assert fs.servers()  # served
