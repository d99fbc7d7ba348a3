"""A local Adobe Target edge for tests, demos and benchmarks: real HTTP on 127.0.0.1.

`LocalEdge` answers the Delivery API from an offers mapping, or decides server-side from a
rules artifact (`SAMPLE_ARTIFACT_PATH` is a bundled one) which it also serves at the CDN
paths on-device clients download from, plus the geo lookup service. It records what it
receives (`requests`, `notifications`) and injects faults per route (`faults`).
`LocalEdge.transport()` routes any host the SDK computes (`mboxedge28.tt.omtrdc.net`,
`assets.adobetarget.com`, ...) to it over loopback, and `LocalEdge.client_options()` points a
client at it. The pytest plugin provides the `target_edge` (async) and `target_edge_thread`
(sync) fixtures.
"""

from __future__ import annotations

from target_async.testing._artifact import SAMPLE_ARTIFACT_PATH, ArtifactSource, artifact_url
from target_async.testing._delivery import GLOBAL_MBOX, SAMPLE_OFFERS_PATH, OffersSource
from target_async.testing._edge import (
    DEFAULT_CLIENT,
    DEFAULT_CLUSTER,
    DEFAULT_ENVIRONMENT,
    DEFAULT_GEO,
    DEFAULT_ORGANIZATION_ID,
    LocalEdge,
)
from target_async.testing._faults import Fault, FaultKind, FaultSet, RouteName
from target_async.testing._records import RecordedNotification, RecordedRequest
from target_async.testing._transport import EdgeTransport

__all__ = [
    "DEFAULT_CLIENT",
    "DEFAULT_CLUSTER",
    "DEFAULT_ENVIRONMENT",
    "DEFAULT_GEO",
    "DEFAULT_ORGANIZATION_ID",
    "GLOBAL_MBOX",
    "SAMPLE_ARTIFACT_PATH",
    "SAMPLE_OFFERS_PATH",
    "ArtifactSource",
    "EdgeTransport",
    "Fault",
    "FaultKind",
    "FaultSet",
    "LocalEdge",
    "OffersSource",
    "RecordedNotification",
    "RecordedRequest",
    "RouteName",
    "artifact_url",
]
