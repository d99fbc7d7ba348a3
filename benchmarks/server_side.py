"""Server-side `get_offers` under load: target-async, bare httpx (the floor), the official SDK.

Every column sends the same typical request to the same edge process. Each run measures
every column at every level, in an order rotated per run, and a ratio is taken between
the samples of one run; the report shows medians over runs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from benchmarks import official
from benchmarks._harness import Edge, Row, Sample, Settings, median, row, saturate
from benchmarks.edge_server import CLIENT, ORGANIZATION_ID, TYPICAL_REQUEST, canned_response
from target_async import AsyncTargetClient, DeliveryRequest, TargetError
from target_async._serde import structure

__all__ = [
    "IMPLS",
    "client_options",
    "run",
    "run_notifications",
    "sdk_request_body",
    "typical_request",
]

IMPLS = ("target-async", "bare httpx", "official SDK")
SESSION_ID = "benchmark-session"

Caller = Callable[[], Awaitable[object]]


def typical_request() -> DeliveryRequest:
    return structure(TYPICAL_REQUEST, DeliveryRequest)


def client_options(edge: Edge, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "client": CLIENT,
        "organization_id": ORGANIZATION_ID,
        "server_domain": edge.server_domain,
        "secure": False,
    }
    options.update(overrides)
    return options


async def sdk_request_body() -> bytes:
    """The exact JSON target-async sends for the typical request, for bare httpx to post."""
    sent: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.content)
        return httpx.Response(200, content=canned_response())

    options = {
        "client": CLIENT,
        "organization_id": ORGANIZATION_ID,
        "transport": httpx.MockTransport(answer),
    }
    async with AsyncTargetClient.create(options) as client:
        await client.get_offers({"request": typical_request(), "session_id": SESSION_ID})
    return sent[0]


async def sample_target_async(
    edge: Edge, in_flight: int, duration: float, **overrides: Any
) -> tuple[Sample, str]:
    """One sample of target-async; also names the transport its client used."""
    request = typical_request()
    async with AsyncTargetClient.create(client_options(edge, **overrides)) as client:

        async def call() -> None:
            await client.get_offers({"request": request, "session_id": SESSION_ID})

        sample = await saturate(call, in_flight, duration=duration, errors=(TargetError,))
        transport = type(client._transport.http._transport).__name__
    return sample, transport


async def sample_bare_httpx(
    edge: Edge,
    body: bytes,
    in_flight: int,
    duration: float,
    client: httpx.AsyncClient | None = None,
) -> Sample:
    """httpx.AsyncClient with its defaults (or `client`), posting `body` and decoding the answer."""
    url = f"http://{edge.server_domain}/rest/v1/delivery"
    params = {"imsOrgId": ORGANIZATION_ID, "sessionId": SESSION_ID}
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    async with client or httpx.AsyncClient() as http:

        async def call() -> None:
            response = await http.post(url, params=params, content=body, headers=headers)
            response.raise_for_status()
            json.loads(response.content)

        return await saturate(call, in_flight, duration=duration, errors=(httpx.HTTPError,))


async def sample_send_notifications(edge: Edge, duration: float) -> Sample:
    """target-async's `send_notifications`, one display notification per call, one at a time."""
    serial = iter(range(10**9))
    async with AsyncTargetClient.create(client_options(edge)) as client:

        async def call() -> None:
            notification = {
                "id": f"n-{next(serial)}",
                "type": "display",
                "timestamp": 1_700_000_000_000,
                "mbox": {"name": "home"},
                "tokens": ["t-1"],
            }
            request = {"context": {"channel": "web"}, "notifications": [notification]}
            await client.send_notifications({"request": request, "session_id": SESSION_ID})

        return await saturate(call, 1, duration=duration, errors=(TargetError,))


def run_notifications(settings: Settings, edge: Edge, log: list[str]) -> list[Row]:
    """Sequential `send_notifications`: target-async next to the official SDK, same runs."""
    python = official.python_or_none(log) if settings.official else None
    ours: list[Sample] = []
    theirs: list[Sample] = []
    ratios: list[float] = []
    for _ in range(settings.runs):
        ours.append(anyio.run(sample_send_notifications, edge, settings.duration))
        if python is not None:
            sample, _ = official.drive(
                python, edge.port, threads=1, duration=settings.duration, call="notifications"
            )
            theirs.append(sample)
            ratios.append(ours[-1].latency_us / sample.latency_us)
    return [
        row(
            "send_notifications one at a time: target-async",
            median([s.latency_us for s in ours]),
            "µs/call",
            median(ratios) if ratios else None,
            "official SDK" if ratios else None,
            group="notifications, one at a time",
            cpu_us=median([s.cpu_us for s in ours]),
            errors=sum(s.errors for s in ours),
        ),
        row(
            "send_notifications one at a time: official SDK",
            median([s.latency_us for s in theirs]) if theirs else float("nan"),
            "µs/call",
            group="notifications, one at a time",
            **({"cpu_us": median([s.cpu_us for s in theirs])} if theirs else {}),
        ),
    ]


def run(settings: Settings, edge: Edge, log: list[str]) -> list[Row]:
    python = official.python_or_none(log) if settings.official else None
    if settings.official and python is None:
        log.append("official SDK: not available, its column shows n/a")
    body = anyio.run(sdk_request_body)
    samples: dict[tuple[str, int], list[Sample]] = {}
    ratios: dict[tuple[str, int], list[float]] = {}
    official_counts: dict[int, dict[str, int]] = {}
    transport_used = ""
    for run_index in range(settings.runs):
        for level in settings.levels:
            order = IMPLS[run_index % 3 :] + IMPLS[: run_index % 3]
            this_run: dict[str, Sample] = {}
            for impl in order:
                if impl == "target-async":
                    sample, transport_used = anyio.run(
                        sample_target_async, edge, level, settings.duration
                    )
                elif impl == "bare httpx":
                    sample = anyio.run(sample_bare_httpx, edge, body, level, settings.duration)
                elif python is not None:
                    sample, official_counts[level] = official.drive(
                        python, edge.port, threads=level, duration=settings.duration
                    )
                else:
                    continue
                this_run[impl] = sample
                samples.setdefault((impl, level), []).append(sample)
            ours = this_run["target-async"]
            for reference in ("bare httpx", "official SDK"):
                if reference in this_run and this_run[reference].per_second:
                    ratios.setdefault((reference, level), []).append(
                        ours.per_second / this_run[reference].per_second
                    )
                    if level == 1:
                        ratios.setdefault((reference, 0), []).append(
                            ours.latency_us / this_run[reference].latency_us
                        )
    log.append(f"target-async server-side transport: {transport_used}")
    return _rows(settings, samples, ratios, official_counts)


def _rows(
    settings: Settings,
    samples: dict[tuple[str, int], list[Sample]],
    ratios: dict[tuple[str, int], list[float]],
    official_counts: dict[int, dict[str, int]],
) -> list[Row]:
    rows: list[Row] = []
    for level in settings.levels:
        for impl in IMPLS:
            runs = samples.get((impl, level))
            if not runs:
                rows.append(
                    row(
                        f"get_offers, {level} in flight: {impl}",
                        float("nan"),
                        "calls/s",
                        group="server-side",
                        impl=impl,
                        in_flight=level,
                    )
                )
                continue
            extra: dict[str, Any] = {}
            if impl == "target-async":
                for reference, key in (("bare httpx", "vs_httpx"), ("official SDK", "vs_official")):
                    if (reference, level) in ratios:
                        extra[key] = median(ratios[(reference, level)])
            if impl == "official SDK" and level in official_counts:
                extra["threads_after"] = official_counts[level]["threads"]
            rows.append(
                row(
                    f"get_offers, {level} in flight: {impl}",
                    median([s.per_second for s in runs]),
                    "calls/s",
                    extra.get("vs_httpx"),
                    "bare httpx" if "vs_httpx" in extra else None,
                    group="server-side",
                    impl=impl,
                    in_flight=level,
                    cpu_us=median([s.cpu_us for s in runs]),
                    errors=sum(s.errors for s in runs),
                    **extra,
                )
            )
        if level == 1:
            for impl in IMPLS:
                runs = samples.get((impl, 1))
                value = median([s.latency_us for s in runs]) if runs else float("nan")
                ratio = (
                    median(ratios[("bare httpx", 0)]) if impl == "target-async" and runs else None
                )
                rows.append(
                    row(
                        f"get_offers, one at a time: {impl}",
                        value,
                        "µs/call",
                        ratio,
                        "bare httpx",
                        group="latency",
                        impl=impl,
                    )
                )
    rows.extend(_goals(ratios))
    return rows


def _goals(ratios: dict[tuple[str, int], list[float]]) -> list[Row]:
    goals = [
        ("throughput at 50 in flight ÷ official SDK", ("official SDK", 50), 3.0, True),
        ("throughput at 50 in flight ÷ bare httpx", ("bare httpx", 50), 1.5, True),
        ("latency one at a time ÷ bare httpx", ("bare httpx", 0), 1.05, False),
    ]
    rows = []
    for name, key, goal, at_least in goals:
        value = median(ratios[key]) if key in ratios else float("nan")
        met = (value >= goal if at_least else value <= goal) if key in ratios else None
        rows.append(
            row(name, value, "x", group="goal", goal=f"{'≥' if at_least else '≤'} {goal}", met=met)
        )
    return rows
