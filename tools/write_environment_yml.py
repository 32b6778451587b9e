"""Write environment.yml (conda) from requirements.lock so both pin the same packages.

python tools/write_environment_yml.py     (run by `make lock`; tests/test_environment.py checks it)
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render(lock_lines: list[str]) -> str:
    pins = [ln.strip() for ln in lock_lines if ln.strip() and not ln.startswith("#")]
    head = [
        "# Generated from requirements.lock by tools/write_environment_yml.py — do not edit by hand.",
        "name: belmig",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
    ]
    return "\n".join(head + [f"      - {p}" for p in pins]) + "\n"


if __name__ == "__main__":
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
    (ROOT / "environment.yml").write_text(render(lock), encoding="utf-8")
