"""Names a package imports from its modules when first used (PEP 562), so that importing the
package costs nothing until one is: ``belmig.estimate`` and ``belmig.privacy`` use it (the
report stage reads the disclosure decisions without paying for k-anonymity's imports).

    __getattr__, __dir__ = lazy.exports(__name__, {"estimate_all": "compute", ...}, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of `package`: `names` maps each exported
    name to the module of `package` that defines it; a name is imported once, then kept in
    `namespace` (the package's globals())."""

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted([*namespace, *names])

    return __getattr__, __dir__
