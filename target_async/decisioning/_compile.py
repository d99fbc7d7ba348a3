"""Turning a raw rules artifact into indexes and compiled rules, once per artifact."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from .. import _serde
from .._exceptions import ArtifactError
from ..models import Metric, Option
from ._context import ContextParts, context_parts, merged_context_parts
from ._js import js_string
from ._jsonlogic import Evaluator, compile_logic, var_paths
from ._template import Template, lazy_template

__all__ = [
    "SUPPORTED_ARTIFACT_MAJOR_VERSION",
    "CompiledArtifact",
    "CompiledRule",
    "compile_artifact",
]

SUPPORTED_ARTIFACT_MAJOR_VERSION: Final = 1
DEFAULT_GLOBAL_MBOX: Final = "target-global-mbox"
# Every on-device option carries it; the per-call geo tokens are added while deciding.
_DECISIONING_METHOD_TOKEN: Final = {"activity.decisioningMethod": "on-device"}
# Deciding walks conditions and offers recursively (evaluating, copying, tracing): a rule
# nested deeper than this is refused, far below Python's recursion limit. Real rules nest
# a few levels.
_MAX_RULE_DEPTH: Final = 100

_META_RESPONSE_TOKENS: Final = (
    "activity.id",
    "activity.name",
    "activity.type",
    "experience.id",
    "experience.name",
    "location.id",
    "location.name",
    "location.type",
    "offer.id",
    "offer.name",
    "option.id",
    "option.name",
)
# response token -> field of the request's `context.geo`
_GEO_RESPONSE_TOKENS: Final = (
    ("geo.city", "city"),
    ("geo.country", "countryCode"),
    ("geo.state", "stateCode"),
    ("geo.latitude", "latitude"),
    ("geo.longitude", "longitude"),
)


@attrs.frozen(eq=False)
class CompiledRule:
    """One artifact rule, with its condition compiled and its response templates.

    Each template call returns a fresh response body (see `_template`): decisions never
    share mutable content with each other or with the artifact. A template is built from
    the rule's `raw` consequence when first used.
    """

    raw: Mapping[str, Any]
    rule_key: Any
    activity_id: Any
    allocation_key: str  # String(activity id), as hashed for the visitor's allocation
    meta: Mapping[str, Any]
    condition: Evaluator
    uses_allocation: bool
    context_parts: ContextParts
    property_tokens: frozenset[str]
    name: Any
    event_tokens: tuple[str, ...]
    has_macros: bool
    execute_template: Template
    prefetch_template: Template
    view_template: Template
    # What deciding reads for every rule, in one tuple (unpacked faster than attributes):
    # (rule_key, property_tokens or None, activity_id, uses_allocation, condition)
    evaluation: tuple[Any, frozenset[str] | None, Any, bool, Evaluator] = attrs.field(
        init=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        evaluation = (
            self.rule_key,
            self.property_tokens or None,
            self.activity_id,
            self.uses_allocation,
            self.condition,
        )
        object.__setattr__(self, "evaluation", evaluation)


@attrs.frozen(eq=False)
class CompiledArtifact:
    """A rules artifact ready for `decide`; build it with `compile_artifact`. Immutable.

    `raw` is the artifact dict it was compiled from; it must not be mutated afterwards.
    The fields after `geo_targeting_enabled` are the engine's indexes, not for callers.
    """

    raw: Mapping[str, Any]
    version: str
    meta: Mapping[str, Any]
    global_mbox: str
    geo_targeting_enabled: bool
    mbox_rules: Mapping[str, tuple[CompiledRule, ...]] = attrs.field(repr=False)
    view_rules: Mapping[str, tuple[CompiledRule, ...]] = attrs.field(repr=False)
    all_view_rules: tuple[CompiledRule, ...] = attrs.field(repr=False)
    remote_mboxes: tuple[str, ...] = attrs.field(repr=False)
    local_mboxes: frozenset[str] = attrs.field(repr=False)
    remote_views: tuple[str, ...] = attrs.field(repr=False)
    local_views: frozenset[str] = attrs.field(repr=False)
    geo_response_tokens: tuple[tuple[str, str], ...] = attrs.field(repr=False)
    # The context parts the rules of each mbox / view read (all views: `all_views_context_parts`).
    mbox_context_parts: Mapping[str, ContextParts] = attrs.field(repr=False)
    view_context_parts: Mapping[str, ContextParts] = attrs.field(repr=False)
    all_views_context_parts: ContextParts = attrs.field(repr=False)


def _unsupported_version(version: Any) -> ArtifactError:
    shown = str(version)
    shown = shown if len(shown) <= 40 else f"{shown[:40]}..."
    return ArtifactError(
        f"The decisioning artifact version ({shown}) is not supported. "
        f"This library is compatible with this major version: {SUPPORTED_ARTIFACT_MAJOR_VERSION}"
    )


def _check_version(version: Any) -> str:
    if not isinstance(version, str):
        raise _unsupported_version(version)
    major = version.split(".", 1)[0].strip()
    # ASCII digits only: int() refuses some characters str.isdigit() accepts ("²").
    if (
        not (major.isascii() and major.isdigit())
        or len(major) > 9  # int() refuses thousands of digits, and no such major exists
        or int(major) != SUPPORTED_ARTIFACT_MAJOR_VERSION
    ):
        raise _unsupported_version(version)
    return version


def _has_macro(option: Mapping[str, Any]) -> bool:
    content = option.get("content")
    if option.get("type") == "html":
        return isinstance(content, str) and "${" in content
    if option.get("type") == "actions" and isinstance(content, list):
        return any(
            isinstance(action, dict)
            and isinstance(action.get("content"), str)
            and "${" in action["content"]
            for action in content
        )
    return False


def _execute_body(consequence: Mapping[str, Any], meta_tokens: dict[str, Any]) -> dict[str, Any]:
    """An execute mbox's body: blank options dropped, eventTokens removed, only click metrics kept."""
    base = {key: value for key, value in consequence.items() if key not in ("options", "metrics")}
    body = base | {
        "options": [
            {key: value for key, value in option.items() if key != "eventToken"}
            | {"responseTokens": meta_tokens}
            for option in consequence.get("options") or []
            if "type" in option or "content" in option
        ]
    }
    click_metrics = [metric for metric in consequence.get("metrics") or [] if metric.get("type") == "click"]
    if click_metrics:
        body["metrics"] = click_metrics
    return body


def _prefetch_body(consequence: Mapping[str, Any], meta_tokens: dict[str, Any]) -> dict[str, Any]:
    """A prefetched mbox's body: every option carries an eventToken (a display metric's one at
    the same index when the option has none); no metrics."""
    metrics: list[dict[str, Any]] = list(consequence.get("metrics") or [])
    base = {key: value for key, value in consequence.items() if key not in ("options", "metrics")}
    options = []
    for position, option in enumerate(consequence.get("options") or []):
        event_token = option.get("eventToken")
        if (
            event_token is None
            and position < len(metrics)
            and metrics[position].get("type") == "display"
        ):
            event_token = metrics[position].get("eventToken")
        prefetch_option = dict(option) | {"responseTokens": meta_tokens}
        if event_token is None:
            prefetch_option.pop("eventToken", None)
        else:
            prefetch_option["eventToken"] = event_token
        options.append(prefetch_option)
    return base | {"options": options}


def _view_body(consequence: Mapping[str, Any], meta_tokens: dict[str, Any]) -> dict[str, Any]:
    """A prefetched view's body: the prefetch body with all the metrics."""
    return _prefetch_body(consequence, meta_tokens) | {"metrics": list(consequence.get("metrics") or [])}


# (compiled condition, whether it reads `allocation`, the other context parts it reads)
_Condition = tuple[Evaluator, bool, ContextParts]


def _compile_condition(raw: Mapping[str, Any], cache: dict[str, _Condition]) -> _Condition:
    """The rule's compiled condition; rules of one artifact often share conditions, so they share closures."""
    logic = raw.get("condition")
    key = json.dumps(logic, separators=(",", ":"))
    compiled = cache.get(key)
    if compiled is None:
        try:
            condition = compile_logic(logic)
        except ArtifactError as error:
            raise ArtifactError(f"{error} in rule {raw.get('ruleKey')!r}") from None
        paths = list(var_paths(logic))
        uses_allocation = any(
            path is None or path.split(".", 1)[0] == "allocation" for path in paths
        )
        compiled = cache[key] = (condition, uses_allocation, context_parts(paths))
    return compiled


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether JSON data nests more than `limit` levels (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if type(item) is dict:
            children: Any = item.values()
        elif type(item) is list:
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _is_scalar(value: Any) -> bool:
    """A JSON string, number, boolean or null: what deciding may use as a key."""
    return value is None or isinstance(value, (str, int, float))


def _check_rule(raw: Any) -> None:
    """Raise `ArtifactError` when a rule lacks a shape deciding relies on (checked once, here,
    so that deciding from an artifact that compiled cannot fail)."""
    if not isinstance(raw, Mapping):
        raise ArtifactError(f"Invalid Artifact: a rule is a {type(raw).__name__}, not an object")
    rule_key = raw.get("ruleKey")
    where = f"in rule {rule_key!r}" if _is_scalar(rule_key) else "in a rule"
    if not _is_scalar(rule_key):
        raise ArtifactError(f"Invalid Artifact: ruleKey must be a string or a number {where}")
    if _deeper_than(raw, _MAX_RULE_DEPTH):
        raise ArtifactError(f"Invalid Artifact: nested more than {_MAX_RULE_DEPTH} levels deep {where}")
    meta = raw.get("meta") or {}
    consequence = raw.get("consequence") or {}
    if not isinstance(meta, Mapping) or not isinstance(consequence, Mapping):
        raise ArtifactError(f"Invalid Artifact: meta and consequence must be objects {where}")
    for key in ("activity.id", "activity.type", "experience.id", "offer.id"):
        if not _is_scalar(meta.get(key)):
            raise ArtifactError(f"Invalid Artifact: meta[{key!r}] must be a string or a number {where}")
    audience_ids = meta.get("audience.ids") or []
    if not isinstance(audience_ids, list) or not all(_is_scalar(item) for item in audience_ids):
        raise ArtifactError(f"Invalid Artifact: meta['audience.ids'] must be a list of ids {where}")
    if not _is_scalar(consequence.get("name")):
        raise ArtifactError(f"Invalid Artifact: consequence.name must be a string {where}")
    for key in ("options", "metrics"):
        items = consequence.get(key) or []
        if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
            raise ArtifactError(f"Invalid Artifact: consequence.{key} must be a list of objects {where}")
        if not all(_is_scalar(item.get("eventToken")) for item in items):
            raise ArtifactError(f"Invalid Artifact: an eventToken must be a string {where}")
        # A decision's response is read as the typed model when the caller asks for it:
        # what would not structure then is refused now.
        model = Option if key == "options" else Metric
        for item in items:
            try:
                _serde.structure(item, model)
            except (TypeError, ValueError) as error:
                raise ArtifactError(f"Invalid Artifact: consequence.{key}: {error} {where}") from None
    property_tokens = raw.get("propertyTokens") or []
    if not isinstance(property_tokens, list) or not all(isinstance(item, str) for item in property_tokens):
        raise ArtifactError(f"Invalid Artifact: propertyTokens must be a list of strings {where}")


def _compile_rule(
    raw: Mapping[str, Any], response_tokens: frozenset[str], conditions: dict[str, _Condition]
) -> CompiledRule:
    _check_rule(raw)
    meta = raw.get("meta") or {}
    consequence = raw.get("consequence") or {}
    condition, uses_allocation, parts = _compile_condition(raw, conditions)
    meta_tokens: dict[str, Any] = {
        key: meta[key]
        for key in _META_RESPONSE_TOKENS
        if key in response_tokens and meta.get(key) is not None
    } | _DECISIONING_METHOD_TOKEN
    options = consequence.get("options") or []
    # Built on first use: most rules answer in one mode only, and a big artifact has many rules.
    execute, prefetch, view = (
        lazy_template(functools.partial(body, consequence, meta_tokens))
        for body in (_execute_body, _prefetch_body, _view_body)
    )
    activity_id = meta.get("activity.id")
    return CompiledRule(
        raw=raw,
        rule_key=raw.get("ruleKey"),
        activity_id=activity_id,
        allocation_key=js_string(activity_id),
        meta=meta,
        condition=condition,
        uses_allocation=uses_allocation,
        context_parts=parts,
        property_tokens=frozenset(raw.get("propertyTokens") or ()),
        name=consequence.get("name"),
        event_tokens=tuple(
            option["eventToken"] for option in options if option.get("eventToken") is not None
        ),
        has_macros=any(_has_macro(option) for option in options),
        execute_template=execute,
        prefetch_template=prefetch,
        view_template=view,
    )


def _compile_section(
    section: Mapping[str, Any] | None,
    response_tokens: frozenset[str],
    conditions: dict[str, _Condition],
) -> dict[str, tuple[CompiledRule, ...]]:
    if not all(isinstance(rules, list) for rules in (section or {}).values()):
        raise ArtifactError("Invalid Artifact: the rules of each mbox and view must be a list")
    return {
        name: tuple(_compile_rule(rule, response_tokens, conditions) for rule in rules)
        for name, rules in (section or {}).items()
    }


def _context_parts_by_name(
    section: Mapping[str, tuple[CompiledRule, ...]],
) -> Mapping[str, ContextParts]:
    return MappingProxyType(
        {
            name: merged_context_parts(rule.context_parts for rule in rules)
            for name, rules in section.items()
        }
    )


def compile_artifact(raw: Mapping[str, Any]) -> CompiledArtifact:
    """Compile a (JSON-decoded) rules artifact.

    Raises `ArtifactError` when the artifact's major version is not 1, when it is malformed,
    or when a rule uses a json-logic operator this engine does not know (the message names it).
    The compiled artifact keeps parts of `raw` (rules, for traces and responses): do not
    change `raw` afterwards.
    """
    if not isinstance(raw, Mapping):
        raise ArtifactError("Invalid Artifact: not a JSON object")
    version = _check_version(raw.get("version"))
    tokens = raw.get("responseTokens") or []
    if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
        raise ArtifactError("Invalid Artifact: responseTokens must be a list of strings")
    response_tokens = frozenset(tokens)
    for key in ("remoteMboxes", "localMboxes", "remoteViews", "localViews"):
        names = raw.get(key) or []
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ArtifactError(f"Invalid Artifact: {key} must be a list of names")
    try:
        rules = raw.get("rules") or {}
        conditions: dict[str, _Condition] = {}
        mbox_rules = _compile_section(rules.get("mboxes"), response_tokens, conditions)
        view_rules = _compile_section(rules.get("views"), response_tokens, conditions)
        return CompiledArtifact(
            raw=raw,
            version=version,
            meta=raw.get("meta") or {},
            global_mbox=raw.get("globalMbox") or DEFAULT_GLOBAL_MBOX,
            geo_targeting_enabled=bool(raw.get("geoTargetingEnabled", False)),
            mbox_rules=MappingProxyType(mbox_rules),
            view_rules=MappingProxyType(view_rules),
            all_view_rules=tuple(rule for rules_ in view_rules.values() for rule in rules_),
            remote_mboxes=tuple(raw.get("remoteMboxes") or ()),
            local_mboxes=frozenset(raw.get("localMboxes") or ()),
            remote_views=tuple(raw.get("remoteViews") or ()),
            local_views=frozenset(raw.get("localViews") or ()),
            geo_response_tokens=tuple(
                (token, key) for token, key in _GEO_RESPONSE_TOKENS if token in response_tokens
            ),
            mbox_context_parts=_context_parts_by_name(mbox_rules),
            view_context_parts=_context_parts_by_name(view_rules),
            all_views_context_parts=merged_context_parts(
                rule.context_parts for rules_ in view_rules.values() for rule in rules_
            ),
        )
    except ArtifactError:
        raise
    except RecursionError as error:
        raise ArtifactError("Invalid Artifact: nested too deeply") from error
    except Exception as error:  # whatever else a malformed artifact raises, typed
        raise ArtifactError(f"Invalid Artifact: {error!r}") from error
