"""The project's compiled bytecode, kept where ``PYTHONDONTWRITEBYTECODE`` does not reach.

These machines set ``PYTHONDONTWRITEBYTECODE=1``, so every job compiled the ``belmig`` modules it
imports from source again: 0.15 s of the report job's 2.2 s, 0.1–0.2 s of each of the build's ~20
jobs, and part of a no-op's parse (issue 17). Third-party packages are compiled when they are
installed; the project's code never was.

:func:`install` (called by ``belmig/__init__.py`` when Python writes no bytecode and the package
runs from a checkout) puts a finder first on ``sys.meta_path`` for the ``belmig.*`` modules of
this checkout. Its loader keeps each module's code object in
``.snakemake/belmig/pycache/<sha256>``, named by the digest of the interpreter's magic number,
the source path and the source bytes: an edited module has another name, so a cached file is
never stale and nothing compares times. A cache that cannot be read or written is passed by;
the module is then compiled as before. The directory is Snakemake's scratch space beside the
workflow (``.snakemake/``), never a build output; deleting it costs one compile per module.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import marshal
import os
import sys
from pathlib import Path

CACHE = Path(".snakemake") / "belmig" / "pycache"  # relative to the checkout


class CachingLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose code objects are cached by content (see the module docstring)."""

    cache_dir: Path

    def get_code(self, fullname: str):
        source = self.get_data(self.path)
        key = hashlib.sha256(importlib.util.MAGIC_NUMBER + os.fsencode(self.path) + b"\0" + source).hexdigest()
        cached = self.cache_dir / key[:2] / key
        try:
            return marshal.loads(cached.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            pass
        code = self.source_to_code(source, self.path)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{key}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(code))
            os.replace(tmp, cached)
        except OSError:
            pass
        return code


class Finder(importlib.abc.MetaPathFinder):
    """Finds the submodules of `package` as the path finder does, with :class:`CachingLoader`
    for source files under `src` (this checkout's ``src/``)."""

    def __init__(self, src: Path, cache_dir: Path, package: str = "belmig"):
        self.src = str(src) + os.sep
        self.cache_dir = cache_dir
        self.prefix = package + "."

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self.prefix):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if (
            spec is None
            or type(spec.loader) is not importlib.machinery.SourceFileLoader
            or not str(spec.origin).startswith(self.src)
        ):
            return spec
        loader = CachingLoader(spec.loader.name, spec.loader.path)
        loader.cache_dir = self.cache_dir
        spec.loader = loader
        return spec


def install(package_dir: Path) -> bool:
    """Install the finder for the checkout that holds `package_dir` (``src/belmig``); True when
    installed (or already), False when Python writes bytecode itself or this is not a checkout."""
    if not sys.dont_write_bytecode:
        return False
    src = package_dir.resolve().parent
    root = src.parent
    if not (root / "Snakefile").is_file():
        return False
    if any(isinstance(f, Finder) and f.src == str(src) + os.sep for f in sys.meta_path):
        return True
    sys.meta_path.insert(0, Finder(src, root / CACHE))
    return True
