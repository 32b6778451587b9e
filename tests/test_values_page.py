"""The values page's source links: the lines each stage function spans, read with ast."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from belmig.core import paths
from belmig.report import values_page as vp

SPECS = sorted({s for table in (vp.STAGE_FUNCTIONS, vp.CELL_FUNCTIONS) for pair in table.values() for s in pair})


@pytest.mark.parametrize("spec", SPECS)
def test_function_lines_are_the_ones_inspect_gives(spec):
    mod, _, name = spec.partition(":")
    fn = getattr(importlib.import_module(mod), name)
    lines, first = inspect.getsourcelines(fn)
    path = Path(inspect.getsourcefile(fn)).resolve().relative_to(paths.ROOT).as_posix()
    assert vp.function_source(spec) == {
        "name": f"{mod}.{name}",
        "path": path,
        "first": first,
        "last": first + len(lines) - 1,
    }


def test_a_decorated_function_starts_at_its_decorator_and_a_missing_one_is_none(tmp_path):
    src = tmp_path / "mod.py"
    src.write_text("import functools\n\n\n@functools.cache\ndef f(x):\n    return x\n\n\ndef g():\n    pass\n")
    spans = vp._spans(str(src), src.stat().st_mtime_ns)
    assert spans == {"f": (4, 6), "g": (9, 10)}
    assert vp.function_source("belmig.estimate.compute:no_such_function") is None
    assert vp.function_source("belmig.no_such_module:f") is None


def test_finding_the_sources_imports_no_stage_code():
    code = (
        "import sys; from belmig.report import values_page as vp\n"
        "[vp.function_source(s) for t in (vp.STAGE_FUNCTIONS, vp.CELL_FUNCTIONS) for p in t.values() for s in p]\n"
        "print(sorted(m for m in ('scipy', 'pandas', 'belmig.estimate.compute', 'belmig.clean.steps') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_reading_the_disclosure_decisions_imports_no_solver_or_dataframe_library():
    """The report stages read public_values.json through belmig.privacy.publish; the audit's
    numpy, pandas and scipy are imported by the audit alone (rule protect_values)."""
    code = (
        "import sys; from belmig.privacy import publish; publish.load; publish.marked\n"
        "print(sorted(m for m in ('scipy', 'pandas', 'numpy', 'belmig.privacy.kanon') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
