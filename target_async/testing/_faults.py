"""Fault injection rules for the local edge.

A `Fault` says *which* requests it hits (path, method, host, a fraction of them, at most
`times` of them) and *what* happens to them (its `kind`, plus an optional `delay` before).
`FaultSet` holds the rules in order: the first rule that matches a request and wins its
draw is applied, and only that one. Draws come from a seeded `random.Random`, so a given
sequence of requests always meets the same faults.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from typing import Literal, get_args

import attrs

from target_async._exceptions import TargetConfigError

__all__ = ["ROUTE_NAMES", "Fault", "FaultKind", "FaultSet", "RouteName"]

FaultKind = Literal["latency", "status", "reset", "non_json", "truncated"]
"""What a fault does.

- "latency": answer normally, after `delay` seconds.
- "status": answer `status_code` (default 503) with a JSON error body (or `body`),
  `headers` and `Retry-After: retry_after` when given.
- "reset": abort the connection with a TCP RST, no answer.
- "non_json": answer 200 with an HTML page instead of JSON (what a proxy error page looks like).
- "truncated": answer 200 with the real head and only half of the body, then close.
"""

_FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))

RouteName = Literal["delivery", "artifact", "geo", "info"]
"""The edge's routes: `POST /rest/v1/delivery`, the CDN artifact paths
(`/{client}/{environment}/v1/[{property}/]rules.json|bin`), `GET /v1/geo`, and `GET /`."""

ROUTE_NAMES: frozenset[str] = frozenset(get_args(RouteName))


def _check_kind(instance: Fault, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in _FAULT_KINDS:
        raise TargetConfigError(
            f"Fault kind must be one of {sorted(_FAULT_KINDS)}, got {value!r}", key="kind"
        )


def _check_route(
    instance: Fault, attribute: attrs.Attribute[str | None], value: str | None
) -> None:
    if value is not None and value not in ROUTE_NAMES:
        raise TargetConfigError(
            f"Fault route must be one of {sorted(ROUTE_NAMES)}, got {value!r}", key="route"
        )


def _check_fault(fault: Fault) -> None:
    if fault.delay < 0:
        raise TargetConfigError("Fault delay must be >= 0", key="delay")
    if not 0.0 <= fault.fraction <= 1.0:
        raise TargetConfigError("Fault fraction must be between 0 and 1", key="fraction")
    if not 100 <= fault.status_code <= 599:
        raise TargetConfigError("Fault status_code must be an HTTP status", key="status_code")
    if fault.times is not None and fault.times < 0:
        raise TargetConfigError("Fault times must be >= 0", key="times")
    if fault.retry_after is not None and fault.retry_after < 0:
        raise TargetConfigError("Fault retry_after must be >= 0", key="retry_after")


@attrs.frozen(kw_only=True, eq=False)
class Fault:
    """One fault rule. Compared by identity: the same rule added twice is two rules.

    Examples:

    ```python
    Fault(kind="status", status_code=503, retry_after=2, fraction=0.5)
    Fault(kind="latency", delay=0.2, path="/rest/v1/delivery")
    Fault(kind="reset", times=1)   # only the first matching request
    Fault(kind="non_json", host="mboxedge28.tt.omtrdc.net")
    Fault(kind="status", status_code=500, route="artifact")   # every artifact download
    ```

    """

    kind: FaultKind = attrs.field(validator=_check_kind)
    delay: float = 0.0
    """Seconds to wait before doing what `kind` says (for "latency", the whole point)."""
    status_code: int = 503
    retry_after: float | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: str | None = None
    """The body of a "status" answer; default `{"status": <code>, "message": <reason>}`."""
    route: RouteName | None = attrs.field(default=None, validator=_check_route)
    """Only requests to this route (see `RouteName`); None for every route."""
    path: str | None = None
    """Only requests to this exact path (no query); None for every path."""
    method: str | None = None
    host: str | None = None
    """Only requests whose `Host` header (port stripped) is this host, case-insensitive."""
    fraction: float = 1.0
    """The share of matching requests hit, drawn from the fault set's seeded random."""
    times: int | None = None
    """At most this many requests are hit; None for no limit."""

    def __attrs_post_init__(self) -> None:
        _check_fault(self)

    def matches(self, method: str, path: str, host: str, route: str | None = None) -> bool:
        """Whether this rule targets the request (before `fraction` and `times` are applied)."""
        return (
            (self.route is None or self.route == route)
            and (self.path is None or self.path == path)
            and (self.method is None or self.method.upper() == method)
            and (self.host is None or self.host.lower() == host)
        )

    def response_headers(self) -> tuple[tuple[str, str], ...]:
        """The extra headers a "status" answer carries."""
        headers = tuple(self.headers.items())
        if self.retry_after is not None:
            seconds = self.retry_after
            value = str(int(seconds)) if seconds == int(seconds) else str(seconds)
            headers += (("Retry-After", value),)
        return headers


@attrs.define
class _Rule:
    fault: Fault
    applied: int = 0


class FaultSet:
    """The edge's fault rules, in the order they were added. Safe to change while serving."""

    def __init__(self, seed: int | None = 0) -> None:
        self._rules: list[_Rule] = []
        self._random = random.Random(seed)

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Fault]:
        return iter([rule.fault for rule in self._rules])

    def add(self, fault: Fault) -> Fault:
        """Append a rule; returns it, to pass to `remove` or `applied` later."""
        self._rules.append(_Rule(fault))
        return fault

    def remove(self, fault: Fault) -> None:
        """Drop a rule (no error if it is not there)."""
        self._rules = [rule for rule in self._rules if rule.fault is not fault]

    def clear(self) -> None:
        """Drop every rule."""
        self._rules = []

    def seed(self, seed: int | None) -> None:
        """Restart the draws from `seed`, so the next requests meet a known sequence of faults."""
        self._random.seed(seed)

    def applied(self, fault: Fault) -> int:
        """How many requests this rule has hit so far."""
        for rule in self._rules:
            if rule.fault is fault:
                return rule.applied
        return 0

    def pick(self, method: str, path: str, host: str, route: str | None = None) -> Fault | None:
        """The fault to apply to a request, if any; counts it as applied.

        `host` must already be lower-cased and without port; `route` is the route name the
        path resolved to (None when no route serves it). A draw is made only for a rule
        that matches and has a fraction below 1, so adding an always-on rule does not shift
        the sequence of the others.
        """
        for rule in self._rules:
            fault = rule.fault
            if not fault.matches(method, path, host, route):
                continue
            if fault.times is not None and rule.applied >= fault.times:
                continue
            if fault.fraction < 1.0 and self._random.random() >= fault.fraction:
                continue
            rule.applied += 1
            return fault
        return None
