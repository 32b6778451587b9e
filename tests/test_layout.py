"""The house a newcomer reads: module sizes, docs/architecture.md against the code, package data,
paths and dependencies that are all used."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "belmig"
sys.path.insert(0, str(ROOT / "tools"))
import architecture  # noqa: E402

MAX_LINES = 600


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


# ------------------------------------------------------------------------------ module size
def test_no_module_is_over_600_lines_without_saying_why():
    """A module above 600 lines states at its top why it is kept whole (its docstring names the size)."""
    long = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in modules()}
    long = {p: n for p, n in long.items() if n > MAX_LINES}
    unexplained = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for p, n in long.items()
        if "600 lines" not in (ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or "")
    ]
    assert not unexplained, f"over {MAX_LINES} lines, no reason in the module docstring: {unexplained}"


def test_the_size_rule_catches_a_long_module(tmp_path, monkeypatch):
    fake = tmp_path / "src" / "belmig"
    fake.mkdir(parents=True)
    (fake / "big.py").write_text('"""A module."""\n' + "x = 1\n" * MAX_LINES, encoding="utf-8")
    (fake / "said.py").write_text(
        '"""A module, above 600 lines because ..."""\n' + "x = 1\n" * MAX_LINES, encoding="utf-8"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError, match=r"\['src/belmig/big\.py \(601 lines\)'\]"):
        test_no_module_is_over_600_lines_without_saying_why()


# ------------------------------------------------------------------------------ docs/architecture.md
@pytest.fixture(scope="module")
def generated():
    return architecture.generate(ROOT)


def test_architecture_doc_matches_the_rules_and_the_package(generated):
    doc = architecture.DOC.read_text(encoding="utf-8")
    assert architecture.render(doc, generated) == doc, "docs/architecture.md is stale: run python tools/architecture.py"


def test_the_stage_table_has_every_rule(generated):
    table = generated["stage table"]
    rules = set(
        re.findall(
            r"^rule (\w+):", "".join(p.read_text(encoding="utf-8") for p in (ROOT / "rules").glob("*.smk")), re.M
        )
    )
    assert {r for r in re.findall(r"^\| `(\w+)`", table, re.M)} == rules
    assert "| `draw_charts` | `belmig.charts` |" in table  # one job draws every chart (issue 17)


def test_the_prose_names_every_module_of_its_package():
    """The hand-written bullets of "Package layout" name each module of their package, and no
    module that is gone (a bare lowercase name in backticks is a module of that package)."""
    doc = architecture.DOC.read_text(encoding="utf-8")
    section = doc[doc.index("## Package layout") : doc.index("<!-- begin generated module list")]
    bullets = dict(re.findall(r"^- `(\w+)/`:(.*?)(?=^- |\Z)", section, re.M | re.S))
    subpackages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py"))
    assert sorted(bullets) == subpackages
    for pkg, text in bullets.items():
        mods = {p.stem for p in (PACKAGE / pkg).glob("*.py") if not p.stem.startswith("__")}
        named = set(re.findall(r"`([a-z][a-z0-9_]*)`", text)) - {m for m in re.findall(r"`(\w+__\w+)`", text)}
        subs = {p.parent.name for p in (PACKAGE / pkg).glob("*/__init__.py")}
        assert mods <= named, f"{pkg}/: the prose does not name {sorted(mods - named)}"
        assert named <= mods | subs, f"{pkg}/: the prose names {sorted(named - mods - subs)}, not modules of {pkg}/"


def test_fold_makes_ranges_and_extension_sets():
    got = architecture.fold(
        ["figures/chart01.svg", "figures/chart02.svg", "figures/chart03.svg", "figures/chart01.png"]
        + ["figures/chart02.png", "figures/chart03.png", "data/a.csv", "data/a.csv.meta.yaml", "x/margins_2022-11.csv"]
    )
    assert got == ["figures/chart{01…03}.{svg,png}", "data/a.{csv,csv.meta.yaml}", "x/margins_2022-11.csv"]
    assert architecture.fold(["c1.txt", "c3.txt"]) == ["c{1,3}.txt"]


# ------------------------------------------------------------------------------ package data, paths
def test_package_data_is_declared_and_exists():
    """Every file of the package that is not Python is package data in pyproject.toml (so a wheel
    carries it), and every declared pattern matches a file."""
    tracked = subprocess.run(
        ["git", "ls-files", "src/belmig"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    data = {f for f in tracked.splitlines() if not f.endswith(".py")}
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    matched = set()
    for pkg, patterns in declared.items():
        folder = PACKAGE.parent / pkg.replace(".", "/")
        for pattern in patterns:
            hits = {p.relative_to(ROOT).as_posix() for p in folder.glob(pattern)}
            assert hits, f"package-data {pkg}: {pattern} matches nothing"
            matched |= hits
    assert data == matched


def test_every_public_path_is_used():
    """belmig.core.paths holds no dead constants: each public name is used outside it."""
    tree = ast.parse((PACKAGE / "core" / "paths.py").read_text(encoding="utf-8"))
    names = [t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)]
    public = [n for n in names if not n.startswith("_")]
    sources = [
        *PACKAGE.rglob("*.py"),
        *(ROOT / "rules").glob("*.smk"),
        ROOT / "Snakefile",
        *(ROOT / "notebooks").glob("*.ipynb"),
    ]
    sources += [*(ROOT / "tests").rglob("*.py"), *(ROOT / "tools").glob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources if p.name != "paths.py")
    unused = [n for n in public if not re.search(rf"\bpaths\.{n}\b|\bimport\b[^\n]*\b{n}\b", text)]
    assert not unused


# ------------------------------------------------------------------------------ dependencies
# Requirements no module imports, and what needs them.
NOT_IMPORTED = {
    "snakemake": "runs the DAG (the Snakefile imports it implicitly)",
    "jupyter": "to open and edit the stage notebooks",
    "ipykernel": "the kernel papermill executes the stage notebooks in",
    "pytest": "runs the tests",
    "ruff": "make lint / make format",
    "snakefmt": "make lint / make format",
}
IMPORT_NAME = {"pyyaml": "yaml", "pypandoc-binary": "pypandoc"}


def test_every_direct_requirement_is_used():
    """A requirement nobody imports is a dead dependency (seaborn was one), unless it is a tool."""
    reqs = []
    for line in (ROOT / "requirements.in").read_text(encoding="utf-8").splitlines():
        name = re.split(r"[<>=\[ ]", line.strip())[0].lower().replace("_", "-")
        if name and not name.startswith("#"):
            reqs.append(name)
    code = [
        *PACKAGE.rglob("*.py"),
        *(ROOT / "tests").rglob("*.py"),
        *(ROOT / "tools").glob("*.py"),
        *(ROOT / "benchmarks").rglob("*.py"),
    ]
    text = "\n".join(p.read_text(encoding="utf-8") for p in [*code, *(ROOT / "notebooks").glob("*.ipynb")])
    imported = set(re.findall(r"(?:^|\n|\\n\")\s*(?:import|from) ([a-z_][a-z0-9_]*)", text))
    imported |= set(re.findall(r"importorskip\(\"([a-z_]+)\"\)", text))
    dead = [r for r in reqs if IMPORT_NAME.get(r, r).replace("-", "_") not in imported and r not in NOT_IMPORTED]
    assert not dead, f"in requirements.in but never imported: {dead}"
    assert set(NOT_IMPORTED) <= set(reqs)  # no stale exceptions
