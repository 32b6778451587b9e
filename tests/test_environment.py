"""The conda environment pins exactly what the pip lock pins; the lock covers requirements.in."""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import write_environment_yml  # noqa: E402


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_environment_yml_matches_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = {p.split("==")[0].lower().replace("_", "-"): p.split("==")[1] for p in pip_section}
    assert conda_pins == lock_pins()
    assert "python=3.11" in env["dependencies"]
    # and the file is exactly what the generator writes (nobody edited it by hand)
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    assert (ROOT / "environment.yml").read_text(encoding="utf-8") == write_environment_yml.render(lock)


def test_every_direct_requirement_is_pinned():
    pins = lock_pins()
    for line in (ROOT / "requirements.in").read_text(encoding="utf-8").splitlines():
        name = re.split(r"[<>=\[ ]", line.strip())[0].lower().replace("_", "-")
        if name and not name.startswith("#"):
            assert name in pins, f"{name} is in requirements.in but not pinned in requirements.lock"
