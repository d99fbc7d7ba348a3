"""A local Adobe Target edge for tests, demos and benchmarks: real HTTP on 127.0.0.1.

`LocalEdge` answers the Delivery API from an offers mapping, records what it receives
(`requests`, `notifications`) and injects faults (`faults`). `LocalEdge.transport()` routes
any host the SDK computes (`mboxedge28.tt.omtrdc.net`, ...) to it over loopback. The pytest
plugin provides the `target_edge` (async) and `target_edge_thread` (sync) fixtures.
"""

from __future__ import annotations

from target_async.testing._delivery import GLOBAL_MBOX, SAMPLE_OFFERS_PATH, OffersSource
from target_async.testing._edge import (
    DEFAULT_CLIENT,
    DEFAULT_CLUSTER,
    DEFAULT_ORGANIZATION_ID,
    LocalEdge,
)
from target_async.testing._faults import Fault, FaultKind, FaultSet
from target_async.testing._records import RecordedNotification, RecordedRequest
from target_async.testing._transport import EdgeTransport

__all__ = [
    "DEFAULT_CLIENT",
    "DEFAULT_CLUSTER",
    "DEFAULT_ORGANIZATION_ID",
    "GLOBAL_MBOX",
    "SAMPLE_OFFERS_PATH",
    "EdgeTransport",
    "Fault",
    "FaultKind",
    "FaultSet",
    "LocalEdge",
    "OffersSource",
    "RecordedNotification",
    "RecordedRequest",
]
