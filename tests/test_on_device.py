"""On-device and hybrid decisioning through the client: artifact download and polling,
readiness, events, geo lookups, notifications and telemetry, all over loopback HTTP."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import attrs
import pytest

from target_async import (
    ArtifactError,
    ArtifactNotReadyError,
    AsyncTargetClient,
    DecisioningError,
    RetryPolicy,
    TargetEvent,
)
from target_async import _on_device as on_device_module
from target_async._on_device import NOT_READY_MESSAGE, ArtifactProvider
from target_async.decisioning import obfuscate
from target_async.testing import Fault, LocalEdge
from tests.conformance.local_cdn import LocalCdn, routed_transport

pytestmark = pytest.mark.anyio

CONFORMANCE_DIR = Path(
    os.environ.get(
        "TARGET_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[1].parent / "shared" / "conformance",
    )
)
CLIENT = "someClientId"
ORG = "74F652E95F1B16FE0A495C92@AdobeOrg"
ARTIFACT_PATH = f"/{CLIENT}/production/v1/rules.json"
DELIVERY_PATH = "/rest/v1/delivery"
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:73.0) Gecko/20100101 Firefox/73.0"


def artifact_bytes(name: str) -> bytes:
    return (CONFORMANCE_DIR / "artifacts" / f"{name}.json").read_bytes()


def execute(*names: str, **context: Any) -> dict[str, Any]:
    return {
        "context": {"channel": "web", "userAgent": UA, **context},
        "execute": {"mboxes": [{"name": name, "index": i} for i, name in enumerate(names, 1)]},
    }


@pytest.fixture(autouse=True)
def quick_artifact_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        on_device_module,
        "ARTIFACT_RETRY",
        RetryPolicy(max_retries=3, initial_delay=0.001, max_delay=0.002),
    )


@pytest.fixture
async def edge() -> AsyncIterator[LocalEdge]:
    async with LocalEdge(client=CLIENT, organization_id=ORG) as local_edge:
        yield local_edge


@pytest.fixture
async def cdn() -> AsyncIterator[LocalCdn]:
    async with LocalCdn() as local_cdn:
        local_cdn.serve(ARTIFACT_PATH, artifact_bytes("TEST_ARTIFACT_AB_MULTI_SIMPLE"))
        yield local_cdn


class Recorder:
    """Collects the events a client emits."""

    def __init__(self) -> None:
        self.events: list[TargetEvent] = []

    def handlers(self, *names: str) -> dict[str, Any]:
        return dict.fromkeys(names, self.events.append)

    def of(self, name: str) -> list[TargetEvent]:
        return [event for event in self.events if event.type == name]


def options(edge: LocalEdge, cdn: LocalCdn, **overrides: Any) -> dict[str, Any]:
    return {
        "client": CLIENT,
        "organization_id": ORG,
        "decisioning_method": "on-device",
        "polling_interval": 0,
        "telemetry_enabled": False,
        "transport": routed_transport(edge, cdn),
        **overrides,
    }


def deliveries(edge: LocalEdge) -> list[Any]:
    return [request for request in edge.requests if request.path == DELIVERY_PATH]


# -- deciding -----------------------------------------------------------------------------


async def test_on_device_decides_locally_and_reports_the_execute_notification(
    edge: LocalEdge, cdn: LocalCdn
) -> None:
    async with AsyncTargetClient.create(options(edge, cdn, target_location_hint="28")) as client:
        result = await client.get_offers(request=execute("mbox-magician"))
        await client.flush()

    mbox = result.response.execute.mboxes[0]
    assert mbox.name == "mbox-magician"
    assert mbox.options[0].content in (
        {"doMagic": True, "importantValue": 150},
        {"doMagic": False, "importantValue": 75},
    )
    assert result.meta.decisioning_method == "on-device"
    assert result.response.status == 200
    # An anonymous visitor gets a tntId (with the location hint) and so a PC cookie.
    tnt_id = result.response.id.tnt_id
    assert tnt_id.endswith(".28_0")
    assert f"PC#{tnt_id}#" in result.target_cookie.value
    assert result.target_location_hint_cookie.value == "28"
    [notification] = deliveries(edge)
    assert notification.host == "mboxedge28.tt.omtrdc.net"
    assert notification.json["id"] == {"tntId": tnt_id}
    assert [n["mbox"]["name"] for n in notification.json["notifications"]] == ["mbox-magician"]
    assert "telemetry" not in notification.json


async def test_on_device_leaves_what_the_artifact_cannot_decide_blank_with_206(
    edge: LocalEdge, cdn: LocalCdn
) -> None:
    async with AsyncTargetClient.create(options(edge, cdn)) as client:
        result = await client.get_offers(request=execute("mbox-magician", "not-in-artifact"))
    assert result.response.status == 206
    assert result.meta.remote_mboxes == ["not-in-artifact"]
    assert result.meta["remoteMboxes"] == ["not-in-artifact"]
    assert result.response.execute.mboxes[1].options is None


async def test_hybrid_decides_locally_when_the_artifact_can(edge: LocalEdge, cdn: LocalCdn) -> None:
    async with AsyncTargetClient.create(options(edge, cdn, decisioning_method="hybrid")) as client:
        local = await client.get_offers(request=execute("mbox-magician"))
        remote = await client.get_offers(request=execute("mbox-magician", "home"))
        await client.flush()
    assert local.meta.decisioning_method == "on-device"
    assert remote.meta.decisioning_method == "server-side"
    # The whole request went to the edge, not only its remote part; plus one notification.
    [sent_remote] = [r for r in deliveries(edge) if "execute" in r.json]
    assert [m["name"] for m in sent_remote.json["execute"]["mboxes"]] == ["mbox-magician", "home"]
    assert remote.response.execute.mboxes[1].options[0].content == "HOME OFFER"
    assert len(deliveries(edge)) == 2


async def test_hybrid_counts_page_load_as_the_global_mbox(edge: LocalEdge, cdn: LocalCdn) -> None:
    # This artifact marks the global mbox as remote.
    cdn.serve(ARTIFACT_PATH, artifact_bytes("TEST_ARTIFACT_GLOBAL_MBOX"))
    request = {"context": {"channel": "web"}, "execute": {"pageLoad": {}}}
    async with AsyncTargetClient.create(options(edge, cdn, decisioning_method="hybrid")) as client:
        hybrid = await client.get_offers(request=request)
        on_device = await client.get_offers(request=request, decisioning_method="on-device")
    assert hybrid.meta.decisioning_method == "server-side"
    assert on_device.meta.decisioning_method == "on-device"
    assert on_device.meta.remote_mboxes == ["target-global-mbox"]


async def test_per_call_decisioning_method(edge: LocalEdge, cdn: LocalCdn) -> None:
    async with AsyncTargetClient.create(options(edge, cdn)) as client:
        remote = await client.get_offers(request=execute("home"), decisioning_method="server-side")
        hybrid = await client.get_offers(request=execute("home"), decisioning_method="hybrid")
    assert remote.meta.decisioning_method == "server-side"
    assert hybrid.meta.decisioning_method == "server-side"
    assert len(deliveries(edge)) == 2
    # A server-side client has no artifact: on-device calls are not ready, hybrid ones go remote.
    async with AsyncTargetClient.create(
        options(edge, cdn, decisioning_method="server-side")
    ) as client:
        with pytest.raises(ArtifactNotReadyError, match="This client is server-side"):
            await client.get_offers(request=execute("home"), decisioning_method="on-device")
        hybrid = await client.get_offers(request=execute("home"), decisioning_method="hybrid")
    assert hybrid.meta.decisioning_method == "server-side"
    assert len(cdn.requests_to(ARTIFACT_PATH)) == 1


async def test_an_unexpected_failure_while_deciding_is_a_typed_error(
    edge: LocalEdge, cdn: LocalCdn, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("unhashable type: 'list'")

    async with AsyncTargetClient.create(options(edge, cdn)) as client:
        monkeypatch.setattr(on_device_module, "decide", broken)
        with pytest.raises(DecisioningError, match="On-device decision failed") as failed:
            await client.get_offers(request=execute("mbox-magician"))
        monkeypatch.undo()
        assert (await client.get_offers(request=execute("mbox-magician"))).response.execute.mboxes[0].options
    assert isinstance(failed.value.__cause__, TypeError)


async def test_a_client_that_was_not_entered_cannot_decide_on_device(
    edge: LocalEdge, cdn: LocalCdn
) -> None:
    client = AsyncTargetClient.create(options(edge, cdn))
    try:
        with pytest.raises(
            ArtifactNotReadyError,
            match=r"^Unable to fulfill request; decisioning engine not ready\. On-device decisioning starts "
            r"when the client is entered with `async with`\.$",
        ):
            await client.get_offers(request=execute("mbox-magician"))
    finally:
        await client.aclose()


# -- sources ------------------------------------------------------------------------------


async def test_obfuscated_artifact_from_artifact_location(edge: LocalEdge, cdn: LocalCdn) -> None:
    cdn.serve("/custom/rules.bin", (CONFORMANCE_DIR / "obfuscated" / "rules.bin").read_bytes())
    recorder = Recorder()
    location = "https://assets.adobetarget.com/custom/rules.bin"
    async with AsyncTargetClient.create(
        options(
            edge,
            cdn,
            artifact_location=location,
            events=recorder.handlers("artifact_download_succeeded"),
        )
    ) as client:
        assert client._on_device.provider.artifact is not None
    [event] = recorder.of("artifact_download_succeeded")
    assert event.artifact_location == location
    assert event.artifact_payload == json.loads(
        (CONFORMANCE_DIR / "obfuscated" / "rules.json").read_bytes()
    )
    assert cdn.requests_to(ARTIFACT_PATH) == []


@pytest.mark.parametrize("as_url", [False, True])
async def test_artifact_from_a_local_file(
    edge: LocalEdge, cdn: LocalCdn, tmp_path: Path, as_url: bool
) -> None:
    path = tmp_path / "rules.bin"
    path.write_bytes(
        obfuscate(
            artifact_bytes("TEST_ARTIFACT_AB_MULTI_SIMPLE"), ORG, "0123456789abcdef0123456789abcdef"
        )
    )
    location = path.as_uri() if as_url else str(path)
    async with AsyncTargetClient.create(options(edge, cdn, artifact_location=location)) as client:
        result = await client.get_offers(request=execute("mbox-magician"))
    assert result.response.execute.mboxes[0].options
    assert cdn.requests == []


async def test_artifact_payload_is_used_without_download(edge: LocalEdge, cdn: LocalCdn) -> None:
    recorder = Recorder()
    payload = json.loads(artifact_bytes("TEST_ARTIFACT_AB_MULTI_SIMPLE"))
    async with AsyncTargetClient.create(
        options(
            edge,
            cdn,
            artifact_payload=payload,
            events=recorder.handlers("artifact_download_succeeded", "client_ready"),
        )
    ) as client:
        result = await client.get_offers(request={**execute("mbox-magician"), "trace": {}})
    assert result.response.execute.mboxes[0].options
    assert result.trace[0]["artifact"]["artifactLocation"] == "Not Applicable"
    assert cdn.requests == []
    assert [event.type for event in recorder.events] == ["client_ready"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"version": "\u00b2.0.0"}, "is not supported"),
        ({"responseTokens": 5}, "responseTokens must be a list of strings"),
        ({"responseTokens": [[1]]}, "responseTokens must be a list of strings"),
        ({"rules": {"mboxes": {"mbox-magician": [{"ruleKey": "r", "meta": {"activity.id": [1]}}]}}}, "activity.id"),
    ],
)
async def test_a_payload_that_cannot_be_used_is_refused_with_its_reason(
    edge: LocalEdge, cdn: LocalCdn, change: dict[str, Any], reason: str
) -> None:
    recorder = Recorder()
    payload = {**json.loads(artifact_bytes("TEST_ARTIFACT_AB_MULTI_SIMPLE")), **change}
    with anyio.fail_after(10):
        async with AsyncTargetClient.create(
            options(
                edge,
                cdn,
                artifact_payload=payload,
                events=recorder.handlers("artifact_download_failed", "client_ready"),
            )
        ) as client:
            with pytest.raises(ArtifactNotReadyError) as refused:
                await client.get_offers(request=execute("mbox-magician"))
            # The client itself carries on: server-side calls still work.
            assert (await client.get_offers(request=execute("x"), decisioning_method="server-side")).response
    assert str(refused.value).startswith(NOT_READY_MESSAGE)
    assert "artifact_payload" in str(refused.value) and reason in str(refused.value)
    assert isinstance(refused.value.__cause__, ArtifactError)
    [failed] = recorder.events
    assert failed.type == "artifact_download_failed" and failed.error is refused.value.__cause__


# -- readiness ----------------------------------------------------------------------------


async def test_client_ready_comes_after_the_first_artifact(edge: LocalEdge, cdn: LocalCdn) -> None:
    recorder = Recorder()
    client = AsyncTargetClient.create(
        options(edge, cdn, events=recorder.handlers("artifact_download_succeeded", "client_ready"))
    )
    async with client:
        assert [event.type for event in recorder.events] == ["artifact_download_succeeded", "client_ready"]
        await client.get_offers(request=execute("mbox-magician"), decisioning_method="on-device")
    assert [event.type for event in recorder.events] == ["artifact_download_succeeded", "client_ready"]


async def test_maximum_wait_ready_bounds_the_wait_for_a_slow_cdn(
    edge: LocalEdge, cdn: LocalCdn
) -> None:
    cdn.delay = 0.2
    ready: list[str] = []
    async with AsyncTargetClient.create(
        options(
            edge,
            cdn,
            maximum_wait_ready=20,
            decisioning_method="hybrid",
            events={"client_ready": lambda event: ready.append(event.type)},
        )
    ) as client:
        provider = client._on_device.provider
        assert provider.artifact is None
        assert ready == []  # not usable on-device yet: no client_ready
        with pytest.raises(ArtifactNotReadyError, match=NOT_READY_MESSAGE):
            await client.get_offers(
                request=execute("mbox-magician"), decisioning_method="on-device"
            )
        hybrid = await client.get_offers(request=execute("mbox-magician"))
        assert hybrid.meta.decisioning_method == "server-side"
        with anyio.fail_after(5):
            await provider.first_load_done.wait()
        assert ready == ["client_ready"]  # fired once, when the late artifact arrived
        later = await client.get_offers(
            request=execute("mbox-magician"), decisioning_method="on-device"
        )
    assert later.meta.decisioning_method == "on-device"


async def test_a_dead_cdn_does_not_hang_the_start(edge: LocalEdge, cdn: LocalCdn) -> None:
    cdn.failures = 100
    recorder = Recorder()
    with anyio.fail_after(5):
        async with AsyncTargetClient.create(
            options(edge, cdn, events=recorder.handlers("artifact_download_failed"))
        ) as client:
            with pytest.raises(ArtifactNotReadyError):
                await client.get_offers(request=execute("mbox-magician"))
    # One download: the first attempt and 3 retries, reported once.
    assert len(cdn.requests_to(ARTIFACT_PATH)) == 4
    [failed] = recorder.of("artifact_download_failed")
    assert failed.artifact_location == f"https://assets.adobetarget.com{ARTIFACT_PATH}"
    assert isinstance(failed.error, ArtifactError)
    assert "after 4 attempts: HTTP 503" in str(failed.error)


async def test_a_trickling_artifact_download_is_cut_off_at_the_timeout(edge: LocalEdge) -> None:
    # A CDN that sends 100 bytes over 25 s: each read is quick, the whole download is not.
    async def trickle(stream: anyio.abc.SocketStream) -> None:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            async with stream:
                await stream.receive()
                await stream.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
                for _ in range(100):
                    await anyio.sleep(0.25)
                    await stream.send(b" ")

    recorder = Recorder()
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as servers:
        servers.start_soon(listener.serve, trickle)
        with anyio.fail_after(10):
            async with AsyncTargetClient.create(
                client=CLIENT,
                organization_id=ORG,
                decisioning_method="on-device",
                artifact_location=f"http://127.0.0.1:{port}/rules.json",
                timeout=1000,
                events=recorder.handlers("artifact_download_failed"),
            ) as client:
                with pytest.raises(ArtifactNotReadyError, match="longer than the timeout of 1000 ms") as refused:
                    await client.get_offers(request=execute("mbox-magician"))
        servers.cancel_scope.cancel()
    assert f"http://127.0.0.1:{port}/rules.json" in str(refused.value)
    [failed] = recorder.of("artifact_download_failed")
    assert failed.error is refused.value.__cause__


async def test_a_missing_artifact_is_not_retried(edge: LocalEdge, cdn: LocalCdn) -> None:
    recorder = Recorder()
    async with AsyncTargetClient.create(
        options(
            edge, cdn, environment="staging", events=recorder.handlers("artifact_download_failed")
        )
    ):
        pass
    assert [r.target for r in cdn.requests] == [f"/{CLIENT}/staging/v1/rules.json"]
    assert "HTTP 404" in str(recorder.of("artifact_download_failed")[0].error)


async def test_retries_recover_a_flaky_download(edge: LocalEdge, cdn: LocalCdn) -> None:
    cdn.failures = 2
    recorder = Recorder()
    async with AsyncTargetClient.create(
        options(
            edge,
            cdn,
            events=recorder.handlers("artifact_download_failed", "artifact_download_succeeded"),
        )
    ) as client:
        assert client._on_device.provider.artifact is not None
    assert [event.type for event in recorder.events] == ["artifact_download_succeeded"]
    assert len(cdn.requests_to(ARTIFACT_PATH)) == 3


# -- refreshing ---------------------------------------------------------------------------


async def test_refresh_uses_the_etag_and_keeps_the_artifact_on_304(
    edge: LocalEdge, cdn: LocalCdn
) -> None:
    recorder = Recorder()
    async with AsyncTargetClient.create(
        options(edge, cdn, events=recorder.handlers("artifact_download_succeeded"))
    ) as client:
        provider = client._on_device.provider
        first = provider.artifact
        assert await provider.refresh() is False
        assert provider.artifact is first
        etag = cdn.serve(ARTIFACT_PATH, artifact_bytes("TEST_ARTIFACT_AB_SIMPLE"))
        assert await provider.refresh() is True
        assert provider.artifact is not first
        assert provider.info is not None and provider.info.artifact_retrieval_count == 2
    sent = [request.headers.get("if-none-match") for request in cdn.requests_to(ARTIFACT_PATH)]
    assert sent[0] is None
    assert sent[1] == sent[2] != etag
    assert len(recorder.of("artifact_download_succeeded")) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"version": "1.0.0", "rules": ', "Unable to read artifact JSON"),
        (artifact_bytes("TEST_ARTIFACT_UNSUPPORTED"), "99.0.0"),
    ],
)
async def test_a_bad_artifact_is_refused_and_the_last_good_one_kept(
    edge: LocalEdge, cdn: LocalCdn, caplog: pytest.LogCaptureFixture, body: bytes, message: str
) -> None:
    recorder = Recorder()
    async with AsyncTargetClient.create(
        options(edge, cdn, events=recorder.handlers("artifact_download_failed"))
    ) as client:
        provider = client._on_device.provider
        good = provider.artifact
        cdn.serve(ARTIFACT_PATH, body)
        with caplog.at_level(logging.ERROR, logger="target_async"):
            assert await provider.refresh() is False
        assert provider.artifact is good
        result = await client.get_offers(request=execute("mbox-magician"))
    assert result.response.execute.mboxes[0].options
    [failed] = recorder.of("artifact_download_failed")
    assert isinstance(failed.error, ArtifactError) and message in str(failed.error)
    assert message in caplog.text


async def test_a_refresh_that_fails_after_the_first_load_is_reported_with_its_cause(
    edge: LocalEdge, cdn: LocalCdn
) -> None:
    recorder = Recorder()
    async with AsyncTargetClient.create(
        options(edge, cdn, events=recorder.handlers("artifact_download_failed"))
    ) as client:
        provider = client._on_device.provider
        good = provider.artifact
        cdn.failures = 100
        assert await provider.refresh() is False
        cdn.failures = 0
        cdn.serve(ARTIFACT_PATH, json.dumps({"version": "1.0.0", "responseTokens": 5}).encode())
        assert await provider.refresh() is False
        assert provider.artifact is good
        assert (await client.get_offers(request=execute("mbox-magician"))).response.execute.mboxes[0].options
    download, compile_ = recorder.of("artifact_download_failed")
    assert "HTTP 503" in str(download.error)
    assert "responseTokens must be a list of strings" in str(compile_.error)


async def test_polling_refreshes_in_the_background(edge: LocalEdge, cdn: LocalCdn) -> None:
    client = AsyncTargetClient.create(options(edge, cdn))
    # The configuration refuses intervals under 5 minutes; the provider takes any.
    config = attrs.evolve(client.config, polling_interval=10)
    provider = ArtifactProvider(config, client._transport, client._events, client._telemetry)
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(provider.run)
        with anyio.fail_after(5):
            while len(cdn.requests_to(ARTIFACT_PATH)) < 3:  # noqa: ASYNC110 - the CDN has no event
                await anyio.sleep(0.005)
        task_group.cancel_scope.cancel()
    await client.aclose()
    assert provider.artifact is not None
    assert all(r.headers.get("if-none-match") for r in cdn.requests_to(ARTIFACT_PATH)[1:])


async def test_artifact_response_geo_headers_are_reported(edge: LocalEdge, cdn: LocalCdn) -> None:
    cdn.headers = (("x-geo-city", "SAN FRANCISCO"), ("x-geo-latitude", "37.75"))
    recorder = Recorder()
    async with AsyncTargetClient.create(
        options(edge, cdn, events=recorder.handlers("geo_location_updated"))
    ):
        pass
    assert [event.geo_context for event in recorder.events] == [
        {"city": "SAN FRANCISCO", "latitude": 37.75}
    ]


# -- geo ----------------------------------------------------------------------------------


async def test_geo_lookup_resolves_the_ip_once(edge: LocalEdge, cdn: LocalCdn) -> None:
    cdn.serve(ARTIFACT_PATH, artifact_bytes("TEST_ARTIFACT_GEO"))
    cdn.geo = {
        "x-geo-city": "SAN FRANCISCO",
        "x-geo-country-code": "US",
        "x-geo-region-code": "CA",
        "x-geo-latitude": 37.75,
        "x-geo-longitude": -122.4,
    }
    recorder = Recorder()
    # This visitor falls in the experience that shows geo content.
    visitor = {"thirdPartyId": "338e3c1e51f7416a8e1ccba4f81acea0.28_0"}
    request = {**execute("mbox-geography", geo={"ipAddress": "203.0.113.9"}), "id": visitor}
    async with AsyncTargetClient.create(
        options(edge, cdn, events=recorder.handlers("geo_location_updated"))
    ) as client:
        first = await client.get_offers(request=request)
        second = await client.get_offers(request=request)
    for result in (first, second):
        assert result.response.execute.mboxes[0].options[0].content == {"geo": True, "exp": "geo.b"}
        assert result.request.context.geo.city == "SAN FRANCISCO"
    [lookup] = cdn.requests_to("/v1/geo")
    assert lookup.headers["x-forwarded-for"] == "203.0.113.9"
    assert [event.geo_context["city"] for event in recorder.events] == ["SAN FRANCISCO"]


async def test_a_geo_answer_without_finite_coordinates_loses_them_not_the_notification(
    edge: LocalEdge, cdn: LocalCdn
) -> None:
    # TEST_ARTIFACT_AB_MULTI_SIMPLE targets geo, so the client looks the address up.
    cdn.geo = {"x-geo-city": "SAN FRANCISCO", "x-geo-latitude": "north", "x-geo-longitude": "Infinity"}
    request = execute("mbox-magician", geo={"ipAddress": "203.0.113.9"})
    async with AsyncTargetClient.create(options(edge, cdn)) as client:
        result = await client.get_offers(request=request)
        assert await client.flush() is True
    assert result.request_body["context"]["geo"] == {"ipAddress": "203.0.113.9", "city": "SAN FRANCISCO"}
    [notification] = deliveries(edge)
    assert notification.json["context"]["geo"]["city"] == "SAN FRANCISCO"
    assert [n["mbox"]["name"] for n in notification.json["notifications"]] == ["mbox-magician"]


@pytest.mark.parametrize("failure", ["status", "hang", "nested too deeply"])
async def test_a_failing_geo_lookup_decides_without_geo(
    edge: LocalEdge, cdn: LocalCdn, failure: str
) -> None:
    cdn.serve(ARTIFACT_PATH, artifact_bytes("TEST_ARTIFACT_GEO"))
    async with AsyncTargetClient.create(options(edge, cdn)) as client:
        if failure == "hang":
            cdn.delay = 30
        elif failure == "nested too deeply":
            cdn.geo = b'{"x-geo-city": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        # cdn.geo is None: the geo service answers 404
        with anyio.fail_after(5):
            result = await client.get_offers(
                request=execute("mbox-geography", geo={"ipAddress": "203.0.113.9"}), timeout=100
            )
        cdn.delay = 0
    assert result.meta.decisioning_method == "on-device"
    assert result.response.execute.mboxes[0].options is None
    assert len(cdn.requests_to("/v1/geo")) == 1


async def test_no_geo_lookup_when_the_request_has_geo_or_the_artifact_no_geo_targeting(
    edge: LocalEdge, cdn: LocalCdn
) -> None:
    async with AsyncTargetClient.create(options(edge, cdn)) as client:
        # TEST_ARTIFACT_AB_MULTI_SIMPLE has geo targeting; this request brings its own location.
        await client.get_offers(
            request=execute("mbox-magician", geo={"ipAddress": "203.0.113.9", "city": "PARIS"})
        )
    cdn.serve(ARTIFACT_PATH, artifact_bytes("TEST_ARTIFACT_BLANK"))
    async with AsyncTargetClient.create(options(edge, cdn)) as client:
        await client.get_offers(request=execute("mbox-magician", geo={"ipAddress": "203.0.113.9"}))
    assert cdn.requests_to("/v1/geo") == []


# -- telemetry ----------------------------------------------------------------------------


async def test_telemetry_rides_along_with_the_next_edge_request(
    edge: LocalEdge, cdn: LocalCdn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(on_device_module, "TELEMETRY_ONLY_INTERVAL", 3600.0)
    prefetch = {"context": {"channel": "web"}, "prefetch": {"mboxes": [{"name": "mbox-magician"}]}}
    async with AsyncTargetClient.create(options(edge, cdn, telemetry_enabled=True)) as client:
        # Prefetch decisions have no notification: the first call sends its telemetry alone,
        # the second one's waits for the next request to the edge.
        first_decision = await client.get_offers(request=prefetch)
        second_decision = await client.get_offers(request=prefetch)
        assert await client.flush()
        await client.get_offers(request=execute("home"), decisioning_method="server-side")
        await client.get_offers(request=execute("home"), decisioning_method="server-side")
    first, second, third = (request.json for request in deliveries(edge))
    assert "notifications" not in first
    download, decision, *_ = first["telemetry"]["entries"]
    assert download["requestId"] == "ArtifactDownload"
    assert decision["requestId"] == first_decision.request_body["requestId"]
    assert decision["mode"] == "local"
    assert decision["features"] == {"decisioningMethod": "on-device", "prefetchMboxCount": 1}
    # The second call's entry went with the first request still waiting to be sent, or else
    # with the next one; either way exactly once.
    carried = [
        entry["requestId"]
        for body in (first, second)
        for entry in (body.get("telemetry") or {}).get("entries", ())
    ]
    assert carried.count(second_decision.request_body["requestId"]) == 1
    assert len(carried) == 3
    [remote] = third["telemetry"]["entries"]
    assert remote["requestId"] == second["requestId"]
    assert remote["mode"] == "edge"
    assert remote["features"] == {"decisioningMethod": "server-side", "executeMboxCount": 1}


async def test_failed_notification_requests_are_reported(edge: LocalEdge, cdn: LocalCdn) -> None:
    edge.faults.add(Fault(kind="status", status_code=400))
    recorder = Recorder()
    async with AsyncTargetClient.create(
        options(edge, cdn, events=recorder.handlers("send_notification_error"))
    ) as client:
        result = await client.get_offers(request=execute("mbox-magician"))
        await client.flush()
    assert result.response.execute.mboxes[0].options
    [event] = recorder.events
    assert event.notification["mbox"] == {"name": "mbox-magician"}
    assert event.error.status_code == 400
