"""`make soak`: mixed traffic against a faulty local edge for a set time, then the checks.

    python -m benchmarks.chaos [--seconds 60] [--docs docs]

Traffic, all at once until the time is up: server-side calls (`get_offers`,
`get_attributes`, `send_notifications`, calls with `callback=`), on-device and hybrid calls
(with geo lookups), `enqueue_notifications`, and the sync `TargetClient` from threads. The
edge (a `LocalEdge` in its own thread) answers 15 % of Delivery requests with 503, resets
5 %, stalls 2 % past the clients' timeout, and fails 10 % of geo lookups.

At the end it checks: every enqueued notification reached the edge or was reported by
`send_notification_error` (and the counters agree), every callback call ended in exactly one
of its callbacks, no task, thread or file descriptor is left once the clients are closed,
RSS did not grow over the second half of the run, and no call took much longer than its
timeout. It prints a summary, runs the fault matrix of `tests/faults`, and with `--docs`
writes both to `reliability.md`. Exit status 1 when a check fails.
`TARGET_SOAK_SECONDS` sets the default duration.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import os
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anyio

from benchmarks._harness import ROOT, process_counts
from target_async import AsyncTargetClient, TargetClient, TargetError, TargetEvent
from target_async._config import RetryPolicy
from target_async.testing import DEFAULT_ORGANIZATION_ID, SAMPLE_ARTIFACT_PATH, Fault, LocalEdge

__all__ = ["main"]

TIMEOUT_MS = 1000
# A call may take its timeout, plus scheduling on a busy 2-core machine; more is a hang.
LATENCY_BOUND_S = TIMEOUT_MS / 1000 * 2 + 1.0
RSS_GROWTH_BOUND_MIB = 8.0
DRAIN_TIMEOUT_MS = 30_000
_ids = itertools.count()


def _faults(edge: LocalEdge) -> None:
    edge.faults.add(Fault(kind="status", status_code=503, retry_after=0.1, route="delivery", fraction=0.15))
    edge.faults.add(Fault(kind="reset", route="delivery", fraction=0.05))
    edge.faults.add(Fault(kind="latency", delay=TIMEOUT_MS / 1000 * 1.5, route="delivery", fraction=0.02))
    edge.faults.add(Fault(kind="status", status_code=503, route="geo", fraction=0.1))


class Run:
    """What the traffic did: latencies and outcomes per kind, notifications, callbacks."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        self.enqueued_ids: set[str] = set()
        self.received_ids: set[str] = set()
        self.reported_ids: set[str] = set()
        self.reported: Counter[str] = Counter()
        self.callbacks_started = 0
        self.callbacks_ended: Counter[str] = Counter()
        self.untyped: list[str] = []
        self.lock = threading.Lock()

    def running(self) -> bool:
        return time.monotonic() < self.deadline

    def record(self, kind: str, started: float, outcome: str) -> None:
        with self.lock:
            self.latencies[kind].append(time.monotonic() - started)
            self.outcomes[kind][outcome] += 1

    def on_send_error(self, event: TargetEvent) -> None:
        notification = event.payload["notification"]
        with self.lock:
            self.reported_ids.add(notification["id"] if isinstance(notification, dict) else notification.id)
            self.reported[type(event.payload["error"]).__name__] += 1

    async def timed(self, kind: str, call: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> None:
        started = time.monotonic()
        try:
            await call(*args, **kwargs)
        except TargetError as error:
            self.record(kind, started, type(error).__name__)
        except Exception as error:  # the one thing that must never happen
            self.record(kind, started, f"untyped {type(error).__name__}")
            self.untyped.append(f"{kind}: {error!r}")
        else:
            self.record(kind, started, "ok")


def _notification(kind: str) -> dict[str, Any]:
    return {
        "id": f"{kind}-{next(_ids)}",
        "type": "display",
        "timestamp": int(time.time() * 1000),
        "mbox": {"name": "hero-banner"},
    }


def _visitor_request(visitor: int, mboxes: list[str]) -> dict[str, Any]:
    request: dict[str, Any] = {
        # No cluster in the tntId: it would send the request to mboxedge35.tt.omtrdc.net.
        "id": {"tntId": f"{visitor:032x}"},
        "context": {"channel": "web", "address": {"url": "https://shop.example/"}},
    }
    if mboxes:
        request["execute"] = {"mboxes": [{"name": name, "index": i} for i, name in enumerate(mboxes, 1)]}
    return request


async def _server_side(run: Run, client: AsyncTargetClient, worker: int) -> None:
    for visitor in itertools.count(worker * 1_000_000):
        if not run.running():
            return
        request = _visitor_request(visitor, ["hero-banner", "loyalty-offers"])
        await run.timed("get_offers (server-side)", client.get_offers, request=request)
        await run.timed("get_attributes", client.get_attributes, ["feature-flags"], request=request)
        notifications = {**request, "notifications": [_notification("send")]}
        await run.timed("send_notifications", client.send_notifications, request=notifications)


async def _enqueue(run: Run, client: AsyncTargetClient) -> None:
    for visitor in itertools.count():
        if not run.running():
            return
        notifications = [_notification("enqueue") for _ in range(3)]
        started = time.monotonic()
        accepted = client.enqueue_notifications(request={**_visitor_request(visitor, []), "notifications": notifications})
        run.record("enqueue_notifications", started, "accepted" if accepted else "queue full")
        if accepted:
            run.enqueued_ids.update(n["id"] for n in notifications)
        await anyio.sleep(0.01)


async def _local(run: Run, client: AsyncTargetClient, kind: str, worker: int) -> None:
    for visitor in itertools.count(worker * 1_000_000):
        if not run.running():
            return
        request = _visitor_request(visitor, ["hero-banner", "checkout-promo", "loyalty-offers"])
        if visitor % 5 == 0:  # a geo lookup (a new address each time: answers are cached)
            request["context"]["geo"] = {"ipAddress": f"198.51.{visitor // 250 % 250}.{visitor % 250 + 1}"}
        await run.timed(kind, client.get_offers, request=request)
        await anyio.sleep(0.005)


async def _callbacks(run: Run, client: AsyncTargetClient) -> None:
    ended = anyio.Event()
    pending = 0

    def end(outcome: str) -> None:
        nonlocal pending
        run.callbacks_ended[outcome] += 1
        pending -= 1
        if pending == 0 and not run.running():
            ended.set()

    for visitor in itertools.count():
        if not run.running():
            break
        pending += 1
        run.callbacks_started += 1
        await client.get_offers(
            request=_visitor_request(visitor, ["hero-banner"]),
            callback=lambda result: end("callback"),
            err_callback=lambda error: end("err_callback"),
        )
        await anyio.sleep(0.01)
    if pending:
        with anyio.move_on_after(LATENCY_BOUND_S * 2):
            await ended.wait()


def _sync_traffic(run: Run, client: TargetClient, worker: int) -> None:
    for visitor in itertools.count(worker * 1_000_000):
        if not run.running():
            return
        request = _visitor_request(visitor, ["hero-banner"])
        started = time.monotonic()
        try:
            client.get_offers(request=request)
        except TargetError as error:
            run.record("TargetClient.get_offers", started, type(error).__name__)
        except Exception as error:
            run.record("TargetClient.get_offers", started, f"untyped {type(error).__name__}")
            run.untyped.append(f"TargetClient.get_offers: {error!r}")
        else:
            run.record("TargetClient.get_offers", started, "ok")
        notification = _notification("sync")
        if client.enqueue_notifications(request={**request, "notifications": [notification]}):
            with run.lock:
                run.enqueued_ids.add(notification["id"])


def _options(edge: LocalEdge, run: Run, **overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "client": edge.client,
        "organization_id": DEFAULT_ORGANIZATION_ID,
        "server_domain": f"127.0.0.1:{edge.port}",
        "secure": False,
        "cdn_base_path": edge.url,
        "timeout": TIMEOUT_MS,
        # Background sends retry for a few seconds; what is still failing then is reported.
        "notification_retry": RetryPolicy(
            max_retries=3, initial_delay=0.05, max_delay=0.5, max_retry_after=0.5, retry_statuses=[408, 429, *range(500, 600)]
        ),
        "events": {"send_notification_error": run.on_send_error},
    }
    options.update(overrides)
    return options


def _tasks() -> int:
    return len(asyncio.all_tasks())


async def _take_records(edge: LocalEdge, run: Run) -> None:
    """Move the ids of the notifications the edge received into `run`, and let the edge
    forget what it recorded: its records would otherwise be the memory growth measured."""
    notifications, edge.notifications = edge.notifications, []
    edge.requests = []
    await anyio.sleep(0.05)  # a record the edge's thread was adding to the old list
    run.received_ids.update(notification.id for notification in notifications)


async def _chaos(edge: LocalEdge, seconds: float) -> dict[str, Any]:
    tasks_before = _tasks()
    run = Run(time.monotonic() + seconds)
    rss: list[tuple[float, int]] = []

    async def sample_rss() -> None:
        started = time.monotonic()
        while run.running():
            await _take_records(edge, run)
            rss.append((time.monotonic() - started, process_counts()["rss_kib"]))
            await anyio.sleep(1.0)

    server = AsyncTargetClient.create(_options(edge, run))
    on_device = AsyncTargetClient.create(_options(edge, run, decisioning_method="on-device"))
    hybrid = AsyncTargetClient.create(_options(edge, run, decisioning_method="hybrid"))
    sync_client = TargetClient.create(_options(edge, run))
    clients = (server, on_device, hybrid)
    # Plain threads, joined at the end: anyio's worker threads would outlive the run.
    sync_threads = [threading.Thread(target=_sync_traffic, args=(run, sync_client, worker)) for worker in range(2)]
    try:
        async with server, on_device, hybrid, anyio.create_task_group() as group:
            for thread in sync_threads:
                thread.start()
            group.start_soon(sample_rss)
            for worker in range(4):
                group.start_soon(_server_side, run, server, worker)
            group.start_soon(_enqueue, run, server)
            for worker in range(2):
                group.start_soon(_local, run, on_device, "get_offers (on-device)", worker)
                group.start_soon(_local, run, hybrid, "get_offers (hybrid)", worker)
            group.start_soon(_callbacks, run, server)
            # A graceful stop: traffic ends, what is queued is sent (or given up on and
            # reported) before the clients close.
            await anyio.sleep(seconds)
            for client in clients:
                await client.flush(DRAIN_TIMEOUT_MS)
        stats = [client.notification_stats for client in clients]
    finally:
        for thread in sync_threads:
            thread.join()  # they stop at the deadline, after at most one call
        # Blocking the loop, which has nothing else left to do.
        sync_client.flush(DRAIN_TIMEOUT_MS)
        stats.append(sync_client.notification_stats)
        sync_client.close()
    await _take_records(edge, run)
    return {"run": run, "tasks": (tasks_before, _tasks()), "stats": stats, "rss": rss}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def _check(result: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The failed checks (empty when all hold) and the figures of the run."""
    run: Run = result["run"]
    failures: list[str] = []
    received = run.received_ids
    lost = run.enqueued_ids - received - run.reported_ids
    if lost:
        failures.append(f"{len(lost)} enqueued notifications neither delivered nor reported, e.g. {sorted(lost)[:3]}")
    stats = result["stats"]
    totals = {field: sum(getattr(s, field) for s in stats) for field in ("enqueued", "sent", "failed", "dropped", "pending", "retried", "requests")}
    if totals["enqueued"] != totals["sent"] + totals["failed"] + totals["dropped"] or totals["pending"]:
        failures.append(f"notification counters do not add up: {totals}")
    if totals["failed"] != sum(run.reported.values()):
        failures.append(f"{totals['failed']} notifications failed but {sum(run.reported.values())} were reported")
    ended = sum(run.callbacks_ended.values())
    if ended != run.callbacks_started:
        failures.append(f"{run.callbacks_started} callback calls started, {ended} ended in a callback")
    if run.untyped:
        failures.append(f"{len(run.untyped)} untyped errors, e.g. {run.untyped[:3]}")
    before, after = result["before"], result["after"]
    for what in ("tasks", "threads", "fds"):
        if after[what] > before[what]:
            failures.append(f"{what} left behind: {before[what]} before, {after[what]} after")
    rss = result["rss"]
    half = [kib for seconds, kib in rss if seconds >= rss[-1][0] / 2] if rss else []
    growth_mib = (max(half) - half[0]) / 1024 if half else 0.0
    if growth_mib > RSS_GROWTH_BOUND_MIB:
        failures.append(f"RSS grew {growth_mib:.1f} MiB over the second half of the run")
    slowest = max((max(values) for values in run.latencies.values() if values), default=0.0)
    if slowest > LATENCY_BOUND_S:
        failures.append(f"a call took {slowest:.2f} s (bound {LATENCY_BOUND_S:.1f} s)")
    figures = {
        "totals": totals,
        "received": len(received),
        "enqueued_ids": len(run.enqueued_ids),
        "reported_ids": len(run.reported_ids),
        "reported": dict(run.reported),
        "callbacks": (run.callbacks_started, dict(run.callbacks_ended)),
        "before": before,
        "after": after,
        "rss_start_mib": rss[0][1] / 1024 if rss else 0.0,
        "rss_end_mib": rss[-1][1] / 1024 if rss else 0.0,
        "growth_mib": growth_mib,
        "slowest": slowest,
        "kinds": {
            kind: {
                "calls": len(values),
                "p50_ms": statistics.median(values) * 1000,
                "p99_ms": _percentile(values, 0.99) * 1000,
                "max_ms": max(values) * 1000,
                "outcomes": dict(run.outcomes[kind]),
            }
            for kind, values in sorted(run.latencies.items())
        },
    }
    return failures, figures


def _matrix() -> list[tuple[str, dict[str, str]]]:
    """The fault matrix of `tests/faults`: for each fault, each path's outcome."""
    sys.path.insert(0, str(ROOT / "tests" / "faults"))
    import matrix  # type: ignore[import-not-found]

    from target_async import _on_device

    _on_device.ARTIFACT_RETRY = RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.05)
    rows = []
    for fault in matrix.FAULTS:
        outcomes = anyio.run(matrix.run_cases, matrix.cases_of(fault))
        by_path: dict[str, dict[str, str]] = defaultdict(dict)
        for case, outcome in outcomes.items():
            mark = "" if outcome in matrix.expected_outcomes(case) else " ✗"
            by_path[case.path][case.transport] = outcome + mark
        cells = {}
        for path in matrix.PATHS:
            seen = by_path.get(path, {})
            if not seen:
                cells[path] = "open"
            elif len(set(seen.values())) == 1 and len(seen) == len(matrix.TRANSPORTS):
                cells[path] = next(iter(seen.values()))
            else:
                cells[path] = "; ".join(f"{transport}: {outcome}" for transport, outcome in sorted(seen.items()))
        rows.append((fault.name, cells))
    return rows


def _report(seconds: float, failures: list[str], figures: dict[str, Any], matrix: list[tuple[str, dict[str, str]]]) -> str:
    totals = figures["totals"]
    started, ended = figures["callbacks"]
    lines = [
        "# Reliability",
        "",
        "How the client behaves when the edge, the CDN or the geo service misbehave, measured by",
        "`make soak` (`benchmarks/chaos.py`), which writes this page. The same fault matrix runs in",
        "`make test` (`tests/faults`), and the fuzz suites of `tests/fuzz` run there with few",
        "examples and in `make soak` with many (`TARGET_FUZZ_PROFILE=soak`).",
        "",
        "## Chaos run",
        "",
        f"{seconds:.0f} s of mixed traffic on {os.cpu_count()} cores against a local edge that answers 15 % of",
        "Delivery requests with 503, resets 5 % of connections, stalls 2 % past the clients'",
        f"{TIMEOUT_MS} ms timeout and fails 10 % of geo lookups (run of",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC). Result: "
        + ("**every check held**." if not failures else "**checks failed**: " + "; ".join(failures)),
        "",
        "| traffic | calls | p50 ms | p99 ms | max ms | outcomes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for kind, row in figures["kinds"].items():
        outcomes = ", ".join(f"{name} {count:,}" for name, count in sorted(row["outcomes"].items(), key=lambda item: -item[1]))
        lines.append(
            f"| {kind} | {row['calls']:,} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {row['max_ms']:.0f} | {outcomes} |"
        )
    before, after = figures["before"], figures["after"]
    reported = ", ".join(f"{name} {count:,}" for name, count in sorted(figures["reported"].items())) or "none"
    lines += [
        "",
        "| check | figure |",
        "|---|---|",
        f"| notifications (all clients) | {totals['enqueued']:,} accepted: {totals['sent']:,} delivered, "
        f"{totals['failed']:,} reported failed, {totals['dropped']:,} dropped (queue full), {totals['pending']} pending; "
        f"{totals['retried']:,} retries in {totals['requests']:,} requests |",
        f"| enqueued notifications traced by id | {figures['enqueued_ids']:,}: every one received by the edge "
        f"or reported by `send_notification_error` ({reported}) |",
        f"| calls with callbacks | {started:,} started; {', '.join(f'{k} {v:,}' for k, v in sorted(ended.items()))} |",
        f"| tasks, threads, fds before / after closing | {before['tasks']} / {after['tasks']}, "
        f"{before['threads']} / {after['threads']}, {before['fds']} / {after['fds']} |",
        f"| RSS | {figures['rss_start_mib']:.1f} MiB at start, {figures['rss_end_mib']:.1f} MiB at the end, "
        f"{figures['growth_mib']:.1f} MiB over the second half (bound {RSS_GROWTH_BOUND_MIB:g}; the run's own "
        "record of every notification id and latency is part of it) |",
        f"| slowest call | {figures['slowest'] * 1000:.0f} ms (bound {LATENCY_BOUND_S * 1000:.0f} ms: the "
        "timeout, retries included, plus scheduling) |",
        "",
        "## Fault matrix",
        "",
        "Each fault meets each request path on a client of its own, on the default transport and on",
        "the httpx one (`transport=`); the cell is the outcome (both transports alike unless they",
        "are named). Every call fails with the `TargetError` named; *reported*: the notification is",
        "counted failed and reported by `send_notification_error`; *delivered*: the edge's 2xx",
        "acknowledges it whatever its body; *refused*: the artifact is not used (on-device calls",
        "raise `ArtifactNotReadyError`, hybrid calls go to the edge); *without geo*: the call is",
        "decided without the lookup's answer; *fields dropped*: the answer's fields of the wrong",
        "type are left out; *open*: not run (`OPEN_CELLS`), a known gap. After each case the same client must",
        "work again, and no case may take 10 s. ✗ marks an outcome other than the documented one.",
        "",
        "| fault | get_offers | get_attributes | send_notifications | enqueue_notifications | telemetry | artifact | geo |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, cells in matrix:
        lines.append(f"| {name} | " + " | ".join(cells[path] for path in cells) + " |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("TARGET_SOAK_SECONDS", "60")))
    parser.add_argument("--docs", type=Path, help="write reliability.md into this folder")
    parser.add_argument("--no-matrix", action="store_true", help="skip the fault matrix (its cells show as open)")
    args = parser.parse_args(argv)
    with LocalEdge.run_in_thread(artifact=SAMPLE_ARTIFACT_PATH) as edge:
        _faults(edge)
        gc.collect()
        before = process_counts()
        result = anyio.run(_chaos, edge, args.seconds)
        # Threads and fds once the clients and their event loop are gone (the edge's stay).
        time.sleep(0.5)  # the edge's side of the closed connections
        gc.collect()
        after = process_counts()
        tasks_before, tasks_after = result["tasks"]
        result["before"] = {**before, "tasks": tasks_before}
        result["after"] = {**after, "tasks": tasks_after}
        failures, figures = _check(result)
    matrix = [] if args.no_matrix else _matrix()
    page = _report(args.seconds, failures, figures, matrix)
    print(page)
    if args.docs:
        (args.docs / "reliability.md").write_text(page, encoding="utf-8")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
