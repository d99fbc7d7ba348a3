"""The demo's tour of decisioning: one rules artifact decided server-side, on-device and hybrid.

`run_tour(edge)` serves the bundled sample artifact from a started local edge for the
duration of the tour (the edge's offers keep answering what the artifact leaves to the
edge) and prints a short report: the same visitor gets the same decisions from the edge
and on-device, hybrid picks where to decide per request, and notifications are sent
fire-and-forget.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ._client import AsyncTargetClient
from .testing import SAMPLE_ARTIFACT_PATH, LocalEdge

__all__ = ["run_tour"]

VISITOR = {"tntId": "a1b2c3d4e5f60718293a4b5c6d7e8f90.35_0"}
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
)


def _say(text: str = "") -> None:
    print(text)  # noqa: T201 - the tour is a console report


def _request(*mboxes: str, **parameters: str) -> dict[str, Any]:
    return {
        "id": dict(VISITOR),
        "context": {"channel": "web", "userAgent": SAFARI},
        "execute": {
            "mboxes": [
                {"name": name, "index": index, "parameters": parameters}
                for index, name in enumerate(mboxes)
            ]
        },
    }


def _decisions(result: Any) -> list[str]:
    """One line per mbox: name, experience and content."""
    lines = []
    for mbox in result.response.execute.mboxes or []:
        option = (mbox.options or [None])[0]
        if option is None:
            lines.append(f"  {mbox.name}: no offer")
            continue
        tokens = option.response_tokens or {}
        content = option.content
        shown = content if isinstance(content, str) else json.dumps(content)
        experience = tokens.get("experience.name", "-")
        lines.append(f"  {mbox.name} [{experience}]: {shown[:72]}")
    return lines


async def run_tour(edge: LocalEdge) -> None:
    """Walk through server-side, on-device and hybrid decisions against `edge` (started)."""
    previous = edge.artifact
    edge.artifact = SAMPLE_ARTIFACT_PATH
    try:
        await _tour(edge)
    finally:
        edge.artifact = previous


async def _tour(edge: LocalEdge) -> None:
    _say("\n== One rules artifact, three ways to decide")
    _say(f"The edge serves the sample artifact at {edge.artifact_url()}")
    request = _request("hero-banner", "checkout-promo", "feature-flags", membership="gold")

    async with AsyncTargetClient.create(edge.client_options()) as server_side:
        result = await server_side.get_offers({"request": request})
    _say("\nServer-side (the edge decides):")
    for line in _decisions(result):
        _say(line)

    before = len(edge.notifications)
    async with AsyncTargetClient.create(
        edge.client_options(decisioning_method="on-device", polling_interval=0)
    ) as on_device:
        local = await on_device.get_offers({"request": request})
        flags = await on_device.get_attributes(["feature-flags"], {"request": _request()})
        # A display notification per decided mbox, sent in the background.
        decided = len(request["execute"]["mboxes"]) + 1
        notified = (await edge.wait_for_notifications(before + decided))[before:]
    downloads = [r for r in edge.requests if r.route == "artifact"]
    _say(
        f"\nOn-device (artifact downloaded {len(downloads)} time(s), decided in-process; "
        "the edge only got the display notifications):"
    )
    for line in _decisions(local):
        _say(line)
    same = _decisions(local) == _decisions(result)
    _say(f"  same decisions as the edge: {'yes' if same else 'NO'}")
    _say(
        f"  get_attributes: enabled={flags.get_value('feature-flags', 'enabled')}, "
        f"checkoutFlow={flags.get_value('feature-flags', 'checkoutFlow')}"
    )
    mboxes = sorted({name for n in notified for name in [n.mbox_name] if name})
    _say(f"  display notifications the edge received: {len(notified)} ({', '.join(mboxes)})")

    async with AsyncTargetClient.create(
        edge.client_options(decisioning_method="hybrid", polling_interval=0)
    ) as hybrid:
        local_only = await hybrid.get_offers({"request": _request("hero-banner")})
        mixed = await hybrid.get_offers({"request": _request("hero-banner", "loyalty-offers")})
        _say("\nHybrid (on-device when the artifact can decide everything asked):")
        _say(f"  hero-banner alone -> {local_only.meta.decisioning_method}")
        _say(
            f"  hero-banner + loyalty-offers -> {mixed.meta.decisioning_method} "
            f"(loyalty-offers is remote in the artifact)"
        )
        for line in _decisions(mixed):
            _say(line)

        queued = hybrid.enqueue_notifications(
            {
                "request": {
                    "id": dict(VISITOR),
                    "notifications": [
                        {
                            "id": "tour-click-1",
                            "type": "click",
                            "timestamp": int(time.time() * 1000),
                            "mbox": {"name": "hero-banner"},
                        }
                    ],
                }
            }
        )
        delivered = await hybrid.flush(5000)
    received = any(n.id == "tour-click-1" for n in edge.notifications)
    _say("\nFire-and-forget click notification:")
    _say(f"  queued without waiting: {queued}; delivered: {delivered}; at the edge: {received}")
