"""Editor's loop timings: `make check`, and save -> refreshed HTML / PDF in the warm preview.

    .venv/bin/python benchmarks/bench_preview.py [--rounds 5] [--verbose]
    .venv/bin/python benchmarks/bench_preview.py --src /tmp/before/src   # another version, same tree

Needs a built ledger (`make report`). Starts `python -m belmig.report preview` on a free port,
rewords one sentence of report/report.qmd (and restores it), and polls /__version until the
HTML and then the PDF counters move. Prints the numbers (targets: < 1 s HTML, < 2.5 s PDF).
`--src` runs the preview from another checkout's ``src/`` on this tree (``BELMIG_ROOT``): run the
two alternately for a before/after pair on a shared machine. `--verbose` prints the preview's
own log (its check / html / pdf times per save).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QMD = ROOT / "report" / "report.qmd"
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def version(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__version", timeout=2) as r:
        return json.loads(r.read())


def cpu_seconds(pid: int, children: bool = True) -> float | None:
    """CPU seconds of the preview process, its finished children (pandoc) and its running ones
    (a checks' process): Linux only."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if children else []
    except OSError:
        return None
    own = sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    return own + sum(cpu_seconds(int(k), children=False) or 0.0 for k in kids)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--poll", type=float, default=0.01, help="seconds between two polls of /__version")
    ap.add_argument("--src", type=Path, default=None, help="run the preview from this src/ (a before/after pair)")
    ap.add_argument("--verbose", action="store_true", help="print the preview's own output (its timings)")
    a = ap.parse_args()
    env = dict(os.environ)
    if a.src is not None:  # the same built tree, another version of the code
        env.update(PYTHONPATH=str(a.src.resolve()), BELMIG_ROOT=str(ROOT))
    t0 = time.perf_counter()
    rc = subprocess.run(
        [PY, "-m", "belmig.report", "check", "--lang", "en"], cwd=ROOT, env=env, capture_output=True
    ).returncode
    check_en = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([PY, "-m", "belmig.report", "check"], cwd=ROOT, env=env, capture_output=True)
    check_all = time.perf_counter() - t0
    port = free_port()
    proc = subprocess.Popen([PY, "-m", "belmig.report", "preview", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    original = QMD.read_text(encoding="utf-8")
    html_t, pdf_t, cpu_t = [], [], []
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                v = version(port)
                if v["pdf"] >= 1:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        for i in range(a.rounds):
            v0 = version(port)
            c0 = cpu_seconds(proc.pid)
            QMD.write_text(
                original.replace("Two large waves of departure", f"Two large waves of departure{' ' * (i + 1)}", 1),
                encoding="utf-8",
            )
            t = time.perf_counter()
            got_html = None
            while time.perf_counter() - t < 60:
                v = version(port)
                if got_html is None and v["html"] > v0["html"]:
                    got_html = time.perf_counter() - t
                if v["pdf"] > v0["pdf"]:
                    pdf_t.append(time.perf_counter() - t)
                    break
                time.sleep(a.poll)
            html_t.append(got_html)
            time.sleep(0.3)
            c1 = cpu_seconds(proc.pid)
            if c0 is not None and c1 is not None:
                cpu_t.append(c1 - c0)
    finally:
        QMD.write_text(original, encoding="utf-8")
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        if a.verbose:
            print(out)
    med = lambda xs: sorted(x for x in xs if x is not None)[len(xs) // 2] if xs else float("nan")  # noqa: E731
    print("| measure | seconds | target |")
    print("|---|---|---|")
    print(f"| make check (English) | {check_en:.2f} | ~1 |")
    print(f"| make check (all editions) | {check_all:.2f} | ~1 |")
    print(f"| preview: save -> refreshed HTML (median of {len(html_t)}) | {med(html_t):.2f} | < 1 |")
    print(f"| preview: save -> refreshed PDF (median of {len(pdf_t)}) | {med(pdf_t):.2f} | < 2.5 |")
    if cpu_t:
        print(f"| preview: CPU seconds per save, pandoc and checks included (median) | {med(cpu_t):.2f} | |")
    return 0 if rc in (0, 1) else rc


if __name__ == "__main__":
    sys.exit(main())
