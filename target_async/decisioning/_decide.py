"""On-device decisions: a Delivery request in, a Delivery response out, no I/O."""

from __future__ import annotations

import marshal
import time
from collections.abc import Iterable, Mapping
from typing import Any, Final

import attrs

from ._allocation import allocation, new_id, visitor_id_for_allocation
from ._compile import CompiledArtifact, CompiledRule
from ._context import (
    browser_context,
    geo_context,
    mbox_context,
    needs_lookup,
    timing_context,
    url_context,
)
from ._js import js_truthy
from ._macros import replace_campaign_macros
from ._trace import ArtifactInfo, RequestTracer, TraceContext, json_copy

__all__ = ["LocalDecision", "decide", "needs_geo_lookup", "remote_dependency"]

_OK: Final = 200
_PARTIAL_CONTENT: Final = 206
_EXECUTE: Final = "execute"
_PREFETCH: Final = "prefetch"
_EMPTY_CONTEXT: Final[Mapping[str, Any]] = {"channel": "web"}
_DECISIONING_METHOD_TOKEN: Final = {"activity.decisioningMethod": "on-device"}


@attrs.frozen
class LocalDecision:
    """The outcome of `decide`.

    `response` is the camelCase DeliveryResponse (status, requestId, id, client, execute?,
    prefetch?); `notifications` are the display notifications of the execute decisions, to be
    reported to the edge (see `notification_request`); `remote_mboxes` / `remote_views` name
    what the artifact cannot decide locally (status is then 206).
    """

    response: dict[str, Any]
    notifications: list[dict[str, Any]]
    remote_mboxes: list[str]
    remote_views: list[str]


def _requested_names(request: Mapping[str, Any], key: str) -> list[str]:
    names: dict[str, None] = {}
    for mode in (_PREFETCH, _EXECUTE):
        section = request.get(mode)
        items = section.get(key) if isinstance(section, dict) else None
        if isinstance(items, list):
            names |= {
                item["name"]: None
                for item in items
                if isinstance(item, dict) and item.get("name") is not None
            }
    return list(names)


def _has_views(request: Mapping[str, Any]) -> bool:
    return any(
        isinstance(section, dict) and isinstance(section.get("views"), list)
        for section in (request.get(_PREFETCH), request.get(_EXECUTE))
    )


def _remote(remote: Iterable[str], local: frozenset[str], requested: list[str]) -> list[str]:
    wanted = set(requested)
    names = {name: None for name in remote if name in wanted}
    names |= {name: None for name in requested if name not in local}
    return list(names)


def remote_dependency(
    artifact: CompiledArtifact, request: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """(mboxes, views) of the request that need the edge: the artifact marks them remote or
    does not know them. A pageLoad counts as the global mbox; a views request without names
    depends on every remote view."""
    mboxes = _requested_names(request, "mboxes")
    if any(
        isinstance(section, dict) and isinstance(section.get("pageLoad"), dict)
        for section in (request.get(_EXECUTE), request.get(_PREFETCH))
    ):
        mboxes.append(artifact.global_mbox)
    views = _requested_names(request, "views")
    if _has_views(request) and not views:
        remote_views = list(dict.fromkeys(artifact.remote_views))
    else:
        remote_views = _remote(artifact.remote_views, artifact.local_views, views)
    return _remote(artifact.remote_mboxes, artifact.local_mboxes, mboxes), remote_views


def needs_geo_lookup(artifact: CompiledArtifact, request: Mapping[str, Any]) -> bool:
    """Whether the geo lookup service must be asked before deciding: the artifact targets geo,
    and the request's `context.geo` has an IP address (or "unknownIpAddress") but no location."""
    if not artifact.geo_targeting_enabled:
        return False
    context = request.get("context")
    return needs_lookup(context.get("geo") if isinstance(context, dict) else None)


def _has_authenticated_customer(visitor: Mapping[str, Any]) -> bool:
    customer_ids = visitor.get("customerIds")
    if not isinstance(customer_ids, list):
        return False
    authenticated = [
        customer
        for customer in customer_ids
        if isinstance(customer, dict) and customer.get("authenticatedState") == "authenticated"
    ]
    return bool(authenticated and authenticated[0].get("id"))


def _visitor_with_id(visitor: Any, location_hint: str | None) -> dict[str, Any]:
    """The request's visitor id; an anonymous visitor gets a new tntId (with the location hint)."""
    result = json_copy(dict(visitor)) if isinstance(visitor, dict) else {}
    if not (
        result.get("tntId")
        or result.get("marketingCloudVisitorId")
        or _has_authenticated_customer(result)
        or result.get("thirdPartyId")
    ):
        hint = (
            f".{location_hint}_0"
            if isinstance(location_hint, str) and location_hint.strip()
            else ""
        )
        result["tntId"] = new_id() + hint
    return result


class _Decider:
    """The state of one `decide` call: base rule context, allocations, notifications, tracing."""

    def __init__(
        self,
        artifact: CompiledArtifact,
        *,
        client: str,
        visitor: Mapping[str, Any],
        context: Mapping[str, Any],
        now_ms: int,
        property_token: str | None,
        trace_context: TraceContext | None,
    ) -> None:
        self.artifact = artifact
        self.client = client
        self.now_ms = now_ms
        self.property_token = property_token
        self.trace_context = trace_context
        self.visitor_id = visitor_id_for_allocation(visitor)
        address = context.get("address")
        address = address if isinstance(address, dict) else {}
        geo = geo_context(context.get("geo"))
        self.base_context: dict[str, Any] = timing_context(now_ms) | {
            "user": browser_context(context),
            "page": url_context(_string(address.get("url"))),
            "referring": url_context(_string(address.get("referringUrl"))),
            "geo": geo,
        }
        self.call_tokens = _DECISIONING_METHOD_TOKEN | {
            token: geo[key] for token, key in artifact.geo_response_tokens if key in geo
        }
        self.allocations: dict[Any, float] = {}
        self.notifications: list[dict[str, Any]] = []
        self.notified: set[tuple[Any, str]] = set()

    # -- rule evaluation -------------------------------------------------------------

    def rule_context(self, detail: Mapping[str, Any]) -> dict[str, Any]:
        context = self.base_context.copy()
        address = detail.get("address")
        if isinstance(address, dict):
            if isinstance(address.get("url"), str):
                context["page"] = url_context(address["url"])
            if isinstance(address.get("referringUrl"), str):
                context["referring"] = url_context(address["referringUrl"])
        context["mbox"] = mbox_context(detail)
        return context

    def tracer(
        self, mode: str, request_type: str, detail: Mapping[str, Any]
    ) -> RequestTracer | None:
        if self.trace_context is None:
            return None
        return RequestTracer(
            self.trace_context,
            mode=mode,
            request_type=request_type,
            detail=detail,
            page=self.base_context["page"],
        )

    def satisfied(
        self, rule: CompiledRule, context: dict[str, Any], tracer: RequestTracer | None
    ) -> bool:
        tokens = rule.property_tokens
        if tokens and (self.property_token is None or self.property_token not in tokens):
            return False
        if rule.uses_allocation or tracer is not None:
            activity_id = rule.activity_id
            value = self.allocations.get(activity_id)
            if value is None:
                value = self.allocations[activity_id] = allocation(
                    self.client, activity_id, self.visitor_id
                )
            context["allocation"] = value
        value = rule.condition(context)
        result = value is True or (value is not False and js_truthy(value))
        if tracer is not None:
            tracer.rule_evaluated(rule, context, result)
        return result

    # -- consequences ----------------------------------------------------------------

    def notify(self, rule: CompiledRule, mbox_name: Any) -> dict[str, Any] | None:
        """Record the display notification of an execute decision (tokens not yet reported for the mbox)."""
        tokens = []
        for token in rule.event_tokens:
            key = (mbox_name, token)
            if key not in self.notified:
                self.notified.add(key)
                tokens.append(token)
        if not tokens:
            return None
        notification = {
            "id": new_id(),
            "impressionId": new_id(),
            "timestamp": self.now_ms,
            "type": "display",
            "mbox": {"name": mbox_name},
            "tokens": tokens,
        }
        self.notifications.append(notification)
        return notification

    def respond(
        self,
        rule: CompiledRule,
        template: bytes,
        detail: Mapping[str, Any],
        tracer: RequestTracer | None,
        *,
        execute: bool,
        with_trace: bool,
    ) -> dict[str, Any]:
        if execute:
            notification = self.notify(
                rule, rule.name if rule.name is not None else detail.get("name")
            )
            if tracer is not None:
                tracer.notification_added(rule, notification)
        response: dict[str, Any] = marshal.loads(template)
        options: list[dict[str, Any]] = response["options"]
        call_tokens = self.call_tokens
        for option in options:
            option["responseTokens"].update(call_tokens)
        if rule.has_macros:
            replace_campaign_macros(options, rule.meta, detail)
        index = detail.get("index")
        if index is not None:
            response["index"] = index
        if with_trace and tracer is not None:
            response["trace"] = tracer.result()
        return response

    # -- request details ---------------------------------------------------------------

    def mbox(
        self, detail: Mapping[str, Any], mode: str, *, page_load: bool = False
    ) -> tuple[list[dict[str, Any]], RequestTracer | None]:
        """Responses for one mbox: the first satisfied rule, or every one (distinct rule keys) for the global mbox."""
        name = detail.get("name")
        rules = self.artifact.mbox_rules.get(name, ()) if isinstance(name, str) else ()
        is_global = name == self.artifact.global_mbox
        context = self.rule_context(detail)
        tracer = self.tracer(mode, "mbox", detail)
        execute = mode == _EXECUTE
        responses = []
        matched_keys = set()
        for rule in rules:
            if is_global and rule.rule_key in matched_keys:
                continue
            if not self.satisfied(rule, context, tracer):
                continue
            template = rule.execute_template if execute else rule.prefetch_template
            responses.append(
                self.respond(
                    rule, template, detail, tracer, execute=execute, with_trace=not page_load
                )
            )
            if not is_global:
                break
            matched_keys.add(rule.rule_key)
        if not responses and not is_global:
            blank = {key: detail[key] for key in ("name", "index") if detail.get(key) is not None}
            if tracer is not None:
                blank["trace"] = tracer.result()
            responses.append(blank)
        return responses, tracer

    def page_load(self, detail: Mapping[str, Any], mode: str) -> dict[str, Any]:
        """The pageLoad response: every satisfied global-mbox rule's options, metrics deduplicated."""
        responses, tracer = self.mbox(
            {**detail, "name": self.artifact.global_mbox}, mode, page_load=True
        )
        result: dict[str, Any] = {
            "options": [option for response in responses for option in response["options"]]
        }
        if tracer is not None:
            result["trace"] = tracer.result()
        metrics: dict[Any, dict[str, Any]] = {}
        for response in responses:
            for metric in response.get("metrics") or ():
                metrics[metric.get("eventToken")] = metric
        if metrics:
            result["metrics"] = list(metrics.values())
        return result

    def views(self, detail: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Responses for one view request (all views when it names none), merged per view name."""
        name = detail.get("name")
        rules = self.artifact.view_rules.get(name, ()) if name else self.artifact.all_view_rules
        context = self.rule_context(detail)
        tracer = self.tracer(_PREFETCH, "view", detail)
        by_view: dict[Any, dict[str, Any]] = {}
        matched_keys = set()
        for rule in rules:
            if rule.rule_key in matched_keys or not self.satisfied(rule, context, tracer):
                continue
            matched_keys.add(rule.rule_key)
            response = self.respond(
                rule, rule.view_template, detail, tracer, execute=False, with_trace=False
            )
            merged = by_view.get(response.get("name"))
            if merged is None:
                by_view[response.get("name")] = response
            else:
                merged["options"].extend(response["options"])
                merged["metrics"].extend(response["metrics"])
        if tracer is not None:
            for response in by_view.values():
                response["trace"] = tracer.result()
        return list(by_view.values())

    def section(self, section: Mapping[str, Any], mode: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        mboxes = section.get("mboxes")
        if isinstance(mboxes, list):
            result["mboxes"] = [
                response
                for detail in mboxes
                if isinstance(detail, dict)
                for response in self.mbox(detail, mode)[0]
            ]
        views = section.get("views")
        if mode == _PREFETCH and isinstance(views, list):
            result["views"] = [
                response
                for detail in views
                if isinstance(detail, dict)
                for response in self.views(detail)
            ]
        page_load = section.get("pageLoad")
        if isinstance(page_load, dict):
            result["pageLoad"] = self.page_load(page_load, mode)
        return result


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def decide(
    artifact: CompiledArtifact,
    request: Mapping[str, Any],
    *,
    client: str,
    session_id: str,
    location_hint: str | None = None,
    now_ms: int | None = None,
    property_token: str | None = None,
    artifact_info: ArtifactInfo | None = None,
) -> LocalDecision:
    """Decide a (normalised, camelCase) Delivery request from the artifact's rules.

    `client` is the Target client code (allocation hashing, `response.client`); `session_id`
    and `artifact_info` only show in traces; `location_hint` goes into a generated tntId;
    `now_ms` fixes the clock (epoch ms, default: now); `property_token` applies when the
    request has no `property.token`. Geo must already be resolved (see `needs_geo_lookup`).
    Never mutates `request`; the returned objects share nothing with it or the artifact.
    """
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    visitor = _visitor_with_id(request.get("id"), location_hint)
    context = request.get("context")
    context = context if isinstance(context, dict) else _EMPTY_CONTEXT
    request_property = request.get("property")
    token = request_property.get("token") if isinstance(request_property, dict) else None
    trace_context = None
    if request.get("trace") is not None:
        trace_context = TraceContext(
            artifact, artifact_info, client=client, session_id=session_id, visitor=visitor
        )
    decider = _Decider(
        artifact,
        client=client,
        visitor=visitor,
        context=context,
        now_ms=now_ms,
        property_token=token or property_token,
        trace_context=trace_context,
    )
    remote_mboxes, remote_views = remote_dependency(artifact, request)
    response: dict[str, Any] = {
        "status": _PARTIAL_CONTENT if remote_mboxes or remote_views else _OK,
        "requestId": request.get("requestId") or new_id(),
        "id": visitor,
        "client": client,
    }
    for mode in (_EXECUTE, _PREFETCH):
        section = request.get(mode)
        if isinstance(section, dict):
            response[mode] = decider.section(section, mode)
    return LocalDecision(
        response=response,
        notifications=decider.notifications,
        remote_mboxes=remote_mboxes,
        remote_views=remote_views,
    )
