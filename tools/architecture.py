"""Write the generated parts of docs/architecture.md: the stage table (from the rules) and the module
list (from src/belmig/).

    python tools/architecture.py           rewrite them in place
    python tools/architecture.py --check   exit 1, showing the difference, when the doc is stale

The stage table comes from Snakemake's dry run of the whole DAG (tools/dryrun.py): one row per rule
in dependency order, what it runs (its notebook, or the ``python -m`` module), what it reads
(declared inputs, code folded into its folder) and what it writes (declared outputs). Files that
differ only in a number are folded into a range (``figures/chart{01…18}.svg``), files that differ
only in their extension into a set (``notebooks/executed/01_audit.{ipynb,html}``).
tests/test_layout.py fails when the doc and the code disagree.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dryrun  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "src" / "belmig"
SECTIONS = ("stage table", "module list")


def _marker(name: str, end: bool = False) -> str:
    return f"<!-- {'end' if end else 'begin'} generated {name} (python tools/architecture.py) -->"


# ------------------------------------------------------------------------------ folding paths
def _ranges(numbers: list[str]) -> str:
    """``{01…18}`` when consecutive (same width), else ``{1,3,7}``."""
    ints = sorted(int(n) for n in numbers)
    width = len(numbers[0])
    if len(set(map(len, numbers))) == 1 and ints == list(range(ints[0], ints[-1] + 1)):
        return f"{{{ints[0]:0{width}d}…{ints[-1]:0{width}d}}}"
    return "{" + ",".join(sorted(numbers, key=int)) + "}"


def fold(paths: list[str]) -> list[str]:
    """Paths with their numbered families and extension sets folded (see the module docstring)."""
    by_shape: dict[tuple[str, ...], list[str]] = defaultdict(list)
    order: list[tuple[str, ...]] = []
    for p in dict.fromkeys(paths):
        parts = re.split(r"(\d+)", p)
        shape = tuple(parts[0::2])
        if shape not in by_shape:
            order.append(shape)
        by_shape[shape].append(p)
    numbered = []
    for shape in order:
        members = by_shape[shape]
        if len(members) == 1:
            numbered.append(members[0])
            continue
        # the one numeric part that varies becomes a range; the others are equal
        splits = [re.split(r"(\d+)", m)[1::2] for m in members]
        varying = [i for i in range(len(splits[0])) if len({s[i] for s in splits}) > 1]
        if len(varying) != 1:
            numbered.extend(members)
            continue
        i = varying[0]
        nums = splits[0][:]
        nums[i] = _ranges([s[i] for s in splits])
        numbered.append("".join(x for pair in zip(shape, [*nums, ""]) for x in pair))
    by_stem: dict[str, list[str]] = defaultdict(list)
    for p in numbered:
        head, _, name = p.rpartition("/")
        stem, dot, ext = name.partition(".")
        by_stem[f"{head}/{stem}" if head else stem].append(ext if dot else "")
    out = []
    for stem, exts in by_stem.items():
        if len(exts) == 1:
            out.append(f"{stem}.{exts[0]}" if exts[0] else stem)
        else:
            out.append(f"{stem}.{{{','.join(exts)}}}")
    return out


# ------------------------------------------------------------------------------ the stage table
def _is_stage_notebook(path: str) -> bool:
    return Path(path).parent.as_posix() == "notebooks" and path.endswith(".ipynb")


def _runs(job: dryrun.Job) -> str:
    nb = [p for p in job.inputs if _is_stage_notebook(p)]
    if nb:
        return f"`{Path(nb[0]).stem}`"
    argv = job.argv()
    module = argv[argv.index("-m") + 1]
    sub = argv[argv.index("-m") + 2] if module == "belmig.cli" else ""
    return f"`{module}{' ' + sub if sub else ''}`"


def _cell(paths: list[str]) -> str:
    code = sorted({str(Path(p).parent) + "/" for p in paths if p.startswith("src/")})
    files = fold([p for p in paths if not p.startswith("src/")])
    return ", ".join([f"`{p}`" for p in files] + [f"code in `{d}`" for d in code])


def _order(rules: dict[str, dict]) -> list[str]:
    """Rules in dependency order (a rule after every rule whose output it reads; ties by name)."""
    producer = {o: r for r, v in rules.items() for o in v["outputs"]}
    needs = {r: {producer[i] for i in v["inputs"] if i in producer} - {r} for r, v in rules.items()}
    done: list[str] = []
    while len(done) < len(rules):
        ready = sorted(r for r in rules if r not in done and needs[r] <= set(done))
        if not ready:
            raise RuntimeError(f"cycle among {sorted(set(rules) - set(done))}")
        done.append(ready[0])
    return done


def stage_table(jobs: list[dryrun.Job]) -> str:
    rules: dict[str, dict] = {}
    for j in sorted(jobs, key=lambda j: j.outputs):  # Snakemake lists a rule's jobs in no fixed order
        r = rules.setdefault(j.rule, {"jobs": 0, "inputs": [], "outputs": [], "runs": _runs(j)})
        r["jobs"] += 1
        r["inputs"] += j.inputs
        r["outputs"] += j.outputs
    lines = ["| stage (rule) | runs | reads | writes |", "|---|---|---|---|"]
    for name in _order(rules):
        r = rules[name]
        nb = {p for p in r["inputs"] if _is_stage_notebook(p)}
        stage = f"`{name}`" + (f" (×{r['jobs']})" if r["jobs"] > 1 else "")
        reads = _cell([p for p in r["inputs"] if p not in nb])
        lines.append(f"| {stage} | {r['runs']} | {reads} | {_cell(r['outputs'])} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ the module list
def module_list(package: Path = PACKAGE) -> str:
    """One line per package of src/belmig/: its modules (numbered ones folded), entry point noted."""
    lines = []
    for pkg in sorted([package, *(p.parent for p in package.rglob("*/__init__.py"))]):
        rel = pkg.relative_to(package.parent).as_posix()
        mods = sorted(p.stem for p in pkg.glob("*.py") if not p.stem.startswith("__"))
        subs = sorted(p.parent.name + "/" for p in pkg.glob("*/__init__.py"))
        names = fold(mods) + subs
        main = f" (`python -m {rel.replace('/', '.')}`)" if (pkg / "__main__.py").exists() else ""
        lines.append(f"- `{rel}/`{main}: " + ", ".join(f"`{n}`" for n in names))
    return "\n".join(lines)


# ------------------------------------------------------------------------------ the document
def render(doc: str, generated: dict[str, str]) -> str:
    for name, body in generated.items():
        begin, end = _marker(name), _marker(name, end=True)
        pattern = re.compile(re.escape(begin) + r"\n(?:.*?\n)?" + re.escape(end), re.S)
        if not pattern.search(doc):
            raise RuntimeError(f"{DOC}: no '{begin}' ... '{end}' section")
        doc = pattern.sub(lambda _m, b=begin, e=end, t=body: f"{b}\n{t}\n{e}", doc)
    return doc


def generate(root: Path = ROOT) -> dict[str, str]:
    return {"stage table": stage_table(dryrun.jobs(root)), "module list": module_list(root / "src" / "belmig")}


def main(argv: list[str]) -> int:
    doc = DOC.read_text(encoding="utf-8")
    new = render(doc, generate())
    if "--check" in argv:
        if new != doc:
            sys.stdout.writelines(
                difflib.unified_diff(doc.splitlines(True), new.splitlines(True), str(DOC), "generated")
            )
            print("\ndocs/architecture.md is out of date: run python tools/architecture.py")
            return 1
        return 0
    DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
