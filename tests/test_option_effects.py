"""No option is accepted and ignored: each documented option has a test that shows its effect.

`OPTION_EFFECTS` maps every option of the two tables of docs/configuration.md ("Client options",
"Call options"; tests/test_docs.py ties them to `TargetConfig` and `CallOptions`) to the tests that
observe what it does. A new option without such a test fails here. The few effects no other test
showed are tested at the end of this file.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from target_async import (
    AsyncTargetClient,
    DeliveryRequest,
    ExecuteRequest,
    MboxRequest,
    TargetConfigError,
    TargetValidationError,
    Visitor,
)
from target_async.testing import SAMPLE_ARTIFACT_PATH, LocalEdge
from tests.test_docs import _table  # the option tables of docs/configuration.md

ROOT = Path(__file__).resolve().parent.parent
HERE = "tests/test_option_effects.py"

OPTION_EFFECTS: dict[str, list[str]] = {
    # -- create() -------------------------------------------------------------------------------
    "client": ["tests/test_client.py::test_request_line_headers_and_routing"],
    "organization_id": ["tests/test_client.py::test_request_line_headers_and_routing"],
    "timeout": ["tests/test_client.py::test_timeout_is_applied_in_milliseconds_and_the_client_stays_usable"],
    "server_domain": ["tests/test_default_transport.py::test_delivery_posts_decode_a_compressed_answer"],
    "secure": ["tests/test_default_transport.py::test_delivery_posts_decode_a_compressed_answer"],
    "target_location_hint": ["tests/test_delivery.py::test_location_hint_routes_to_the_cluster_when_no_tnt_id"],
    "decisioning_method": ["tests/test_on_device.py::test_on_device_decides_locally_and_reports_the_execute_notification"],
    "polling_interval": ["tests/test_on_device.py::test_polling_refreshes_in_the_background"],
    "artifact_location": ["tests/test_on_device.py::test_artifact_from_a_local_file"],
    "artifact_payload": ["tests/test_on_device.py::test_artifact_payload_is_used_without_download"],
    "environment_id": ["tests/test_delivery.py::test_environment_id_and_channel"],
    "environment": [f"{HERE}::test_cdn_options_and_environment_pick_the_artifact_url"],
    "cdn_environment": [f"{HERE}::test_cdn_options_and_environment_pick_the_artifact_url"],
    "cdn_base_path": [f"{HERE}::test_cdn_options_and_environment_pick_the_artifact_url"],
    "property_token": ["tests/test_delivery.py::test_property_token_from_config_unless_the_request_has_one"],
    "telemetry_enabled": ["tests/test_on_device.py::test_telemetry_rides_along_with_the_next_edge_request"],
    "events": ["tests/test_on_device.py::test_client_ready_comes_after_the_first_artifact"],
    "logger": ["tests/test_delivery.py::test_invalid_mboxes_are_dropped_with_a_warning"],
    "maximum_wait_ready": ["tests/test_on_device.py::test_maximum_wait_ready_bounds_the_wait_for_a_slow_cdn"],
    "version": ["tests/test_client.py::test_request_line_headers_and_routing"],
    "transport": ["tests/test_local_edge.py::test_transport_sends_any_host_to_the_edge"],
    "proxy": [f"{HERE}::test_proxy_carries_the_calls", f"{HERE}::test_proxy_with_a_transport_is_refused"],
    "limits": [f"{HERE}::test_limits_bound_the_calls_in_flight"],
    "retry": ["tests/test_client.py::test_http_errors_are_typed_and_retried_per_policy"],
    "notification_queue_size": ["tests/test_notifications.py::test_a_full_queue_drops_counts_and_warns_once"],
    "notification_batch_size": [
        "tests/test_notifications.py::test_waiting_requests_of_one_visitor_are_coalesced_up_to_the_batch_size"
    ],
    "notification_concurrency": [
        "tests/test_notifications.py::test_sends_run_concurrently_on_a_transport_without_httpcore_traces"
    ],
    "notification_retry": ["tests/test_notifications.py::test_retry_after_is_honoured_as_a_floor_up_to_the_cap"],
    "shutdown_timeout": ["tests/test_notifications.py::test_the_shutdown_deadline_gives_up_reports_and_logs_the_exact_count"],
    # -- per call -------------------------------------------------------------------------------
    "request": ["tests/test_client.py::test_seed_example_runs_as_written_with_await"],
    "target_cookie": ["tests/test_client.py::test_request_line_headers_and_routing"],
    "session_id": ["tests/test_client.py::test_keyword_options_and_customer_ids"],
    "customer_ids": ["tests/test_identity.py::test_customer_ids_as_a_map_and_as_a_list"],
    "consumer_id": ["tests/test_identity.py::test_one_visitor_across_calls_stitches_consumers_and_states_are_snapshots"],
    "visitor": [
        "tests/test_identity.py::test_one_visitor_across_calls_stitches_consumers_and_states_are_snapshots",
        "tests/test_visitor.py::test_a_duck_typed_visitor_in_either_state_shape",
        f"{HERE}::test_visitor_and_visitor_cookie_together_must_agree",
    ],
    "visitor_cookie": ["tests/test_identity.py::test_the_cookie_gives_the_ecid_audience_manager_and_an_sdid"],
    "callback": ["tests/test_callbacks.py::test_async_callback_gets_the_response_before_the_future_is_ready"],
    "err_callback": ["tests/test_callbacks.py::test_async_cancel_stops_the_request_and_reports_it"],
}
"""Option name -> tests (`path::function`) that show its effect. `target_location_hint`,
`decisioning_method` and `timeout` are both client and call options: their tests cover both,
with the per-call tests below."""

PER_CALL_TOO: dict[str, list[str]] = {
    "target_location_hint": ["tests/test_client.py::test_request_line_headers_and_routing"],
    "decisioning_method": [
        "tests/test_on_device.py::test_per_call_decisioning_method",
        f"{HERE}::test_notifications_refuse_a_decisioning_method_they_cannot_use",
    ],
    "timeout": ["tests/test_client.py::test_timeout_is_applied_in_milliseconds_and_the_client_stays_usable"],
}


def _documented_options(heading: str) -> set[str]:
    return set(_table(heading))


@functools.cache
def _test_functions(path: str) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_")
    }


def _skips(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(re.search(r"\b(skip|skipif|xfail)\b", ast.unparse(decorator)) for decorator in function.decorator_list)


def test_every_documented_option_has_a_test_of_its_effect() -> None:
    documented = _documented_options("## Client options") | _documented_options("## Call options")
    assert len(documented) >= 38  # the parse found the tables
    missing = documented - set(OPTION_EFFECTS)
    assert not missing, f"options with no test of their effect: {sorted(missing)}"
    assert set(OPTION_EFFECTS) <= documented, "an option here that the docs do not list"
    assert set(PER_CALL_TOO) <= _documented_options("## Call options")


@pytest.mark.parametrize(
    "test_id", sorted({test_id for ids in (*OPTION_EFFECTS.values(), *PER_CALL_TOO.values()) for test_id in ids})
)
def test_each_named_test_exists_and_runs(test_id: str) -> None:
    path, name = test_id.split("::")
    function = _test_functions(path).get(name)
    assert function is not None, f"{test_id} does not exist"
    assert not _skips(function), f"{test_id} is skipped"


def test_each_named_test_uses_its_option() -> None:
    unrelated = [
        f"{test_id} does not mention {option}"
        for registry in (OPTION_EFFECTS, PER_CALL_TOO)
        for option, test_ids in registry.items()
        for test_id in test_ids
        if option not in ast.unparse(_test_functions(test_id.split("::")[0])[test_id.split("::")[1]])
    ]
    assert not unrelated


# -- effects no other test showed --------------------------------------------------------------

HOME = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home")]))


@pytest.mark.anyio
async def test_cdn_options_and_environment_pick_the_artifact_url() -> None:
    cases = [
        ({}, "https://assets.adobetarget.com/demo/production/v1/rules.json"),
        ({"cdn_environment": "staging"}, "https://assets.staging.adobetarget.com/demo/production/v1/rules.json"),
        ({"cdn_environment": "development", "environment": "QA"}, "https://assets.staging.adobetarget.com/demo/qa/v1/rules.json"),
        ({"cdn_base_path": "cdn.example:8443"}, "https://cdn.example:8443/demo/production/v1/rules.json"),
    ]
    async with LocalEdge(artifact=SAMPLE_ARTIFACT_PATH) as edge:
        for options, url in cases:
            edge.clear()
            client_options = edge.client_options(decisioning_method="on-device", **options)
            async with AsyncTargetClient.create(client_options) as client:
                assert client._on_device is not None
                assert client._on_device.provider.source.location == url
            [download] = [recorded for recorded in edge.requests if recorded.route == "artifact"]
            assert f"https://{download.host}{download.path}" == url
    with pytest.raises(TargetConfigError, match="cdn_environment"):
        AsyncTargetClient.create(client="c", organization_id="o", cdn_environment="prod")


async def _fake_proxy(seen: list[str], stream: anyio.abc.SocketStream) -> None:
    """Answers one proxied Delivery POST (plain HTTP, absolute-form target) with a response."""
    async with stream:
        data = b""
        while b"\r\n\r\n" not in data:
            data += await stream.receive()
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        while len(body) < length:
            body += await stream.receive()
        seen.append(head.split(b"\r\n", 1)[0].decode())
        reply = json.dumps(
            {"status": 200, "requestId": json.loads(body)["requestId"], "client": "c", "id": {"tntId": "t.28_0"}}
        ).encode()
        await stream.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(reply)}\r\n\r\n".encode()
            + reply
        )


@pytest.mark.anyio
async def test_proxy_carries_the_calls() -> None:
    seen: list[str] = []
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, functools.partial(_fake_proxy, seen))
        options = {"client": "c", "organization_id": "o", "secure": False, "proxy": f"http://127.0.0.1:{port}"}
        async with AsyncTargetClient.create(options) as client:
            result = await client.get_offers(request=HOME)
        group.cancel_scope.cancel()
    assert result.response.id.tnt_id == "t.28_0"
    [request_line] = seen
    assert request_line.startswith("POST http://c.tt.omtrdc.net/rest/v1/delivery?"), request_line


def test_proxy_with_a_transport_is_refused() -> None:
    with pytest.raises(TargetConfigError, match="proxy") as raised:
        AsyncTargetClient.create(client="c", organization_id="o", proxy="http://127.0.0.1:3128", transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert raised.value.key == "proxy"
    assert "httpx.AsyncHTTPTransport(proxy=" in str(raised.value)


class _CountingTransport(httpx.AsyncBaseTransport):
    """Answers every Delivery POST, counting how many are in flight at once."""

    def __init__(self, hold_until: int = 1) -> None:
        self.hold_until = hold_until
        self.in_flight = 0
        self.most_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            # Held "on the wire" until `hold_until` calls are (or a bounded number of turns of
            # the loop passed): the other calls get every chance to start meanwhile.
            for _ in range(1000):
                if self.in_flight >= self.hold_until:
                    break
                await anyio.lowlevel.checkpoint()
            body = json.loads(request.content)
            return httpx.Response(200, json={"status": 200, "requestId": body["requestId"], "client": "c", "id": {"tntId": "t"}})
        finally:
            self.in_flight -= 1


@pytest.mark.anyio
@pytest.mark.parametrize(("max_connections", "most_in_flight"), [(2, 2), (None, 10)])
async def test_limits_bound_the_calls_in_flight(max_connections: int | None, most_in_flight: int) -> None:
    transport = _CountingTransport(hold_until=most_in_flight)
    limits = httpx.Limits(max_connections=max_connections)
    async with AsyncTargetClient.create(client="c", organization_id="o", transport=transport, limits=limits) as client:
        # The first call alone: until a transport without httpcore's trace events has answered
        # once, the client lets one request at a time into it (see `PoolGate`).
        transport.hold_until = 1
        await client.get_offers(request=HOME)
        transport.hold_until = most_in_flight
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(functools.partial(client.get_offers, request=HOME))
    assert transport.most_in_flight == most_in_flight


@pytest.mark.anyio
async def test_visitor_and_visitor_cookie_together_must_agree() -> None:
    transport = _CountingTransport()
    async with AsyncTargetClient.create(client="c", organization_id="o", transport=transport) as client:
        with pytest.raises(TargetValidationError, match="visitor_cookie holds other values than the visitor") as raised:
            await client.get_offers(request=HOME, visitor=Visitor("o"), visitor_cookie="MCMID|1")
        assert "Visitor(organization_id, cookie)" in str(raised.value)
        # The cookie the visitor was made from: nothing is ignored.
        result = await client.get_offers(request=HOME, visitor=Visitor("o", "MCMID|1"), visitor_cookie="MCMID%7C1")
    assert result.request.id.marketing_cloud_visitor_id == "1"


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["on-device", "hybrid"])
async def test_notifications_refuse_a_decisioning_method_they_cannot_use(method: str) -> None:
    request: dict[str, Any] = {"notifications": [{"id": "n", "type": "display", "timestamp": 1}]}
    async with AsyncTargetClient.create(client="c", organization_id="o", transport=httpx.MockTransport(lambda r: httpx.Response(500))) as client:
        with pytest.raises(TargetValidationError, match="notifications always go to the edge"):
            await client.send_notifications(request=request, decisioning_method=method)
        with pytest.raises(TargetValidationError, match="notifications always go to the edge"):
            client.enqueue_notifications(request=request, decisioning_method=method)
        # Server-side, as they are sent, is accepted.
        assert client.enqueue_notifications(request=request, decisioning_method="server-side")
