"""The `trace` section of on-device responses (only built when the request asks for it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._compile import CompiledArtifact, CompiledRule

__all__ = ["NOT_APPLICABLE", "ArtifactInfo", "RequestTracer", "TraceContext", "json_copy"]

NOT_APPLICABLE = "Not Applicable"


@attrs.frozen
class ArtifactInfo:
    """What the trace's `artifact` section says about the artifact provider.

    `artifact_location` is "Not Applicable" when the artifact was handed over as a payload;
    `polling_interval` is in ms; `artifact_last_retrieved` is an ISO 8601 timestamp.
    """

    artifact_location: str
    polling_interval: int
    polling_halted: bool
    artifact_retrieval_count: int
    artifact_last_retrieved: str | None


def json_copy(value: Any) -> Any:
    """An independent copy of JSON-like data."""
    cls = type(value)
    if cls is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if cls is list:
        return [json_copy(item) for item in value]
    return value


class TraceContext:
    """Per-call parts of every trace: client, artifact, visitor profile, session."""

    def __init__(
        self,
        artifact: CompiledArtifact,
        artifact_info: ArtifactInfo | None,
        *,
        client: str,
        session_id: str,
        visitor: Mapping[str, Any],
    ) -> None:
        self.artifact = artifact
        self.client = client
        self.session_id = session_id
        artifact_section: dict[str, Any] = {}
        if artifact_info is not None:
            artifact_section = {
                "artifactLocation": artifact_info.artifact_location,
                "pollingInterval": artifact_info.polling_interval,
                "pollingHalted": artifact_info.polling_halted,
            }
        artifact_section["artifactVersion"] = artifact.version
        if artifact_info is not None:
            artifact_section["artifactRetrievalCount"] = artifact_info.artifact_retrieval_count
            if artifact_info.artifact_last_retrieved is not None:
                artifact_section["artifactLastRetrieved"] = artifact_info.artifact_last_retrieved
        self.artifact_section = artifact_section | dict(artifact.meta)
        visitor_id = dict(visitor)
        tnt_id = visitor.get("tntId")
        if isinstance(tnt_id, str):
            profile_id, _, location = tnt_id.partition(".")
            visitor_id["tntId"] = profile_id
            if location:
                visitor_id["profileLocation"] = location
        self.profile = {"visitorId": visitor_id}


class RequestTracer:
    """Records the rules evaluated for one mbox, view or pageLoad request.

    Campaigns (activities) and evaluated targets are keyed by activity id, in first-seen
    order; the context shown for an activity is the one its first evaluated rule saw.
    """

    def __init__(
        self,
        trace_context: TraceContext,
        *,
        mode: str,
        request_type: str,
        detail: Mapping[str, Any],
        page: Mapping[str, Any],
    ) -> None:
        self._trace_context = trace_context
        self._request = {
            "pageURL": page.get("url"),
            "host": page.get("domain"),
            request_type: {**detail, "type": mode},
        }
        self._campaigns: dict[Any, dict[str, Any]] = {}
        self._targets: dict[Any, dict[str, Any]] = {}

    def rule_evaluated(
        self, rule: CompiledRule, rule_context: Mapping[str, Any], satisfied: bool
    ) -> None:
        activity_id = rule.activity_id
        meta = rule.meta
        if satisfied and activity_id not in self._campaigns:
            offer_id = meta.get("offer.id")
            self._campaigns[activity_id] = {
                "id": activity_id,
                "campaignType": meta.get("activity.type"),
                "branchId": meta.get("experience.id"),
                "offers": [] if offer_id is None else [offer_id],
                "environment": self._trace_context.artifact.meta.get("environment"),
            }
        target = self._targets.get(activity_id)
        if target is None:
            target = self._targets[activity_id] = {
                "context": dict(rule_context),
                "campaignId": activity_id,
                "campaignType": meta.get("activity.type"),
                "matchedSegmentIds": {},
                "unmatchedSegmentIds": {},
                "matchedRuleConditions": [],
                "unmatchedRuleConditions": [],
            }
        prefix = "matched" if satisfied else "unmatched"
        segments = target[f"{prefix}SegmentIds"]
        for audience_id in meta.get("audience.ids") or ():
            segments[audience_id] = None  # a dict keeps first-seen order, like a JavaScript Set
        target[f"{prefix}RuleConditions"].append(rule.raw.get("condition"))

    def notification_added(
        self, rule: CompiledRule, notification: Mapping[str, Any] | None
    ) -> None:
        """An execute decision for `rule`: list its display notification (if any) on its campaign."""
        notifications = self._campaigns[rule.activity_id].setdefault("notifications", [])
        if notification is not None:
            notifications.append(notification)

    def result(self) -> dict[str, Any]:
        """The trace as it stands now (an independent copy)."""
        trace_context = self._trace_context
        result: dict[str, Any] = json_copy(
            {
                "clientCode": trace_context.client,
                "artifact": trace_context.artifact_section,
                "profile": trace_context.profile,
                "request": {"sessionId": trace_context.session_id, **self._request},
                "campaigns": list(self._campaigns.values()),
                "evaluatedCampaignTargets": [
                    target
                    | {
                        "matchedSegmentIds": list(target["matchedSegmentIds"]),
                        "unmatchedSegmentIds": list(target["unmatchedSegmentIds"]),
                    }
                    for target in self._targets.values()
                ],
            }
        )
        return result
