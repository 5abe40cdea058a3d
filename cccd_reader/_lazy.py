"""The one lazy-attribute loader: public names resolved on first use, and names that moved, with a warning.

``import cccd_reader`` stays fast (QR backends, PC/SC and the emulator load only when used), and a name
that moved keeps working from its old module for a release while it tells the caller where it lives now.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    module_name: str, table: Mapping[str, str], moved: Mapping[str, str] | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for a module whose public names (``table``: name -> defining
    module) load on first use; ``moved`` (old name -> defining module) still resolves, with a
    DeprecationWarning, and is left out of ``dir()``."""
    public = sorted(table)
    moved = dict(moved or {})

    def __getattr__(name: str) -> Any:
        target = table.get(name)
        if target is None:
            target = moved.get(name)
            if target is None:
                raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
            warnings.warn(f"{module_name}.{name} moved to {target}.{name}; import it from there",
                          DeprecationWarning, stacklevel=2)
            return getattr(importlib.import_module(target), name)
        value = getattr(importlib.import_module(target), name)
        vars(sys.modules[module_name])[name] = value  # resolved once
        return value

    def __dir__() -> list[str]:
        return list(public)

    return __getattr__, __dir__


def moved_names(module_name: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """``__getattr__`` for a module some of whose names moved (``table``: name -> new module): the old
    import keeps working and warns (DeprecationWarning) where the caller imports it."""
    return lazy_exports(module_name, {}, table)[0]
