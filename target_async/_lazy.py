"""Lazy package exports (PEP 562): a package names what it exports and where it lives;
a name's module is imported on first access."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: Mapping[str, str], *, public_module: bool = False
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`, whose names live in the `exports` modules.

    With `public_module`, classes from private modules report the package as their module
    (reprs and tracebacks show `target_async.AsyncTargetClient`, as httpx does); attrs
    classes keep theirs, because cattrs resolves their string annotations in it.
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        # `__import__`, not `importlib.import_module`: the latter bypasses the timer of
        # `-X importtime`, which would then charge a lazy module to whoever touched it.
        absolute = package + module if module.startswith(".") else module
        __import__(absolute)
        value = getattr(sys.modules[absolute], name)
        if (
            public_module
            and isinstance(value, type)
            and not hasattr(value, "__attrs_attrs__")
            and value.__module__.startswith(f"{package}._")
        ):
            value.__module__ = package
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
