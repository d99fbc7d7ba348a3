"""What the fuzz suites share: their hypothesis settings, hostile values, the edge-host check.

`make test` runs each suite with the fast profile; `TARGET_FUZZ_PROFILE=soak` (as
`make soak` sets it) runs many more examples of each.
"""

from __future__ import annotations

import enum
import functools
import os
import re
import types
import typing
from typing import Any

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from target_async import TargetError

__all__ = [
    "ADOBE_EDGE_HOST",
    "FUZZ",
    "Deep",
    "assert_edge_host",
    "hostile_values",
    "json_values",
    "model_strategy",
    "mutated",
    "paths_of",
]

_PROFILES: dict[str, dict[str, Any]] = {
    # No shrinking in `make test`: a failure shows at once, with the example that found it.
    "fast": {"max_examples": 40, "phases": [Phase.explicit, Phase.reuse, Phase.generate]},
    "soak": {"max_examples": int(os.environ.get("TARGET_FUZZ_EXAMPLES", "2000"))},
}
_PROFILE = os.environ.get("TARGET_FUZZ_PROFILE", "fast")
if _PROFILE not in _PROFILES:
    raise RuntimeError(f"TARGET_FUZZ_PROFILE must be one of {sorted(_PROFILES)}, got {_PROFILE!r}")

FUZZ = settings(
    deadline=None,
    derandomize=_PROFILE == "fast",  # the same examples on every `make test`
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    **_PROFILES[_PROFILE],
)
"""The settings of every fuzz test (examples per test by profile; no per-example deadline)."""

ADOBE_EDGE_HOST = re.compile(r"mboxedge[A-Za-z0-9]+\.tt\.omtrdc\.net")


def assert_edge_host(host: str, configured: str) -> None:
    """A request went to the configured host or to an Adobe edge cluster, nowhere else."""
    assert host == configured or ADOBE_EDGE_HOST.fullmatch(host), f"request left the edge: {host!r}"


class Deep:
    """Objects nested `levels` deep, built where `mutated` puts them (a plain value that deep
    would break hypothesis' own printing of the example)."""

    def __init__(self, levels: int) -> None:
        self.levels = levels

    def __repr__(self) -> str:
        return f"Deep({self.levels})"

    def build(self) -> Any:
        value: Any = {}
        for _ in range(self.levels):
            value = {"a": value}
        return value


def hostile_values() -> st.SearchStrategy[Any]:
    """Values a request, cookie or answer must never be allowed to crash the SDK with."""
    return st.one_of(
        st.sampled_from(
            [
                None,
                True,
                0,
                -1,
                2**63,
                -(2**70),
                10**5000,
                float("nan"),
                float("inf"),
                -float("inf"),
                1e308,
                "",
                "x\ud800",
                "\u0000",
                "é\U000997a2",
                "@127.0.0.1:1/",
                [],
                [[1]],
                {},
                {"a": float("nan")},
                b"bytes",
                {1, 2},
                (1, 2),
                object(),
                Deep(70),
                Deep(5000),
            ]
        ),
        st.text(max_size=20),
        st.integers(),
        st.floats(),
    )


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
"""Plain JSON values (valid, if not meaningful, anywhere the spec allows free-form JSON)."""


@functools.cache
def model_strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Instances of a model (or any of its field types) with every field drawn, as the spec types them."""
    if attrs.has(tp):
        fields = attrs.fields(attrs.resolve_types(tp))
        return st.builds(tp, **{f.name: st.none() | model_strategy(f.type) for f in fields})
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return st.one_of(*(model_strategy(arg) for arg in typing.get_args(tp)))
    if tp is type(None):
        return st.none()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return st.lists(model_strategy(args[0]), max_size=2)
    if origin is dict:
        return st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)
    if tp is Any:
        return json_values
    scalars: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=10),
        int: st.integers(-(2**31), 2**31),
        float: st.floats(allow_nan=False, allow_infinity=False, width=32),
        bool: st.booleans(),
    }
    return scalars[tp]


def paths_of(value: Any, max_length: int = 8) -> list[tuple[Any, ...]]:
    """Every path into a JSON value up to `max_length` steps (the root's is ())."""
    paths: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        paths.append(path)
        if len(path) < max_length and isinstance(item, (dict, list)):
            children = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend(((*path, key), child) for key, child in children)
    return paths


def mutated(value: Any, path: tuple[Any, ...], replacement: Any) -> Any:
    """A copy of `value` with the part at `path` replaced (the parts on the way copied)."""
    if not path:
        return replacement.build() if isinstance(replacement, Deep) else replacement
    head, *rest = path
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = mutated(value[head], tuple(rest), replacement)
    return copy


def documented(error: BaseException, *allowed: type[TargetError]) -> bool:
    """Whether an error is one the SDK documents for this path."""
    return isinstance(error, allowed or (TargetError,))
