"""The public surface: what `target_async` exports, and what importing it costs."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from types import ModuleType

import pytest

import target_async
import target_async.decisioning
import target_async.models


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions and the rest.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_every_name_resolves() -> None:
    for package in (target_async, target_async.decisioning, target_async.models):
        assert package.__all__ == sorted(package.__all__, key=_isort_key), package.__name__
        assert len(set(package.__all__)) == len(package.__all__)
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
        assert set(package.__all__) <= set(dir(package))


def _type_checking_imports(package: ModuleType) -> dict[str, tuple[str, ...]]:
    """The names each module gives type checkers in the package's `if TYPE_CHECKING:` block."""
    tree = ast.parse(inspect.getsource(package))
    block = next(
        node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imports: dict[str, list[str]] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.unparse(node)
        for alias in node.names:
            # `X as X`: re-exported under `mypy --strict` (no implicit re-export).
            assert alias.asname == alias.name, ast.unparse(node)
            imports.setdefault("." * node.level + (node.module or ""), []).append(alias.name)
    return {module: tuple(names) for module, names in imports.items()}


@pytest.mark.parametrize("package", [target_async, target_async.decisioning, target_async.models])
def test_all_type_checkers_and_the_module_agree_on_the_public_names(package: ModuleType) -> None:
    exports: dict[str, tuple[str, ...]] = package._EXPORTS
    assert set(package.__all__) == {name for names in exports.values() for name in names}
    seen = _type_checking_imports(package)
    if package is target_async:
        seen["._version"] = ("__version__",)  # imported eagerly, for type checkers too
    assert {m: sorted(n) for m, n in seen.items()} == {m: sorted(n) for m, n in exports.items()}, (
        "the `if TYPE_CHECKING:` imports must name what _EXPORTS names"
    )
    for module, names in exports.items():
        defining = importlib.import_module(module, package.__name__)
        for name in names:
            assert getattr(package, name) is getattr(defining, name), f"{package.__name__}.{name}"


def test_every_model_is_exported_at_the_top_level() -> None:
    assert set(target_async.models.__all__) <= set(target_async.__all__)


def test_public_classes_show_the_public_module() -> None:
    assert repr(target_async.AsyncTargetClient) == "<class 'target_async.AsyncTargetClient'>"
    assert target_async.TargetError.__module__ == "target_async"


def test_unknown_names_raise_attribute_error() -> None:
    try:
        target_async.NoSuchThing  # noqa: B018
    except AttributeError as error:
        assert "NoSuchThing" in str(error)
    else:
        raise AssertionError("expected AttributeError")


def _modules_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(output.split())


def test_importing_the_package_loads_nothing_heavy() -> None:
    loaded = _modules_after("import target_async")
    assert not {"httpx", "cattrs", "target_async._client"} & loaded


def test_a_server_side_client_does_not_load_the_decisioning_engine() -> None:
    loaded = _modules_after(
        "from target_async import AsyncTargetClient, DeliveryRequest\n"
        "AsyncTargetClient.create(client='c', organization_id='o')"
    )
    assert "target_async._client" in loaded
    assert not {"target_async.decisioning._decide", "target_async._on_device", "target_async._sync", "mmh3"} & loaded


def test_first_use_defers_what_a_call_does_not_need_yet() -> None:
    # Issue #8: first use stays near `import httpx`. Each of these is loaded by the call
    # that needs it (conversion, callbacks, sync shim, on-device engine, telemetry).
    loaded = _modules_after("from target_async import AsyncTargetClient, DeliveryRequest")
    assert "target_async._client" in loaded
    deferred = {
        "cattrs",
        "asyncio",
        "aiohttp",
        "concurrent.futures",
        "anyio.from_thread",
        "anyio.abc",  # types only; it loads typing_extensions
        "target_async.decisioning",
        "target_async._future",
        "target_async._sync",
        "target_async.models._response",
    }
    assert not deferred & loaded
