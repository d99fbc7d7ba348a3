"""The JSON converter: wire names, omission, enums, leniency, free-form values, errors."""

from __future__ import annotations

import enum
import functools
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

import attrs
import cattrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi import spec_dir

from target_async import _serde, models
from target_async.models import (
    AnalyticsRequest,
    Browser,
    ChannelType,
    ClientHints,
    Context,
    DeliveryRequest,
    DeliveryResponse,
    ExperienceCloud,
    Geo,
    LoggingType,
    MboxRequest,
    Metric,
    MetricType,
    Notification,
    NotificationMbox,
    Option,
    OptionType,
    PrefetchRequest,
    QAMode,
    RequestDetails,
    VisitorId,
)

MODEL_CLASSES = [
    getattr(models, name) for name in models.__all__ if attrs.has(getattr(models, name))
]

# -- strategies built from the attrs fields, so every model (and a new one) is covered --

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_json_objects = st.dictionaries(st.text(max_size=5), _json, max_size=3)


@functools.cache
def _strategy(tp: Any) -> st.SearchStrategy[Any]:
    if attrs.has(tp):
        return st.builds(
            tp, **{f.name: _strategy(f.type) for f in attrs.fields(attrs.resolve_types(tp))}
        )
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return st.one_of(*(_strategy(arg) for arg in typing.get_args(tp)))
    if tp is type(None):
        return st.none()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(list(tp))
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is list:
        return st.lists(_strategy(args[0]), max_size=2)
    if origin is dict:
        if args == (str, str):
            return st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)
        return _json_objects
    if tp is Any:
        return _json
    scalars: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=10),
        int: st.integers(-(2**63), 2**63 - 1),
        float: st.floats(allow_nan=False, allow_infinity=False),
        bool: st.booleans(),
    }
    return scalars[tp]


def _assert_no_none_fields(obj: Any, data: Any) -> None:
    """Model-level None fields are omitted, the others present, recursively."""
    if attrs.has(type(obj)):
        present = [f for f in attrs.fields(type(obj)) if getattr(obj, f.name) is not None]
        assert isinstance(data, dict)
        assert len(data) == len(present)
        assert None not in data.values()
        for field in present:
            value = getattr(obj, field.name)
            if attrs.has(type(value)) or (
                isinstance(value, list) and value and attrs.has(type(value[0]))
            ):
                key = next(k for k, v in data.items() if v == _serde.unstructure(value))
                _assert_no_none_fields(value, data[key])
    elif isinstance(obj, list):
        for item, item_data in zip(obj, data, strict=True):
            _assert_no_none_fields(item, item_data)


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda cls: cls.__name__)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_round_trip_through_json(cls: type[Any], data: st.DataObject) -> None:
    obj = data.draw(_strategy(cls))
    wire = _serde.dumps(obj)
    assert isinstance(wire, bytes)
    parsed = _serde.loads(wire)
    _assert_no_none_fields(obj, parsed)
    assert _serde.structure(parsed, cls) == obj


# -- wire names --------------------------------------------------------------------------


def test_tricky_wire_names() -> None:
    request = DeliveryRequest(
        request_id="r",
        id=VisitorId(tnt_id="t", third_party_id="3", marketing_cloud_visitor_id="m"),
        context=Context(
            channel=ChannelType.WEB,
            time_offset_in_minutes=60.0,
            user_agent="ua",
            beacon=False,
            browser=Browser(web_gl_renderer="gl"),
            client_hints=ClientHints(
                browser_ua_with_major_version="maj", browser_ua_with_full_version="full"
            ),
            geo=Geo(ip_address="127.0.0.1", country_code="IE", state_code="D", zip="D02"),
        ),
        experience_cloud=ExperienceCloud(
            analytics=AnalyticsRequest(supplemental_data_id="sd", logging=LoggingType.CLIENT_SIDE)
        ),
        prefetch=PrefetchRequest(page_load=RequestDetails(profile_parameters={"age": "3"})),
        qa_mode=QAMode(listed_activities_only=True),
    )
    assert _serde.unstructure(request) == {
        "requestId": "r",
        "id": {"tntId": "t", "thirdPartyId": "3", "marketingCloudVisitorId": "m"},
        "context": {
            "channel": "web",
            "timeOffsetInMinutes": 60.0,
            "userAgent": "ua",
            "beacon": False,
            "browser": {"webGLRenderer": "gl"},
            "clientHints": {
                "browserUAWithMajorVersion": "maj",
                "browserUAWithFullVersion": "full",
            },
            "geo": {"ipAddress": "127.0.0.1", "countryCode": "IE", "stateCode": "D", "zip": "D02"},
        },
        "experienceCloud": {"analytics": {"supplementalDataId": "sd", "logging": "client_side"}},
        "prefetch": {"pageLoad": {"profileParameters": {"age": "3"}}},
        "qaMode": {"listedActivitiesOnly": True},
    }


def test_response_wire_names_are_read() -> None:
    response = _serde.structure(
        {"requestId": "r", "edgeHost": "mboxedge28.tt.omtrdc.net", "telemetryServerToken": "tok"},
        DeliveryResponse,
    )
    assert response == DeliveryResponse(
        request_id="r", edge_host="mboxedge28.tt.omtrdc.net", telemetry_server_token="tok"
    )


# -- omission, enums ---------------------------------------------------------------------


def test_none_fields_are_omitted() -> None:
    assert _serde.unstructure(DeliveryRequest()) == {}
    assert _serde.unstructure(MboxRequest(name="home")) == {"name": "home"}
    # False, 0 and empty containers are values, not absence.
    assert _serde.unstructure(MboxRequest(index=0, parameters={})) == {"index": 0, "parameters": {}}


def test_enums_become_plain_strings() -> None:
    data = _serde.unstructure(Notification(type=MetricType.DISPLAY))
    assert data == {"type": "display"}
    assert type(data["type"]) is str
    assert _serde.dumps(Context(channel=ChannelType.MOBILE)) == b'{"channel":"mobile"}'


def test_a_plain_string_for_an_enum_field_is_sent_as_is() -> None:
    # Code written for the official SDK passes strings where enums are declared.
    context = Context(channel="web")  # type: ignore[arg-type]
    assert _serde.unstructure(context) == {"channel": "web"}


def test_known_enum_values_are_read_as_members() -> None:
    option = _serde.structure({"type": "html"}, Option)
    assert option.type is OptionType.HTML
    assert _serde.structure({"channel": "mobile"}, Context).channel is ChannelType.MOBILE


def test_unknown_enum_value_is_kept_as_a_string() -> None:
    option = _serde.structure({"type": "brand-new"}, Option)
    assert option.type == "brand-new"
    assert type(option.type) is str
    metric = _serde.structure({"type": "hover"}, Metric)
    assert type(metric.type) is str
    assert _serde.structure({"channel": "tv"}, Context).channel == "tv"
    # ... and is sent back unchanged.
    assert _serde.unstructure(option) == {"type": "brand-new"}


# -- leniency on what is received ---------------------------------------------------------


def test_unknown_keys_are_ignored() -> None:
    body = {"status": 200, "newTopLevel": {"x": 1}, "prefetch": {"views": [{"id": 1, "name": "v"}]}}
    response = _serde.structure(body, DeliveryResponse)
    assert response.status == 200
    assert response.prefetch is not None and response.prefetch.views is not None
    assert response.prefetch.views[0].name == "v"


def test_null_reads_as_none() -> None:
    response = _serde.structure(
        {"status": None, "id": None, "prefetch": {"mboxes": None}}, DeliveryResponse
    )
    assert response.status is None and response.id is None
    assert response.prefetch is not None and response.prefetch.mboxes is None


@pytest.mark.parametrize(
    "content",
    [
        "<p>offer</p>",
        {"feature": True, "nested": {"list": [1, 2.5, None, "x"]}},
        [{"type": "setHtml", "selector": "#id", "content": "AAA"}],
    ],
    ids=["html", "json", "actions"],
)
def test_free_form_content_is_kept(content: Any) -> None:
    body = {"type": "json", "content": content, "responseTokens": {"a": "1", "b": ["x", "y"]}}
    option = _serde.structure(body, Option)
    assert option.content == content
    assert option.response_tokens == {"a": "1", "b": ["x", "y"]}
    assert _serde.unstructure(option) == body


def test_trace_is_kept_as_received() -> None:
    trace = {
        "clientCode": "demo",
        "campaigns": [{"id": 1}],
        "profile": {"visitorId": {"tntId": "t"}},
    }
    body = {"execute": {"mboxes": [{"index": 0, "name": "m", "trace": trace}]}}
    response = _serde.structure(body, DeliveryResponse)
    assert response.execute is not None and response.execute.mboxes is not None
    assert response.execute.mboxes[0].trace == trace


def test_analytics_payload_is_kept_as_received() -> None:
    # It is forwarded to Analytics as is: a key this SDK does not know must survive.
    payload = {"pe": "tnt", "tnta": "285408:0:0|2", "newKey": {"x": 1}}
    metric = _serde.structure({"type": "click", "analytics": {"payload": payload}}, Metric)
    assert metric.analytics is not None and metric.analytics.payload == payload
    assert _serde.unstructure(metric)["analytics"] == {"payload": payload}


def test_numbers_are_read_leniently() -> None:
    geo = _serde.structure({"latitude": 53, "city": 42}, Geo)
    assert geo.latitude == 53.0 and type(geo.latitude) is float
    assert geo.city == "42"
    assert _serde.structure({"status": 200.0}, DeliveryResponse).status == 200


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param([], TypeError, id="array-for-object"),
        pytest.param("status", TypeError, id="string-for-object"),
        pytest.param(None, TypeError, id="null-body"),
        pytest.param({"prefetch": []}, TypeError, id="array-for-nested-object"),
        pytest.param({"prefetch": {"mboxes": {}}}, TypeError, id="object-for-array"),
        pytest.param({"prefetch": {"mboxes": [5]}}, TypeError, id="number-in-object-array"),
        pytest.param({"status": True}, TypeError, id="boolean-for-integer"),
        pytest.param({"status": "ok"}, ValueError, id="text-for-integer"),
        pytest.param({"status": 1.5}, ValueError, id="fraction-for-integer"),
        pytest.param({"requestId": ["r"]}, TypeError, id="array-for-string"),
        pytest.param(
            {"execute": {"mboxes": [{"options": [{"type": {}}]}]}}, TypeError, id="object-for-enum"
        ),
        pytest.param({"execute": {"mboxes": [{"trace": "t"}]}}, TypeError, id="string-for-map"),
    ],
)
def test_malformed_response_raises_type_or_value_error(body: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        _serde.structure(body, DeliveryResponse)


# -- plain data, dumps, loads ---------------------------------------------------------


def test_plain_data_holding_models_is_unstructured() -> None:
    data = {"request": MboxRequest(name="home", index=0), "list": [ChannelType.WEB, 1, None]}
    assert _serde.unstructure(data) == {
        "request": {"name": "home", "index": 0},
        "list": ["web", 1, None],
    }


def test_parameter_maps_are_copied_not_shared() -> None:
    mbox = MboxRequest(name="home", parameters={"a": "1"})
    data = _serde.unstructure(mbox)
    data["parameters"]["b"] = "2"
    assert mbox.parameters == {"a": "1"}


def test_dumps_is_compact_utf8() -> None:
    notification = Notification(id="1", type=MetricType.CLICK, mbox=NotificationMbox(name="café"))
    wire = _serde.dumps(notification)
    assert wire == '{"id":"1","type":"click","mbox":{"name":"café"}}'.encode()
    assert _serde.dumps({"a": [1, "b"]}) == b'{"a":[1,"b"]}'


@pytest.mark.parametrize(
    ("value", "error"),
    [(float("nan"), ValueError), (float("inf"), ValueError), (object(), TypeError)],
    ids=["nan", "infinity", "object"],
)
def test_dumps_refuses_what_json_cannot_carry(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        _serde.dumps({"content": value})


def test_loads_reads_bytes_and_text() -> None:
    assert _serde.loads(b'{"a":"\xc3\xa9"}') == {"a": "é"}
    assert _serde.loads('{"a":[1,2]}') == {"a": [1, 2]}
    with pytest.raises(ValueError):
        _serde.loads(b"{")


def test_converter_and_aliases_are_exposed() -> None:
    assert isinstance(_serde.converter, cattrs.Converter)
    assert _serde.to_dict is _serde.unstructure
    _serde.warm_up()
    assert _serde.converter.structure({"name": "x"}, MboxRequest) == MboxRequest(name="x")


# -- the spec's examples ----------------------------------------------------------------


def _example(name: str) -> Any:
    text = (spec_dir() / "delivery" / "examples" / name).read_text(encoding="utf-8")
    # One example in the spec has a trailing comma, which JSON does not allow.
    return _serde.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def test_example_notification_request_is_read() -> None:
    request = _serde.structure(_example("notificationsForDisplayedContent.json"), DeliveryRequest)
    assert request.context is not None and request.context.channel is ChannelType.WEB
    assert request.context.screen is not None and request.context.screen.width == 1200.0
    assert request.notifications is not None
    (notification,) = request.notifications
    assert notification.type is MetricType.DISPLAY
    assert notification.timestamp == 1552561951770
    assert notification.parameters == {"ad": "view"}
    assert notification.tokens is not None and len(notification.tokens) == 2


def test_example_mobile_views_response_is_read() -> None:
    response = _serde.structure(
        _example("responseForPrefetchViewsForMobileChannel.json"), DeliveryResponse
    )
    assert response.id == VisitorId(tnt_id="abcdefghijkl00014.1_1")
    assert response.prefetch is not None and response.prefetch.views is not None
    first, second = response.prefetch.views
    assert first.options is not None
    assert first.options[0].type is OptionType.ACTIONS
    assert first.options[0].content == [
        {"type": "setHtml", "selector": "#top-menu", "content": "AAA"}
    ]
    assert second.metrics == [
        Metric(
            type=MetricType.CLICK,
            selector="#campaignWithViewsViewIdInSelector",
            event_token="cugVCufT8raDG+O9QFSX3w==",
        )
    ]


def test_example_web_mbox_response_is_read() -> None:
    response = _serde.structure(
        _example("responseForPrefetchViewsForWebChannel.json"), DeliveryResponse
    )
    assert response.edge_host == "mboxedge28.tt.omtrdc.net"
    assert response.prefetch is not None and response.prefetch.mboxes is not None
    (mbox,) = response.prefetch.mboxes
    assert (mbox.index, mbox.name) == (1, "SummerOffer")
    assert mbox.options == [
        Option(
            type=OptionType.HTML,
            content="<p><b>Enjoy this 15% discount on your next purchase</b></p>",
            event_token="GcvBXDhdJFNR9E9r1tgjfmqipf",
        )
    ]


def test_every_example_file_is_read() -> None:
    examples = sorted((spec_dir() / "delivery" / "examples").glob("*.json"))
    assert examples
    for path in examples:
        cls = DeliveryResponse if path.name.startswith("response") else DeliveryRequest
        parsed = _serde.structure(_example(path.name), cls)
        # Reading then writing keeps every modelled key of the example.
        assert _serde.structure(json.loads(_serde.dumps(parsed)), cls) == parsed


def test_spec_dir_exists() -> None:
    assert Path(spec_dir(), "delivery", "api.yaml").is_file()
