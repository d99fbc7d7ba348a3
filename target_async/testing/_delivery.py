"""What the local edge answers to a Delivery API request: pure functions, no I/O.

Offers come from a mapping (usually a JSON file):

```json
{
  "home": [{"type": "html", "content": "HOME OFFER", "responseTokens": {"activity.id": "1"}}],
  "flags": [{"type": "json", "content": {"enabled": true}}],
  "target-global-mbox": [{"type": "actions", "content": [...]}],
  "views": {"home-view": [{"type": "actions", "content": [...]}]}
}
```

Every key whose value is a list is an mbox name mapped to its options. The global mbox
(`target-global-mbox`) also answers `execute.pageLoad` / `prefetch.pageLoad`, as on the
real edge. The key `views` maps view names to their options (for `prefetch.views`). An
option has `type` (html, json, redirect, dynamic, actions), `content`, and optionally
`responseTokens` and `eventToken` (computed when absent).

Event tokens and state tokens are derived from (mbox or view, option index) by hashing,
so a test can compute the tokens its notifications must carry (`event_token`, `state_token`).

An edge serving a rules artifact decides with the project's engine instead
(`build_artifact_response`); offers then only answer what the artifact leaves to the edge.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

import attrs

from target_async._exceptions import TargetConfigError
from target_async.decisioning import (
    CompiledArtifact,
    LocalDecision,
    decide,
    geo_from_lookup,
    needs_geo_lookup,
    with_geo,
)
from target_async.testing._artifact import ServedArtifact

__all__ = [
    "GLOBAL_MBOX",
    "SAMPLE_OFFERS_PATH",
    "OfferCatalog",
    "OffersSource",
    "build_artifact_response",
    "build_delivery_response",
    "event_token",
    "state_token",
    "validate_delivery_request",
]

GLOBAL_MBOX = "target-global-mbox"
VIEWS_KEY = "views"
SAMPLE_OFFERS_PATH = Path(__file__).with_name("sample_offers.json")

OPTION_TYPES = frozenset({"html", "json", "redirect", "dynamic", "actions"})
_OPTION_KEYS = frozenset({"type", "content", "responseTokens", "eventToken"})
NOTIFICATION_TYPES = frozenset({"click", "display"})
UNKNOWN_IP_ADDRESS = "unknownIpAddress"
_SERVER_SIDE_TOKEN = {"activity.decisioningMethod": "server-side"}

OffersSource: TypeAlias = Mapping[str, Any] | str | os.PathLike[str]
"""A mapping as described in the module docstring, or the path of a JSON file holding one."""


def event_token(scope: str, name: str, option_index: int) -> str:
    """The eventToken of option `option_index` of mbox or view `name` (`scope` "mbox" or "view")."""
    digest = hashlib.sha512(f"event\0{scope}\0{name}\0{option_index}".encode()).digest()
    return base64.b64encode(digest).decode("ascii")


def state_token(scope: str, name: str) -> str:
    """The state token of mbox or view `name` in a prefetch answer."""
    digest = hashlib.sha384(f"state\0{scope}\0{name}".encode()).digest()
    return base64.b64encode(digest).decode("ascii")


def _tnta(activity: Any, experience: Any) -> str:
    return f"{activity}:{experience}:0|2"


def _analytics_payload(name: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    """An A4T payload: activity/experience ids from the response tokens, else a stable number."""
    tokens: Mapping[str, Any] = options[0].get("responseTokens", {}) if options else {}
    fallback = int.from_bytes(hashlib.sha256(name.encode()).digest()[:3], "big")
    activity = tokens.get("activity.id", fallback)
    experience = tokens.get("experience.id", 0)
    return {"payload": {"pe": "tnt", "tnta": _tnta(activity, experience)}}


@attrs.frozen
class _Entry:
    """One mbox or view, compiled once into the JSON fragments answers are built from."""

    execute_options: list[dict[str, Any]]
    prefetch_options: list[dict[str, Any]]
    state: str
    analytics: dict[str, Any]


def _compile_options(scope: str, name: str, options: Any) -> _Entry:
    if not isinstance(options, list):
        raise TargetConfigError(
            f"offers for {scope} {name!r} must be a list of options", key="offers"
        )
    execute: list[dict[str, Any]] = []
    prefetch: list[dict[str, Any]] = []
    for index, option in enumerate(options):
        where = f"offers for {scope} {name!r}, option {index}"
        if not isinstance(option, Mapping):
            raise TargetConfigError(f"{where} must be an object", key="offers")
        unknown = set(option) - _OPTION_KEYS
        if unknown:
            raise TargetConfigError(f"{where} has unknown keys {sorted(unknown)}", key="offers")
        if option.get("type") not in OPTION_TYPES:
            raise TargetConfigError(
                f"{where}: type must be one of {sorted(OPTION_TYPES)}", key="offers"
            )
        if "content" not in option:
            raise TargetConfigError(f"{where} has no content", key="offers")
        response_tokens = option.get("responseTokens")
        if response_tokens is not None and not isinstance(response_tokens, Mapping):
            raise TargetConfigError(f"{where}: responseTokens must be an object", key="offers")
        token = option.get("eventToken") or event_token(scope, name, index)
        # Key order as the real edge writes it: type, content, eventToken, responseTokens.
        executed: dict[str, Any] = {"type": option["type"], "content": option["content"]}
        prefetched: dict[str, Any] = {**executed, "eventToken": token}
        if response_tokens:
            executed["responseTokens"] = prefetched["responseTokens"] = dict(response_tokens)
        execute.append(executed)
        prefetch.append(prefetched)
    return _Entry(execute, prefetch, state_token(scope, name), _analytics_payload(name, execute))


class OfferCatalog:
    """Offers compiled for fast answers. Immutable: replace the catalog to change offers."""

    __slots__ = ("mboxes", "source", "views")

    def __init__(self, source: Mapping[str, Any]) -> None:
        self.source: dict[str, Any] = dict(source)
        self.mboxes: dict[str, _Entry] = {}
        self.views: dict[str, _Entry] = {}
        for name, value in self.source.items():
            if name == VIEWS_KEY and isinstance(value, Mapping):
                for view_name, options in value.items():
                    self.views[view_name] = _compile_options("view", view_name, options)
            else:
                self.mboxes[name] = _compile_options("mbox", name, value)

    @classmethod
    def load(cls, offers: OffersSource | None) -> OfferCatalog:
        """Compile a mapping, or read a JSON file; None gives the bundled sample offers."""
        if offers is None:
            offers = SAMPLE_OFFERS_PATH
        if isinstance(offers, (str, os.PathLike)):
            path = Path(offers)
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise TargetConfigError(
                    f"cannot read offers file {path}: {error}", key="offers"
                ) from error
            if not isinstance(data, dict):
                raise TargetConfigError(f"offers file {path} must hold a JSON object", key="offers")
            return cls(data)
        return cls(offers)


def validate_delivery_request(query: Mapping[str, str], body: Any) -> str | None:
    """Why the edge rejects this request with a 400, or None when it is acceptable."""
    if not query.get("imsOrgId"):
        return "imsOrgId query parameter is required"
    if not query.get("sessionId"):
        return "sessionId query parameter is required"
    if not isinstance(body, dict):
        return "request body must be a JSON DeliveryRequest object"
    if not isinstance(body.get("context"), dict):
        return "context is required"
    for section in ("execute", "prefetch"):
        part = body.get(section)
        if part is None:
            continue
        if not isinstance(part, dict):
            return f"{section} must be an object"
        mboxes = part.get("mboxes", [])
        if not isinstance(mboxes, list):
            return f"{section}.mboxes must be an array"
        for mbox in mboxes:
            if (
                not isinstance(mbox, dict)
                or not isinstance(mbox.get("name"), str)
                or not mbox["name"]
            ):
                return f"{section}.mboxes: every mbox needs a name"
    notifications = body.get("notifications", [])
    if not isinstance(notifications, list):
        return "notifications must be an array"
    for notification in notifications:
        if not isinstance(notification, dict):
            return "notifications must be objects"
        if not isinstance(notification.get("id"), str) or not notification["id"]:
            return "notification id is required"
        if notification.get("type") not in NOTIFICATION_TYPES:
            return "notification type must be click or display"
        timestamp = notification.get("timestamp")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool):
            return "notification timestamp must be an integer (epoch milliseconds)"
    return None


def _mbox_answer(
    catalog: OfferCatalog, mbox: dict[str, Any], position: int, prefetch: bool, analytics: bool
) -> dict[str, Any]:
    name: str = mbox["name"]
    index = mbox.get("index")
    answer: dict[str, Any] = {
        "index": index if isinstance(index, int) else position,
        "name": name,
    }
    entry = catalog.mboxes.get(name)
    if entry is not None:
        answer["options"] = entry.prefetch_options if prefetch else entry.execute_options
        if analytics:
            answer["analytics"] = entry.analytics
    if prefetch:
        answer["state"] = entry.state if entry is not None else state_token("mbox", name)
    return answer


def _page_load_answer(catalog: OfferCatalog, prefetch: bool, analytics: bool) -> dict[str, Any]:
    entry = catalog.mboxes.get(GLOBAL_MBOX)
    answer: dict[str, Any] = {}
    if entry is not None:
        answer["options"] = entry.prefetch_options if prefetch else entry.execute_options
        if analytics:
            answer["analytics"] = entry.analytics
    if prefetch:
        answer["state"] = entry.state if entry is not None else state_token("mbox", GLOBAL_MBOX)
    return answer


def _views_answer(
    catalog: OfferCatalog, requested: list[Any], analytics: bool
) -> list[dict[str, Any]]:
    """The views asked for: a named view if it has offers, every view for an unnamed request."""
    names: dict[str, None] = {}
    for view in requested:
        name = view.get("name") if isinstance(view, dict) else None
        if name:
            if name in catalog.views:
                names[name] = None
        else:
            names.update(dict.fromkeys(catalog.views))
    answers = []
    for name in names:
        entry = catalog.views[name]
        answer: dict[str, Any] = {
            "name": name,
            "options": entry.prefetch_options,
            "state": entry.state,
        }
        if analytics:
            answer["analytics"] = entry.analytics
        answers.append(answer)
    return answers


def _response_head(body: dict[str, Any], client: str, cluster: str) -> dict[str, Any]:
    """status, requestId, id (a tntId generated with the cluster when absent), client, edgeHost."""
    visitor = body.get("id")
    visitor_id: dict[str, Any] = dict(visitor) if isinstance(visitor, dict) else {}
    if not visitor_id.get("tntId"):
        visitor_id["tntId"] = f"{uuid.uuid4().hex}.{cluster}_0"
    return {
        "status": 200,
        "requestId": body.get("requestId") or str(uuid.uuid4()),
        "id": visitor_id,
        "client": client,
        "edgeHost": f"mboxedge{cluster}.tt.omtrdc.net",
    }


def _wants_analytics(body: dict[str, Any]) -> bool:
    experience_cloud = body.get("experienceCloud")
    return (
        isinstance(experience_cloud, dict)
        and isinstance(experience_cloud.get("analytics"), dict)
        and experience_cloud["analytics"].get("logging") == "client_side"
    )


def _acknowledge_notifications(body: dict[str, Any], response: dict[str, Any]) -> None:
    notifications = body.get("notifications")
    if notifications:
        response["notifications"] = [{"id": notification["id"]} for notification in notifications]


def build_delivery_response(
    body: dict[str, Any], catalog: OfferCatalog, *, client: str, cluster: str
) -> dict[str, Any]:
    """The DeliveryResponse for a request that passed `validate_delivery_request`."""
    response = _response_head(body, client, cluster)
    analytics = _wants_analytics(body)

    execute = body.get("execute")
    if execute:
        answer: dict[str, Any] = {}
        if isinstance(execute.get("pageLoad"), dict):
            answer["pageLoad"] = _page_load_answer(catalog, False, analytics)
        if execute.get("mboxes"):
            answer["mboxes"] = [
                _mbox_answer(catalog, mbox, position, False, analytics)
                for position, mbox in enumerate(execute["mboxes"])
            ]
        response["execute"] = answer

    prefetch = body.get("prefetch")
    if prefetch:
        answer = {}
        if isinstance(prefetch.get("views"), list):
            answer["views"] = _views_answer(catalog, prefetch["views"], analytics)
        if isinstance(prefetch.get("pageLoad"), dict):
            answer["pageLoad"] = _page_load_answer(catalog, True, analytics)
        if prefetch.get("mboxes"):
            answer["mboxes"] = [
                _mbox_answer(catalog, mbox, position, True, analytics)
                for position, mbox in enumerate(prefetch["mboxes"])
            ]
        response["prefetch"] = answer

    _acknowledge_notifications(body, response)
    return response


class _ArtifactAnswers:
    """Turns the engine's on-device answers into what the edge says for the same decisions."""

    def __init__(
        self,
        artifact: ServedArtifact,
        global_mbox: str,
        catalog: OfferCatalog,
        decision: LocalDecision,
        analytics: bool,
    ) -> None:
        self.artifact = artifact
        self.global_mbox = global_mbox
        self.catalog = catalog
        self.analytics = analytics
        self.remote_mboxes = {name for name in decision.remote_mboxes if name in catalog.mboxes}
        self.remote_views = [name for name in decision.remote_views if name in catalog.views]
        # Execute options carry no eventToken: the display notifications name the decided ones.
        self.execute_tokens: dict[str, list[str]] = {}
        for notification in decision.notifications:
            name = notification["mbox"]["name"]
            self.execute_tokens.setdefault(name, []).extend(notification["tokens"])

    def finish(
        self, answer: dict[str, Any], scope: str, name: str, prefetch: bool
    ) -> dict[str, Any]:
        options: list[dict[str, Any]] = answer.get("options") or []
        for option in options:
            tokens = option.get("responseTokens")
            if isinstance(tokens, dict):
                tokens.update(_SERVER_SIDE_TOKEN)
        if self.analytics and options:
            event_tokens = (
                [option["eventToken"] for option in options if "eventToken" in option]
                if prefetch
                else self.execute_tokens.get(name, [])
            )
            experiences = self.artifact.experiences
            decided = dict.fromkeys(
                experiences[token] for token in event_tokens if token in experiences
            )
            if decided:
                tnta = ",".join(_tnta(activity, experience) for activity, experience in decided)
                answer["analytics"] = {"payload": {"pe": "tnt", "tnta": tnta}}
        if prefetch:
            answer["state"] = state_token(scope, name)
        return answer

    def section(self, section: dict[str, Any], prefetch: bool) -> dict[str, Any]:
        global_mbox = self.global_mbox
        mboxes = section.get("mboxes")
        if mboxes is not None:
            section["mboxes"] = [
                _mbox_answer(self.catalog, answer, position, prefetch, self.analytics)
                if answer.get("name") in self.remote_mboxes
                else self.finish(answer, "mbox", answer.get("name", ""), prefetch)
                for position, answer in enumerate(mboxes)
            ]
        page_load = section.get("pageLoad")
        if page_load is not None:
            section["pageLoad"] = (
                _page_load_answer(self.catalog, prefetch, self.analytics)
                if global_mbox in self.remote_mboxes
                else self.finish(page_load, "mbox", global_mbox, prefetch)
            )
        views = section.get("views")
        if views is not None:
            section["views"] = [
                self.finish(view, "view", view.get("name", ""), True) for view in views
            ] + _views_answer(
                self.catalog, [{"name": name} for name in self.remote_views], self.analytics
            )
        return section


def build_artifact_response(
    body: dict[str, Any],
    artifact: ServedArtifact,
    compiled: CompiledArtifact,
    catalog: OfferCatalog,
    *,
    client: str,
    cluster: str,
    session_id: str,
    geo: Callable[[str | None], Mapping[str, Any]],
) -> dict[str, Any]:
    """The DeliveryResponse the edge gives by deciding the artifact's activities server-side.

    The decisions are the engine's, so they equal on-device ones for the same visitor;
    then the edge's own parts are added: a 200 status, `edgeHost`, `state` on prefetched
    answers, `activity.decisioningMethod: server-side`, analytics payloads when asked.
    Mboxes and views the artifact leaves to the edge (remote) are answered from `catalog`.
    `geo(ip)` resolves a request IP (None: the caller's) as the geo service would.
    """
    response = _response_head(body, client, cluster)
    request = {**body, "id": response["id"]}
    if needs_geo_lookup(compiled, request):
        address = request["context"]["geo"].get("ipAddress")
        found = geo(address if address != UNKNOWN_IP_ADDRESS else None)
        request = with_geo(request, geo_from_lookup(found))
    decision = decide(
        compiled, request, client=client, session_id=session_id, location_hint=cluster
    )
    answers = _ArtifactAnswers(
        artifact, compiled.global_mbox, catalog, decision, _wants_analytics(body)
    )
    for mode in ("execute", "prefetch"):
        section = decision.response.get(mode)
        if section is not None:
            response[mode] = answers.section(section, mode == "prefetch")
    _acknowledge_notifications(body, response)
    return response
