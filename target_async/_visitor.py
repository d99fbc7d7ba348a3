"""Visitor identity (ECID, Audience Manager, A4T): pure, no I/O.

What the official SDKs take from the Experience Cloud ID service and put into every Delivery
request: the visitor's ECID (`MCMID`) and Audience Manager fields from the `AMCV_<org>`
cookie, the customer ids, and a supplemental data id (SDID) per A4T consumer, plus the state
the page hands to the client-side Visitor API (`Visitor.getInstance(org, {serverState})`).
`Visitor` is our stand-in for the Node SDK's `@adobe-mcid/visitor-js-server` Visitor; any
object with the methods the official Python SDK calls works too (`VisitorLike`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote_to_bytes

from . import _serde
from ._exceptions import TargetValidationError
from ._random import random_id
from .models import AuthenticatedState

__all__ = [
    "DEFAULT_CONSUMER_ID",
    "SUPPLEMENTAL_DATA_ID",
    "Visitor",
    "VisitorLike",
    "apply_identity",
    "check_visitor",
    "customer_id_entries",
    "leading_integer",
    "organization_key",
    "parse_amcv_cookie",
    "visitor_state",
]

logger = logging.getLogger("target_async")

DEFAULT_CONSUMER_ID = "target-global-mbox"
"""The A4T consumer of a call without `consumer_id` (as the Node SDK)."""
SUPPLEMENTAL_DATA_ID = re.compile(r"[0-7][0-9A-F]{15}-[0-7][0-9A-F]{15}")
"""The form of the SDIDs the Visitor service makes (the spec only fixes 33 characters)."""

_VISITOR_VALUE_KEYS = ("MCMID", "MCAAMLH", "MCAAMB")  # the only fields the SDKs read
_DIGEST = re.compile(r"[0-9-]+")
_LEADING_INTEGER = re.compile(r"\s*([+-]?[0-9]+)")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_AUTH_STATES: dict[Any, str] = {
    0: "unknown",
    1: "authenticated",
    2: "logged_out",
    "0": "unknown",
    "1": "authenticated",
    "2": "logged_out",
    **{state.value: state.value for state in AuthenticatedState},
}
# The Visitor API's numbers, which `serverState` carries to the page.
_AUTH_STATE_NUMBERS = {"unknown": 0, "authenticated": 1, "logged_out": 2}
# Delivery API limits (OpenAPI spec): what breaks them is not sent.
_MAX_VISITOR_ID = 128
_MAX_INTEGRATION_CODE = 50
_MAX_BLOB = 1024
_MAX_CUSTOMER_IDS = 50
_SDID_LENGTH = 33


@runtime_checkable
class VisitorLike(Protocol):
    """What a `visitor` option needs: the methods the official Python SDK calls."""

    def get_visitor_values(self) -> Mapping[str, Any]: ...
    def get_state(self) -> Mapping[str, Any]: ...
    def get_supplemental_data_id(self, consumer_id: str) -> str: ...


def parse_amcv_cookie(value: str | None) -> dict[str, str]:
    """`MCMID`, `MCAAMLH` and `MCAAMB` of an `AMCV_<org>` cookie value (those present).

    The value is URI-decoded first; a malformed escape gives no fields (Node throws). An
    optional leading settings digest (digits and `-`) is dropped, the rest is read as
    `KEY[-EXPIRY]|VALUE` pairs; the expiry is ignored and a later duplicate wins.
    """
    if not value:
        return {}
    if "%" in value:
        try:
            if _BAD_ESCAPE.search(value):
                raise ValueError("bad percent escape")
            value = unquote_to_bytes(value).decode("utf-8")
        except ValueError:
            logger.warning("The AMCV visitor cookie is not validly URI-encoded: read as no cookie")
            return {}
    fields = value.split("|")
    if _DIGEST.fullmatch(fields[0]):
        del fields[0]
    values: dict[str, str] = {}
    for key, field_value in zip(fields[0::2], fields[1::2], strict=False):
        key = key.partition("-")[0]
        if key in _VISITOR_VALUE_KEYS:
            values[key] = field_value
    return values


def leading_integer(value: Any) -> int | None:
    """JavaScript's `parseInt(value, 10)`: the leading integer of a string, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    match = _LEADING_INTEGER.match(value)
    return int(match.group(1)) if match else None


def organization_key(organization_id: str) -> str:
    """The key of a visitor state: the org id, with `@AdobeOrg` added when it has no `@`."""
    return organization_id if "@" in organization_id else organization_id + "@AdobeOrg"


def _new_supplemental_data_id() -> str:
    # Two 63-bit halves, so each starts with 0-7 as the Visitor service's do.
    digits = random_id()
    return f"{int(digits[:16], 16) >> 1:016X}-{int(digits[16:], 16) >> 1:016X}"


def _js_key_order(keys: Sequence[str]) -> list[str]:
    """Keys as a JavaScript object orders them: array-index-like keys first, ascending."""
    indexes = sorted((k for k in keys if k.isdigit() and (k == "0" or k[0] != "0") and int(k) < 2**32 - 1), key=int)
    if not indexes:
        return list(keys)
    taken = set(indexes)
    return indexes + [k for k in keys if k not in taken]


def _auth_state(option: str, code: str, value: Any) -> str:
    if isinstance(value, AuthenticatedState):
        return value.value
    state = _AUTH_STATES.get(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    if state is None:
        raise TargetValidationError(
            f"{option}[{code!r}]: unknown auth_state {value!r}; use AuthenticatedState, 0 (unknown), "
            "1 (authenticated) or 2 (logged_out)"
        )
    return state


def customer_id_entries(customer_ids: Mapping[Any, Any], option: str = "customer_ids") -> list[dict[str, Any]]:
    """The Delivery API `CustomerId`s of the official SDKs' map form.

    `{integration_code: "id"}` (state unknown) or `{integration_code: {"id": ..., "auth_state":
    ...}}` (`authState` as in Node works too), the state an `AuthenticatedState`, 0/1/2 or
    "0"/"1"/"2"; a missing state is unknown. Entries whose value is `None` or `""` are
    skipped, as the official SDKs skip them. Anything else raises `TargetValidationError`.
    """
    if not isinstance(customer_ids, Mapping):
        raise TargetValidationError(f"{option} must be a list of CustomerId or a mapping of integration code to id")
    entries = []
    for code in _js_key_order(list(customer_ids)):
        if not isinstance(code, str) or not code or len(code) > _MAX_INTEGRATION_CODE:
            raise TargetValidationError(
                f"{option}: integration codes must be non-empty strings of at most {_MAX_INTEGRATION_CODE} "
                f"characters, got {code!r}"
            )
        value = customer_ids[code]
        if value is None or value == "":
            continue
        if isinstance(value, str):
            customer_id, state = value, "unknown"
        elif isinstance(value, Mapping):
            given_id = value.get("id")
            if not isinstance(given_id, str) or not given_id:
                raise TargetValidationError(f"{option}[{code!r}] needs a non-empty 'id' string, got {given_id!r}")
            customer_id = given_id
            raw_state = value.get("auth_state", value.get("authState"))
            state = "unknown" if raw_state is None else _auth_state(option, code, raw_state)
        else:
            raise TargetValidationError(
                f"{option}[{code!r}] must be an id string or {{'id': ..., 'auth_state': ...}}, "
                f"got {type(value).__name__}"
            )
        if len(customer_id) > _MAX_VISITOR_ID:
            raise TargetValidationError(f"{option}[{code!r}]: an id has at most {_MAX_VISITOR_ID} characters")
        entries.append({"id": customer_id, "integrationCode": code, "authenticatedState": state})
    return entries


def _state_customer_ids(customer_ids: Mapping[Any, Any]) -> dict[Any, Any]:
    """The map as given, with the Python spellings the client-side Visitor API does not read
    (`auth_state`, `AuthenticatedState`) turned into its own (`authState`, 0/1/2)."""
    state: dict[Any, Any] = {}
    for code, value in customer_ids.items():
        if isinstance(value, Mapping):
            value = dict(value)
            if "auth_state" in value:
                value.setdefault("authState", value.pop("auth_state"))
            if isinstance(value.get("authState"), AuthenticatedState):
                value["authState"] = _AUTH_STATE_NUMBERS[value["authState"].value]
        state[code] = value
    return state


def _customer_id_dict(customer_id: Any) -> dict[str, Any]:
    data = _serde.unstructure(customer_id)
    if not isinstance(data, dict) or not data.get("id") or not data.get("integrationCode"):
        raise TargetValidationError(
            f"customer_ids: each entry needs an id and an integration_code, got {customer_id!r}"
        )
    data.setdefault("authenticatedState", "unknown")
    return data


class Visitor:
    """One visitor's Experience Cloud identity for the calls of one page view.

    `Visitor(organization_id, amcv_cookie)` reads the ECID and Audience Manager fields of the
    visitor's `AMCV_<organization_id>` cookie value. Pass it as `visitor=` to every call made
    for that page, each with its own `consumer_id`, so that their A4T hits share a supplemental
    data id; hand `get_state()` (or any result's `visitor_state`) to the page. Pure and cheap:
    no I/O, made per request. Not shared between visitors or page views.
    """

    __slots__ = (
        "_current",
        "_current_consumed",
        "_customer_id_entries",
        "_customer_ids",
        "_last",
        "_last_consumed",
        "_organization_id",
        "_values",
    )

    def __init__(self, organization_id: str, amcv_cookie: str | None = None) -> None:
        if not isinstance(organization_id, str) or not organization_id:
            raise TargetValidationError(f"Visitor needs the organization id, got {organization_id!r}")
        if amcv_cookie is not None and not isinstance(amcv_cookie, str):
            raise TargetValidationError(f"amcv_cookie must be a str, got {type(amcv_cookie).__name__}")
        self._organization_id = organization_key(organization_id)
        self._values = parse_amcv_cookie(amcv_cookie)
        self._customer_ids: dict[Any, Any] | None = None
        self._customer_id_entries: list[dict[str, Any]] = []
        self._current: str | None = None
        self._current_consumed: dict[str, bool] = {}
        self._last: str | None = None
        self._last_consumed: dict[str, bool] = {}

    @property
    def organization_id(self) -> str:
        """The organization id, with `@AdobeOrg` (the key of `get_state()`)."""
        return self._organization_id

    @property
    def marketing_cloud_visitor_id(self) -> str | None:
        """The visitor's ECID (`MCMID`), when the cookie has one."""
        return self._values.get("MCMID") or None

    @property
    def current_supplemental_data_id(self) -> str | None:
        """The SDID handed out last to a new consumer (None before the first)."""
        return self._current

    def get_visitor_values(self) -> dict[str, str]:
        """`MCMID`, `MCAAMLH` and `MCAAMB` from the cookie (those it has)."""
        return dict(self._values)

    def set_customer_ids(self, customer_ids: Mapping[str, Any]) -> None:
        """Replace the visitor's customer ids (the map form of `customer_ids`); they stay for
        later calls and are part of `get_state()`."""
        self._customer_id_entries = customer_id_entries(customer_ids)
        self._customer_ids = _state_customer_ids(customer_ids)

    def customer_id_entries(self) -> list[dict[str, Any]]:
        """The customer ids as the Delivery API's `id.customerIds` entries."""
        return [dict(entry) for entry in self._customer_id_entries]

    def get_supplemental_data_id(self, consumer_id: str = DEFAULT_CONSUMER_ID) -> str:
        """The SDID for one A4T consumer, with the Visitor service's reuse rules.

        Different consumers share the current SDID (that is the stitching); a consumer that
        asks again gets a new one, and the previous one moves to *last*; a consumer that has
        not had the last SDID yet gets that one.
        """
        if not isinstance(consumer_id, str):
            raise TargetValidationError(f"consumer_id must be a str, got {type(consumer_id).__name__}")
        key = "payload:" + consumer_id
        if self._current is None:
            self._current = _new_supplemental_data_id()
        if self._last is not None and key not in self._last_consumed:
            self._last_consumed[key] = True
            return self._last
        if key in self._current_consumed:
            self._last, self._last_consumed = self._current, self._current_consumed
            self._current, self._current_consumed = _new_supplemental_data_id(), {}
        self._current_consumed[key] = True
        return self._current

    def get_state(self) -> dict[str, Any]:
        """The state for the page: `Visitor.getInstance(org, {serverState: state})`.

        Shaped as the Node SDK's `visitorState`; a new dict on every call.
        """
        state: dict[str, Any] = {}
        if self._customer_ids is not None:
            state["customerIDs"] = _json_copy(self._customer_ids)
        if self._current is not None:
            sdid: dict[str, Any] = {
                "supplementalDataIDCurrent": self._current,
                "supplementalDataIDCurrentConsumed": dict(self._current_consumed),
            }
            if self._last is not None:
                sdid["supplementalDataIDLast"] = self._last
            sdid["supplementalDataIDLastConsumed"] = dict(self._last_consumed)
            state["sdid"] = sdid
        return {self._organization_id: state}

    def __repr__(self) -> str:
        # No identifiers: a repr ends up in logs.
        return f"Visitor({self._organization_id!r}, ecid={'yes' if self.marketing_cloud_visitor_id else 'no'})"


def _json_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _json_copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_copy(item) for item in value]
    return value


def check_visitor(value: Any) -> Any:
    """The `visitor` option: a `Visitor` or an object with the official Python SDK's methods."""
    if isinstance(value, (Visitor, VisitorLike)):
        return value
    raise TargetValidationError(
        f"visitor must be a target_async.Visitor or an object with get_visitor_values(), get_state() and "
        f"get_supplemental_data_id(consumer_id), got {type(value).__name__}"
    )


def _state_of(visitor: Any) -> Mapping[str, Any]:
    """The first org's part of a duck-typed visitor's state (as the Python SDK reads it)."""
    state = visitor.get_state()
    if not isinstance(state, Mapping) or not state:
        return {}
    first = next(iter(state.values()))
    return first if isinstance(first, Mapping) else {}


def _state_current_sdid(visitor: Any) -> Any:
    sdid = _state_of(visitor).get("sdid")
    if not isinstance(sdid, Mapping):
        return None
    return sdid.get("supplementalDataIDCurrent", sdid.get("supplemental_data_id_current"))


def _visitor_customer_entries(visitor: Any) -> list[dict[str, Any]]:
    if isinstance(visitor, Visitor):
        return visitor.customer_id_entries()
    part = _state_of(visitor)
    customer_ids = part.get("customerIDs", part.get("customer_ids"))
    if isinstance(customer_ids, Mapping):
        return customer_id_entries(customer_ids, "visitor.get_state() customer ids")
    return []


def _visitor_values(visitor: Any) -> Mapping[str, Any]:
    if isinstance(visitor, Visitor):
        return visitor._values  # read only: no copy
    values = visitor.get_visitor_values()
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise TargetValidationError(
            f"visitor.get_visitor_values() must return a mapping, got {type(values).__name__}"
        )
    return values


def _present(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: values[key] for key in _VISITOR_VALUE_KEYS if values.get(key) is not None}


def _supplemental_data_id(visitor: Any, consumer_id: str) -> str:
    sdid = visitor.get_supplemental_data_id(consumer_id)
    if not isinstance(sdid, str) or len(sdid) != _SDID_LENGTH:
        raise TargetValidationError(
            f"visitor.get_supplemental_data_id() must return a {_SDID_LENGTH}-character supplemental data id, "
            f"got {sdid!r}"
        )
    return sdid


def apply_identity(
    body: dict[str, Any],
    *,
    organization_id: str,
    visitor: Any = None,
    visitor_cookie: str | None = None,
    customer_ids: Sequence[Any] | Mapping[str, Any] | None = None,
    consumer_id: str | None = None,
    supplemental_data_id: bool = True,
) -> Any:
    """Put the visitor's identity into a request body (wire JSON), as the Node SDK does.

    The visitor is `visitor`, else a new `Visitor(organization_id, visitor_cookie)`. What the
    request sets explicitly wins. Changes `body` at top level only (nested parts are copied).
    Returns the visitor, whose state the result carries.

    - `id.marketingCloudVisitorId`: the request's (when the key is there), else the ECID;
      sent only when a non-empty string.
    - `id.customerIds`: the visitor's customer ids (a `customer_ids` mapping replaces them),
      then a `customer_ids` list, then the request's own.
    - `experienceCloud.audienceManager`: `locationHint` and `blob`, the request's else the
      cookie's (`MCAAMLH` read as a leading integer); values the API refuses are left out.
    - `experienceCloud.analytics`: `logging` defaults to `server_side`; `supplementalDataId`
      is kept when it is the visitor's current SDID, else replaced by the visitor's SDID
      for `consumer_id` (default `target-global-mbox`). With `supplemental_data_id=False`
      no SDID is asked for (the request's is kept as it is).
    """
    if visitor is None:
        visitor = Visitor(organization_id, visitor_cookie)
    elif visitor_cookie and parse_amcv_cookie(visitor_cookie) != _present(_visitor_values(visitor)):
        # The official SDKs ignore the cookie then; a cookie of another visitor is a mistake.
        raise TargetValidationError(
            "visitor_cookie holds other values than the visitor given (made from another cookie): pass "
            "only the visitor, made from this cookie, Visitor(organization_id, cookie)"
        )
    if customer_ids is not None and isinstance(customer_ids, Mapping):
        if isinstance(visitor, Visitor):
            visitor.set_customer_ids(customer_ids)
            visitor_entries = visitor.customer_id_entries()
        else:  # a duck-typed visitor keeps its own; the map is used for this call
            visitor_entries = customer_id_entries(customer_ids)
        listed: list[dict[str, Any]] = []
    else:
        visitor_entries = _visitor_customer_entries(visitor)
        listed = [_customer_id_dict(c) for c in customer_ids] if customer_ids else []

    given_id = body.get("id")
    if given_id is not None and type(given_id) is not dict and not isinstance(given_id, Mapping):
        raise TargetValidationError("id must be an object (VisitorId)")
    visitor_id = dict(given_id or ())
    values: Mapping[str, Any] | None = None
    if "marketingCloudVisitorId" not in visitor_id:
        values = _visitor_values(visitor)
        mcmid = values.get("MCMID")
        if mcmid is not None and not isinstance(mcmid, str):
            raise TargetValidationError(f"the visitor's MCMID must be a str, got {type(mcmid).__name__}")
        if mcmid and len(mcmid) > _MAX_VISITOR_ID:
            logger.warning("The visitor's ECID (MCMID) is longer than %d characters: not sent", _MAX_VISITOR_ID)
        elif mcmid:
            visitor_id["marketingCloudVisitorId"] = mcmid
    elif not (isinstance(visitor_id["marketingCloudVisitorId"], str) and visitor_id["marketingCloudVisitorId"]):
        del visitor_id["marketingCloudVisitorId"]
    if visitor_entries or listed:
        customer_entries = visitor_entries + listed + list(visitor_id.get("customerIds") or ())
        if len(customer_entries) > _MAX_CUSTOMER_IDS:
            raise TargetValidationError(
                f"customer_ids: a request carries at most {_MAX_CUSTOMER_IDS} customer ids, got {len(customer_entries)}"
            )
        visitor_id["customerIds"] = customer_entries
    if given_id:
        for key in [key for key, value in visitor_id.items() if value is None or value == "" or value == []]:
            del visitor_id[key]  # as Node: an empty field says nothing
    if visitor_id:
        body["id"] = visitor_id
    else:
        body.pop("id", None)

    given_cloud = body.get("experienceCloud")
    if given_cloud is not None and type(given_cloud) is not dict and not isinstance(given_cloud, Mapping):
        raise TargetValidationError("experienceCloud must be an object")
    experience_cloud = dict(given_cloud or ())

    audience_manager = dict(experience_cloud.get("audienceManager") or ())
    if audience_manager.get("locationHint") is None or audience_manager.get("blob") is None:
        if values is None:
            values = _visitor_values(visitor)
        if audience_manager.get("locationHint") is None:
            hint = leading_integer(values.get("MCAAMLH"))
            if hint is not None and hint >= 1:  # the API's minimum: Node would send 0 too
                audience_manager["locationHint"] = hint
        if audience_manager.get("blob") is None:
            blob = values.get("MCAAMB")
            if isinstance(blob, str) and 0 < len(blob) <= _MAX_BLOB:
                audience_manager["blob"] = blob
            elif blob:
                logger.warning("The visitor's Audience Manager blob (MCAAMB) is not a valid blob: not sent")
    if audience_manager:
        experience_cloud["audienceManager"] = audience_manager
    else:
        experience_cloud.pop("audienceManager", None)

    analytics = dict(experience_cloud.get("analytics") or ())
    if not analytics.get("logging"):
        analytics["logging"] = "server_side"
    if supplemental_data_id:
        given_sdid = analytics.get("supplementalDataId")
        current = visitor.current_supplemental_data_id if isinstance(visitor, Visitor) else _state_current_sdid(visitor)
        if given_sdid is None or given_sdid != current:
            consumer = DEFAULT_CONSUMER_ID if consumer_id is None else consumer_id
            analytics["supplementalDataId"] = (
                visitor.get_supplemental_data_id(consumer)
                if isinstance(visitor, Visitor)
                else _supplemental_data_id(visitor, consumer)
            )
    experience_cloud["analytics"] = analytics
    body["experienceCloud"] = experience_cloud
    return visitor


def visitor_state(visitor: Any) -> dict[str, Any] | None:
    """The visitor's state for the result, copied now (a shared visitor changes later)."""
    if visitor is None:
        return None
    if isinstance(visitor, Visitor):
        return visitor.get_state()
    state = visitor.get_state()
    return _json_copy(state) if state is not None else None
