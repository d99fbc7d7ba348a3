"""Which transport should target-async use by default? Each option, through the SDK's own
`get_offers`, next to bare httpx with its defaults in the same run.

The options are given through the client's `transport`/`limits` options, which replace
what `DeliveryTransport.http` builds by default; "default" is whatever it builds now.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio
import httpx

from benchmarks._harness import Edge, Row, Sample, Settings, median, row
from benchmarks.server_side import sample_bare_httpx, sample_target_async, sdk_request_body

__all__ = ["options", "run"]


def _httpx_pool(connections: int, keepalive: int | None = None) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        limits = httpx.Limits(
            max_connections=connections,
            max_keepalive_connections=connections if keepalive is None else keepalive,
            keepalive_expiry=30.0,
        )
        return {"transport": httpx.AsyncHTTPTransport(limits=limits), "limits": limits}

    return build


def _httpx_aiohttp() -> dict[str, Any]:
    module = importlib.import_module("httpx_aiohttp")

    class ShieldedClose(module.AiohttpTransport):  # type: ignore[name-defined,misc]
        # AsyncTargetClient.aclose cancels its task group before closing the transport,
        # and aiohttp's close awaits: shield it, as httpcore shields its own.
        async def aclose(self) -> None:
            with anyio.CancelScope(shield=True):
                await super().aclose()

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64, keepalive_expiry=30.0)
    return {"transport": ShieldedClose(limits=limits)}


def options() -> dict[str, Callable[[], dict[str, Any]]]:
    """Option name → a function building its client options (fresh transport per sample)."""
    found: dict[str, Callable[[], dict[str, Any]]] = {
        "default (what DeliveryTransport.http builds)": dict,
        "httpx pool, 64 connections, cap 64": _httpx_pool(64),
        "httpx pool, 8 connections, cap 8": _httpx_pool(8),
        "httpx pool, 4 connections, cap 4": _httpx_pool(4),
        "httpx pool, no keep-alive": _httpx_pool(64, keepalive=0),
    }
    if importlib.util.find_spec("httpx_aiohttp") is not None:
        found["httpx-aiohttp 0.2 AiohttpTransport"] = _httpx_aiohttp
    return found


def run(settings: Settings, edge: Edge, log: list[str]) -> list[Row]:
    body = anyio.run(sdk_request_body)
    built = options()
    samples: dict[tuple[str, int], list[Sample]] = {}
    ratios: dict[tuple[str, int], list[float]] = {}
    default_transport = ""
    for _ in range(settings.runs):
        for level in settings.option_levels:
            floor = anyio.run(sample_bare_httpx, edge, body, level, settings.duration)
            for name, build in built.items():
                sample, transport = anyio.run(
                    partial(sample_target_async, edge, level, settings.duration, **build())
                )
                samples.setdefault((name, level), []).append(sample)
                ratios.setdefault((name, level), []).append(sample.per_second / floor.per_second)
                if name.startswith("default"):
                    default_transport = transport
    log.append(f"transport options: the default transport is {default_transport}")
    rows = []
    for (name, level), runs in samples.items():
        rows.append(
            row(
                f"{name}, {level} in flight",
                median([s.per_second for s in runs]),
                "calls/s",
                median(ratios[(name, level)]),
                "bare httpx",
                group="transport options",
                in_flight=level,
                cpu_us=median([s.cpu_us for s in runs]),
                errors=sum(s.errors for s in runs),
            )
        )
    return rows
