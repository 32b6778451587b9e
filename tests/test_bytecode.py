"""belmig.core.bytecode: the project's modules compiled once and kept by content, where
PYTHONDONTWRITEBYTECODE (set on these machines) would have them compiled by every job."""

from __future__ import annotations

import importlib
import sys

import pytest

from belmig.core import bytecode


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A package `cachedpkg` in tmp/src/, found through the caching finder."""
    src = tmp_path / "src"
    (src / "cachedpkg").mkdir(parents=True)
    (src / "cachedpkg" / "__init__.py").write_text("", encoding="utf-8")
    (src / "cachedpkg" / "mod.py").write_text("VALUE = 1\n", encoding="utf-8")
    cache = tmp_path / bytecode.CACHE
    finder = bytecode.Finder(src, cache, package="cachedpkg")
    monkeypatch.syspath_prepend(str(src))
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    yield src, cache
    for name in [m for m in sys.modules if m == "cachedpkg" or m.startswith("cachedpkg.")]:
        del sys.modules[name]


def fresh_import(name: str):
    for m in [m for m in sys.modules if m == "cachedpkg" or m.startswith("cachedpkg.")]:
        del sys.modules[m]
    importlib.invalidate_caches()
    return importlib.import_module(name)


def test_a_module_is_compiled_once_and_then_read_from_the_cache(checkout):
    src, cache = checkout
    mod = fresh_import("cachedpkg.mod")
    assert mod.VALUE == 1
    assert isinstance(mod.__spec__.loader, bytecode.CachingLoader)
    files = sorted(p for p in cache.rglob("*") if p.is_file())
    assert len(files) == 1 and len(files[0].name) == 64  # named by its sha256
    mtime = files[0].stat().st_mtime_ns
    assert fresh_import("cachedpkg.mod").VALUE == 1
    assert [p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()] == [mtime]  # read, not rewritten


def test_an_edited_module_is_never_read_from_a_stale_entry(checkout):
    src, cache = checkout
    assert fresh_import("cachedpkg.mod").VALUE == 1
    (src / "cachedpkg" / "mod.py").write_text("VALUE = 2\n", encoding="utf-8")  # same size, maybe same mtime
    assert fresh_import("cachedpkg.mod").VALUE == 2
    assert len([p for p in cache.rglob("*") if p.is_file()]) == 2


def test_a_broken_or_unwritable_cache_is_passed_by(checkout):
    src, cache = checkout
    fresh_import("cachedpkg.mod")
    (entry,) = [p for p in cache.rglob("*") if p.is_file()]
    entry.write_bytes(b"not marshal data")
    assert fresh_import("cachedpkg.mod").VALUE == 1
    (src / "cachedpkg" / "mod.py").write_text("VALUE = 3\n", encoding="utf-8")
    entry.parent.chmod(0o500)  # root ignores the mode; the write is in a try either way
    try:
        assert fresh_import("cachedpkg.mod").VALUE == 3
    finally:
        entry.parent.chmod(0o700)


def test_tracebacks_name_the_source_file(checkout):
    src, _ = checkout
    (src / "cachedpkg" / "boom.py").write_text("def f():\n    raise ValueError('x')\n", encoding="utf-8")
    for _ in range(2):  # compiled, then from the cache
        mod = fresh_import("cachedpkg.boom")
        assert mod.f.__code__.co_filename == str(src / "cachedpkg" / "boom.py")


def test_install_only_without_bytecode_and_in_a_checkout(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    pkg = tmp_path / "src" / "belmig"
    pkg.mkdir(parents=True)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert bytecode.install(pkg) is False  # no Snakefile: not a checkout
    (tmp_path / "Snakefile").write_text("", encoding="utf-8")
    assert bytecode.install(pkg) is True
    assert bytecode.install(pkg) is True
    assert sum(isinstance(f, bytecode.Finder) and f.src.startswith(str(tmp_path)) for f in sys.meta_path) == 1
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert bytecode.install(tmp_path / "other") is False
