"""Telemetry entries and the notification request of on-device decisions (pure builders).

The client keeps a store of entries: an `artifact_telemetry_entry` after each artifact
download, a `telemetry_entry` after each delivery (local or remote); it attaches and
clears them on the next request it sends to the edge, e.g. the `notification_request`
of an on-device call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeGuard

from ._js import js_round

# The server-side client records telemetry too: it must not load the engine to do so.
if TYPE_CHECKING:
    from ._decide import LocalDecision

__all__ = [
    "ARTIFACT_DOWNLOAD_REQUEST_ID",
    "artifact_telemetry_entry",
    "notification_request",
    "telemetry_entry",
]

ARTIFACT_DOWNLOAD_REQUEST_ID: Final = "ArtifactDownload"
_TIMING_KEYS: Final = ("dns", "tls", "timeToFirstByte", "download", "responseSize")


def _rounded(fields: Mapping[str, float | None]) -> dict[str, float]:
    """Fields with a falsy value dropped, the others rounded to 2 decimals."""
    return {key: js_round(value) for key, value in fields.items() if value}


def _timed_entry(
    request_id: str,
    timestamp_ms: int,
    execution_ms: float | None,
    parsing_ms: float | None,
    request_timings: Mapping[str, float | None] | None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"requestId": request_id, "timestamp": timestamp_ms}
    # Spelled out rather than through `_rounded`: this runs once per delivery call.
    if execution_ms:
        entry["execution"] = js_round(execution_ms)
    if parsing_ms:
        entry["parsing"] = js_round(parsing_ms)
    if request_timings:
        entry["request"] = _rounded({key: request_timings.get(key) for key in _TIMING_KEYS})
    return entry


def _is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    # JSON objects are nearly always plain dicts, absent ones None: skip the slower ABC
    # check for both.
    return type(value) is dict or (value is not None and isinstance(value, Mapping))


def _item_count(section: Mapping[str, Any], key: str) -> int:
    items = section.get(key)
    return len(items) if isinstance(items, list) else 0


def telemetry_entry(
    request: Mapping[str, Any],
    response: Mapping[str, Any],
    *,
    decisioning_method: str,
    execution_ms: float,
    timestamp_ms: int,
    parsing_ms: float | None = None,
    request_timings: Mapping[str, float | None] | None = None,
    telemetry_server_token: str | None = None,
) -> dict[str, Any]:
    """The telemetry entry of one delivery call (camelCase wire form).

    `request` is the Delivery request as decided or sent, `response` its response;
    `decisioning_method` is the method actually used ("on-device" or "server-side").
    `mode` is "edge" when the response came from the edge (it names an `edgeHost`),
    else "local". Timings are in ms, rounded to 2 decimals; zero or missing ones and
    zero feature counts are left out. `request_timings` holds the HTTP phases (`dns`,
    `tls`, `timeToFirstByte`, `download`, `responseSize`) when they were measured.
    """
    # Spelled out section by section: this runs once per delivery call.
    features: dict[str, Any] = {"decisioningMethod": decisioning_method}
    execute = request.get("execute")
    if _is_mapping(execute):
        if _is_mapping(execute.get("pageLoad")):
            features["executePageLoad"] = True
        count = _item_count(execute, "mboxes")
        if count:
            features["executeMboxCount"] = count
    prefetch = request.get("prefetch")
    if _is_mapping(prefetch):
        if _is_mapping(prefetch.get("pageLoad")):
            features["prefetchPageLoad"] = True
        count = _item_count(prefetch, "mboxes")
        if count:
            features["prefetchMboxCount"] = count
        count = _item_count(prefetch, "views")
        if count:
            features["prefetchViewCount"] = count
    request_id = request.get("requestId") or response.get("requestId") or ""
    entry = _timed_entry(request_id, timestamp_ms, execution_ms, parsing_ms, request_timings)
    if telemetry_server_token:
        entry["telemetryServerToken"] = telemetry_server_token
    entry["mode"] = "edge" if response.get("edgeHost") else "local"
    entry["features"] = features
    return entry


def artifact_telemetry_entry(
    *,
    execution_ms: float,
    timestamp_ms: int,
    parsing_ms: float | None = None,
    request_timings: Mapping[str, float | None] | None = None,
) -> dict[str, Any]:
    """The telemetry entry of one artifact download (`requestId` "ArtifactDownload")."""
    return _timed_entry(
        ARTIFACT_DOWNLOAD_REQUEST_ID, timestamp_ms, execution_ms, parsing_ms, request_timings
    )


def notification_request(
    request: Mapping[str, Any],
    decision: LocalDecision,
    *,
    telemetry_entries: Sequence[Mapping[str, Any]] = (),
    copy: bool = True,
) -> dict[str, Any] | None:
    """The Delivery request body that reports an on-device call, or None when there is nothing to send.

    It carries the visitor id the decision used (with any generated tntId), the request's
    context and experienceCloud, the decision's display notifications and the pending
    telemetry entries. The client sends it as `send_notifications` would (server-side).
    With `copy=False` the body takes the decision's notification dicts themselves (for a
    caller that drops the decision afterwards).
    """
    notifications = decision.notifications
    if not notifications and not telemetry_entries:
        return None
    context = dict(request.get("context") or {})
    if "geo" in context:
        context["geo"] = _valid_geo(context["geo"])
    body: dict[str, Any] = {"id": dict(decision.response.get("id") or {}), "context": context}
    experience_cloud = request.get("experienceCloud")
    if experience_cloud is not None:
        body["experienceCloud"] = experience_cloud
    if notifications and copy:
        copies = []
        for notification in notifications:
            copied = dict(notification)  # the decision keeps its own
            copied["mbox"] = dict(copied["mbox"])
            copied["tokens"] = list(copied["tokens"])
            copies.append(copied)
        body["notifications"] = copies
    elif notifications:
        body["notifications"] = list(notifications)
    if telemetry_entries:
        body["telemetry"] = {"entries": [dict(entry) for entry in telemetry_entries]}
    return {"request": body}


def _valid_geo(geo: Any) -> dict[str, Any]:
    if type(geo) is dict and "ipAddress" not in geo:
        return dict(geo)  # nothing to validate: skip loading the context module
    from ._context import valid_geo

    return valid_geo(geo)
