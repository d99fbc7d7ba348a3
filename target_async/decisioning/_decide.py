"""On-device decisions: a Delivery request in, a Delivery response out, no I/O."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, Final

import attrs

from ._allocation import allocation_by_key, new_id, new_id_pair, visitor_id_for_allocation
from ._compile import CompiledArtifact, CompiledRule
from ._context import (
    ALL_CONTEXT_PARTS,
    ContextParts,
    browser_context,
    geo_context,
    mbox_context,
    needs_lookup,
    timing_context,
    url_context,
)
from ._js import js_truthy
from ._macros import replace_campaign_macros
from ._template import Template
from ._trace import ArtifactInfo, RequestTracer, TraceContext, json_copy

__all__ = ["LocalDecision", "decide", "needs_geo_lookup", "remote_dependency"]

_OK: Final = 200
_PARTIAL_CONTENT: Final = 206
_EXECUTE: Final = "execute"
_PREFETCH: Final = "prefetch"
_EMPTY_CONTEXT: Final[Mapping[str, Any]] = {"channel": "web"}


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


def _add_names(names: dict[Any, None], items: list[Any]) -> None:
    for item in items:
        if isinstance(item, dict):
            name = item.get("name")
            if name is not None:
                names[name] = None


def _remote(
    remote: tuple[str, ...], local: frozenset[str], requested: dict[Any, None]
) -> list[Any]:
    """The requested names the artifact marks remote (in its order), then those it does not know."""
    if not requested:
        return []
    names = {name: None for name in remote if name in requested} if remote else {}
    for name in requested:
        if name not in local:
            names[name] = None
    return list(names)


def remote_dependency(
    artifact: CompiledArtifact, request: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """(mboxes, views) of the request that need the edge: the artifact marks them remote or
    does not know them. A pageLoad counts as the global mbox; a views request without names
    depends on every remote view."""
    mboxes: dict[Any, None] = {}  # requested names in first-seen order, prefetch first
    views: dict[Any, None] = {}
    has_views = has_page_load = False
    for mode in (_PREFETCH, _EXECUTE):
        section = request.get(mode)
        if not isinstance(section, dict):
            continue
        items = section.get("mboxes")
        if isinstance(items, list):
            _add_names(mboxes, items)
        items = section.get("views")
        if isinstance(items, list):
            has_views = True
            _add_names(views, items)
        if isinstance(section.get("pageLoad"), dict):
            has_page_load = True
    if has_page_load:
        mboxes.setdefault(artifact.global_mbox, None)
    if has_views and not views:
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
    if isinstance(visitor, dict):
        result = dict(visitor)
        for key, value in result.items():  # only nested ids (customerIds) need copying
            if type(value) is dict or type(value) is list:
                result[key] = json_copy(value)
    else:
        result = {}
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
    """The state of one `decide` call: context parts, allocations, notifications, tracing.

    Context parts (user agent, URLs, geo, time) are computed on first use: most rules read
    only a few of them, many only `allocation`.
    """

    __slots__ = (
        "_geo_tokens",
        "allocations",
        "artifact",
        "client",
        "notifications",
        "notified",
        "now_ms",
        "parts",
        "property_token",
        "request_context",
        "trace_context",
        "visitor",
        "visitor_id",
    )

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
        self.visitor = visitor
        self.visitor_id: str | None = None
        self.request_context = context
        self.now_ms = now_ms
        self.property_token = property_token
        self.trace_context = trace_context
        self.parts: dict[str, Any] = {}
        self._geo_tokens: dict[str, Any] | None = None
        self.allocations: dict[Any, float] = {}
        self.notifications: list[dict[str, Any]] = []
        self.notified: set[tuple[Any, str]] = set()

    # -- rule evaluation -------------------------------------------------------------

    def base_part(self, part: str) -> Any:
        """A context part that depends on the request only (not on the mbox or view)."""
        value = self.parts.get(part)
        if value is None:
            context = self.request_context
            if part == "timing":
                value = timing_context(self.now_ms)
            elif part == "user":
                value = browser_context(context)
            elif part == "geo":
                value = geo_context(context.get("geo"))
            else:  # page, referring
                address = context.get("address")
                key = "url" if part == "page" else "referringUrl"
                url = address.get(key) if isinstance(address, dict) else None
                value = url_context(url if isinstance(url, str) else "")
            self.parts[part] = value
        return value

    def rule_context(self, detail: Mapping[str, Any], parts: ContextParts) -> dict[str, Any]:
        context: dict[str, Any] = {}
        for part in parts:
            if part == "mbox":
                context["mbox"] = mbox_context(detail)
            elif part == "timing":
                context.update(self.base_part(part))
            elif part == "page" or part == "referring":
                # The mbox's or view's own address overrides the request's.
                address = detail.get("address")
                url = None
                if isinstance(address, dict):
                    url = address.get("url" if part == "page" else "referringUrl")
                context[part] = url_context(url) if isinstance(url, str) else self.base_part(part)
            else:
                context[part] = self.base_part(part)
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
            page=self.base_part("page"),
        )

    def allocation(self, rule: CompiledRule) -> float:
        value = self.allocations.get(rule.activity_id)
        if value is None:
            visitor_id = self.visitor_id
            if visitor_id is None:
                visitor_id = self.visitor_id = visitor_id_for_allocation(self.visitor)
            value = self.allocations[rule.activity_id] = allocation_by_key(
                self.client, rule.allocation_key, visitor_id
            )
        return value

    def matching(
        self,
        rules: tuple[CompiledRule, ...],
        context: dict[str, Any],
        tracer: RequestTracer | None,
        *,
        distinct: bool,
    ) -> Iterator[CompiledRule]:
        """The rules whose property tokens and condition the request satisfies, in order;
        with `distinct`, only the first of each rule key."""
        property_token = self.property_token
        allocations = self.allocations
        tracing = tracer is not None
        matched_keys = set()
        for rule in rules:
            rule_key, property_tokens, activity_id, uses_allocation, condition = rule.evaluation
            if distinct and rule_key in matched_keys:
                continue
            if property_tokens is not None and property_token not in property_tokens:
                continue
            if uses_allocation or tracing:
                allocation = allocations.get(activity_id)
                context["allocation"] = self.allocation(rule) if allocation is None else allocation
            value = condition(context)
            satisfied = value is True or (value is not False and js_truthy(value))
            if tracer is not None:
                tracer.rule_evaluated(rule, context, satisfied)
            if satisfied:
                if distinct:
                    matched_keys.add(rule_key)
                yield rule

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
        notification_id, impression_id = new_id_pair()
        notification = {
            "id": notification_id,
            "impressionId": impression_id,
            "timestamp": self.now_ms,
            "type": "display",
            "mbox": {"name": mbox_name},
            "tokens": tokens,
        }
        self.notifications.append(notification)
        return notification

    def geo_tokens(self) -> dict[str, Any]:
        """The artifact's geo response tokens the request's geo has values for."""
        tokens = self._geo_tokens
        if tokens is None:
            tokens = {}
            geo = self.request_context.get("geo")
            if geo:
                for token, field in self.artifact.geo_response_tokens:
                    value = geo.get(field)
                    if value is not None:
                        tokens[token] = value
            self._geo_tokens = tokens
        return tokens

    def respond(
        self,
        rule: CompiledRule,
        template: Template,
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
        response: dict[str, Any] = template()
        geo_tokens = self.geo_tokens()
        if geo_tokens:
            for option in response["options"]:
                option["responseTokens"].update(geo_tokens)
        if rule.has_macros:
            replace_campaign_macros(response["options"], rule.meta, detail)
        index = detail.get("index")
        if index is not None:
            response["index"] = index
        if with_trace and tracer is not None:
            response["trace"] = tracer.result()
        return response

    # -- request details ---------------------------------------------------------------

    def mbox(self, detail: Mapping[str, Any], mode: str) -> list[dict[str, Any]]:
        """Responses for one mbox: the first satisfied rule, or every one (distinct rule keys) for
        the global mbox. Each carries the trace as it stood when its rule was satisfied."""
        name = detail.get("name")
        artifact = self.artifact
        rules: tuple[CompiledRule, ...] = ()
        parts: ContextParts = ()
        if isinstance(name, str):
            rules = artifact.mbox_rules.get(name, ())
            parts = artifact.mbox_context_parts.get(name, ())
        is_global = name == artifact.global_mbox
        tracer = None
        if self.trace_context is not None:
            tracer = self.tracer(mode, "mbox", detail)
            parts = ALL_CONTEXT_PARTS  # the trace shows the whole context
        context = self.rule_context(detail, parts) if parts else {}
        execute = mode == _EXECUTE
        responses = []
        for rule in self.matching(rules, context, tracer, distinct=is_global):
            template = rule.execute_template if execute else rule.prefetch_template
            responses.append(
                self.respond(rule, template, detail, tracer, execute=execute, with_trace=True)
            )
            if not is_global:
                break
        if not responses and not is_global:
            blank = {key: detail[key] for key in ("name", "index") if detail.get(key) is not None}
            if tracer is not None:
                blank["trace"] = tracer.result()
            responses.append(blank)
        return responses

    def page_load(self, detail: Mapping[str, Any], mode: str) -> dict[str, Any]:
        """The pageLoad response: every satisfied global-mbox rule's options, metrics deduplicated."""
        responses = self.mbox({**detail, "name": self.artifact.global_mbox}, mode)
        result: dict[str, Any] = {
            "options": [option for response in responses for option in response["options"]]
        }
        # The trace of the last satisfied rule, as the Node SDK shows it: rules evaluated
        # after it are not listed, and a pageLoad nothing satisfied has no trace.
        if responses and "trace" in responses[-1]:
            result["trace"] = responses[-1]["trace"]
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
        artifact = self.artifact
        if name:
            rules = artifact.view_rules.get(name, ())
            parts = artifact.view_context_parts.get(name, ())
        else:
            rules, parts = artifact.all_view_rules, artifact.all_views_context_parts
        tracer = self.tracer(_PREFETCH, "view", detail)
        if tracer is not None:
            parts = ALL_CONTEXT_PARTS
        context = self.rule_context(detail, parts)
        by_view: dict[Any, dict[str, Any]] = {}
        for rule in self.matching(rules, context, tracer, distinct=True):
            merged = by_view.get(rule.name)
            # A view's trace is the one of its first satisfied rule, as the Node SDK shows it:
            # the rules evaluated after it (the view's other options) are not listed again.
            response = self.respond(
                rule, rule.view_template, detail, tracer, execute=False, with_trace=merged is None
            )
            if merged is None:
                by_view[rule.name] = response
            else:
                merged["options"].extend(response["options"])
                merged["metrics"].extend(response["metrics"])
        return list(by_view.values())

    def section(self, section: Mapping[str, Any], mode: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        mboxes = section.get("mboxes")
        if isinstance(mboxes, list):
            result["mboxes"] = [
                response
                for detail in mboxes
                if isinstance(detail, dict)
                for response in self.mbox(detail, mode)
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
    # Positional: a keyword call of the attrs __init__ costs measurably more, once per call.
    return LocalDecision(response, decider.notifications, remote_mboxes, remote_views)
