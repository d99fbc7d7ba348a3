"""Drives the official `target-python-sdk` 1.1.0; run by its own venv's interpreter.

Standalone on purpose (that venv has neither target_async nor this package): it sends the
same typical request as the other columns to the benchmark edge, from `--threads` threads
each calling the SDK's blocking `get_offers` (or `send_notifications`) back to back for
`--duration` seconds after a warm-up, and prints one JSON object with the counts.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from delivery_api_client import (  # type: ignore[import-not-found]
    Address,
    Browser,
    ChannelType,
    Context,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    Notification,
    NotificationMbox,
    Screen,
)
from target_python_sdk import TargetClient  # type: ignore[import-not-found]

ORGANIZATION_ID = "DEMO00000000000000000000@AdobeOrg"


def _offers_request() -> Any:
    # The same request as benchmarks.edge_server.TYPICAL_REQUEST, in the official models.
    context = Context(
        channel=ChannelType.WEB,
        address=Address(
            url="https://shop.example.com/products/42", referring_url="https://www.example.com/"
        ),
        user_agent="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        screen=Screen(width=1920, height=1080),
        browser=Browser(host="shop.example.com"),
    )
    mboxes = [
        MboxRequest(name="home", index=1, parameters={"category": "shoes", "size": "42"}),
        MboxRequest(name="feature-flags", index=2),
    ]
    return DeliveryRequest(context=context, execute=ExecuteRequest(mboxes=mboxes))


def _notifications_request(serial: int) -> Any:
    notification = Notification(
        id=f"n-{serial}",
        type="display",
        timestamp=int(time.time() * 1000),
        mbox=NotificationMbox(name="home"),
        tokens=["t-1"],
    )
    return DeliveryRequest(context=Context(channel=ChannelType.WEB), notifications=[notification])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--duration", type=float, default=1.0)
    parser.add_argument("--call", choices=("offers", "notifications"), default="offers")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # its INFO logging is not what we measure

    client = TargetClient.create(
        {
            "client": "demo",
            "organization_id": ORGANIZATION_ID,
            "server_domain": f"127.0.0.1:{args.port}",
            "secure": False,
        }
    )
    serial = iter(range(10**9))
    offers = _offers_request()

    def call() -> None:
        if args.call == "offers":
            client.get_offers({"request": offers, "session_id": "benchmark-session"})
        else:
            client.send_notifications(
                {"request": _notifications_request(next(serial)), "session_id": "s"}
            )

    done = 0
    failed = 0
    lock = threading.Lock()
    deadline = 0.0

    def caller() -> None:
        nonlocal done, failed
        while time.perf_counter() < deadline:
            try:
                call()
            except Exception:
                with lock:
                    failed += 1
            else:
                with lock:
                    done += 1

    with ThreadPoolExecutor(args.threads) as pool:
        for _ in range(2):  # warm-up, as the async harness does
            list(pool.map(lambda _: call(), range(args.threads)))
        deadline = time.perf_counter() + args.duration
        started, cpu_started = time.perf_counter(), time.process_time()
        for future in [pool.submit(caller) for _ in range(args.threads)]:
            future.result()
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "calls": done,
                "errors": failed,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "threads_after": threading.active_count(),
                "fds_after": len(os.listdir("/proc/self/fd")),
            }
        )
    )


if __name__ == "__main__":
    main()
