"""Engine behaviour beyond the conformance suites: errors, remote dependency, purity, telemetry."""

from __future__ import annotations

import copy
import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import attrs
import pytest

from target_async import ArtifactError
from target_async.decisioning import (
    ARTIFACT_DOWNLOAD_REQUEST_ID,
    ArtifactInfo,
    CompiledArtifact,
    artifact_telemetry_entry,
    compile_artifact,
    decide,
    needs_geo_lookup,
    notification_request,
    remote_dependency,
    telemetry_entry,
)

CONFORMANCE_DIR = Path(
    os.environ.get(
        "TARGET_CONFORMANCE_DIR",
        Path(__file__).resolve().parents[2].parent / "shared" / "conformance",
    )
)

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_3) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/80.0.3987.163 Safari/537.36"
)
NOW_MS = 1_585_098_300_000


def raw_artifact(name: str) -> dict[str, Any]:
    path: Path = CONFORMANCE_DIR / "artifacts" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@functools.cache
def artifact(name: str) -> CompiledArtifact:
    return compile_artifact(raw_artifact(name))


def request(**sections: Any) -> dict[str, Any]:
    return {
        "id": {"tntId": "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
        "context": {
            "channel": "web",
            "address": {"url": "http://local-target-test/"},
            "userAgent": CHROME_MAC,
        },
        **sections,
    }


def run(name: str, body: dict[str, Any], **options: Any) -> Any:
    return decide(
        artifact(name), body, client="someClientId", session_id="session", now_ms=NOW_MS, **options
    )


def test_unsupported_major_version_fails_at_compile_time() -> None:
    with pytest.raises(ArtifactError) as caught:
        compile_artifact(raw_artifact("TEST_ARTIFACT_UNSUPPORTED"))
    assert str(caught.value) == (
        "The decisioning artifact version (99.0.0) is not supported. "
        "This library is compatible with this major version: 1"
    )


def test_unknown_operator_fails_at_compile_time_naming_rule_and_operator() -> None:
    raw = raw_artifact("TEST_ARTIFACT_AB_SIMPLE")
    raw["rules"]["mboxes"]["mbox-magician"][1]["condition"] = {"geo_distance": [1, 2]}
    with pytest.raises(ArtifactError, match=r"operator 'geo_distance' in rule '125873'"):
        compile_artifact(raw)


def test_compiled_artifact_exposes_its_identity() -> None:
    compiled = artifact("TEST_ARTIFACT_GLOBAL_MBOX")
    assert compiled.version == "1.0.0"
    assert compiled.global_mbox == "target-global-mbox"
    assert compiled.geo_targeting_enabled is True
    assert compiled.meta == {"clientCode": "targettesting", "environment": "production"}
    assert compiled.raw["version"] == "1.0.0"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        compiled.global_mbox = "other"  # type: ignore[misc]


def test_decide_neither_mutates_nor_aliases_its_inputs() -> None:
    body = request(
        execute={
            "mboxes": [{"name": "mbox-magician", "index": 1}],
            "pageLoad": {"parameters": {"foo": "bar"}},
        },
        prefetch={"mboxes": [{"name": "mbox-magician", "index": 2}]},
        trace={},
    )
    pristine_request = copy.deepcopy(body)
    raw = raw_artifact("TEST_ARTIFACT_AB_SIMPLE")
    compiled = compile_artifact(raw)
    pristine_artifact = copy.deepcopy(raw)
    first = decide(compiled, body, client="someClientId", session_id="s", now_ms=NOW_MS)
    first.response["execute"]["mboxes"][0]["options"][0]["content"]["doMagic"] = "mutated"
    first.response["id"]["tntId"] = "mutated"
    second = decide(compiled, body, client="someClientId", session_id="s", now_ms=NOW_MS)
    assert second.response["execute"]["mboxes"][0]["options"][0]["content"]["doMagic"] is True
    assert body == pristine_request
    assert raw == pristine_artifact


def test_anonymous_visitor_gets_a_tnt_id_with_the_location_hint() -> None:
    body = request(execute={"mboxes": [{"name": "mbox-magician", "index": 1}]})
    del body["id"]
    decision = run("TEST_ARTIFACT_AB_SIMPLE", body, location_hint="28")
    assert re.fullmatch(r"[0-9a-f]{32}\.28_0", decision.response["id"]["tntId"])
    assert "id" not in body
    no_hint = run("TEST_ARTIFACT_AB_SIMPLE", body)
    assert re.fullmatch(r"[0-9a-f]{32}", no_hint.response["id"]["tntId"])


def test_an_authenticated_customer_id_counts_as_a_visitor_id() -> None:
    body = request(execute={"mboxes": [{"name": "mbox-magician"}]})
    body["id"] = {
        "customerIds": [
            {"id": "c1", "integrationCode": "crm", "authenticatedState": "authenticated"}
        ]
    }
    assert "tntId" not in run("TEST_ARTIFACT_AB_SIMPLE", body).response["id"]
    body["id"]["customerIds"][0]["authenticatedState"] = "logged_out"
    assert "tntId" in run("TEST_ARTIFACT_AB_SIMPLE", body).response["id"]


def test_undecidable_mboxes_are_remote_with_status_206() -> None:
    body = request(
        requestId="req-1",
        execute={
            "mboxes": [
                {"name": "remote-only-mbox-a", "index": 1},
                {"name": "unknown-mbox", "index": 2},
            ]
        },
    )
    decision = run("TEST_ARTIFACT_FEATURE_FLAG", body)
    assert decision.response["status"] == 206
    assert decision.response["requestId"] == "req-1"
    assert decision.remote_mboxes == ["remote-only-mbox-a", "unknown-mbox"]
    assert decision.remote_views == []
    assert decision.response["execute"]["mboxes"] == [
        {"name": "remote-only-mbox-a", "index": 1},
        {"name": "unknown-mbox", "index": 2},
    ]
    assert "remoteMboxes" not in decision.response


def test_remote_dependency() -> None:
    global_mbox = artifact("TEST_ARTIFACT_GLOBAL_MBOX")  # remoteMboxes: [target-global-mbox]
    assert remote_dependency(global_mbox, request(prefetch={"pageLoad": {}})) == (
        ["target-global-mbox"],
        [],
    )
    assert remote_dependency(
        global_mbox, request(execute={"mboxes": [{"name": "mbox-magician"}]})
    ) == ([], [])
    views = artifact("TEST_ARTIFACT_VIEWS")
    assert remote_dependency(
        views, request(prefetch={"views": [{"name": "home"}, {"name": "nope"}]})
    ) == ([], ["nope"])
    raw = raw_artifact("TEST_ARTIFACT_VIEWS") | {"remoteViews": ["checkout"]}
    assert remote_dependency(compile_artifact(raw), request(prefetch={"views": [{}]})) == (
        [],
        ["checkout"],
    )


def test_request_property_token_wins_over_the_default_one() -> None:
    body = request(prefetch={"pageLoad": {}})
    x_token, y_token = (
        "f12c912a-792f-6c01-4977-65d39558c82e",
        "8ce2d3e9-b299-c0ea-2e0c-2e21255db6bb",
    )

    def fruits(decision: Any) -> list[Any]:
        options = decision.response["prefetch"]["pageLoad"]["options"]
        return [option["content"].get("property") for option in options if option["type"] == "json"]

    assert fruits(run("TEST_ARTIFACT_PROPERTIES", body)) == []
    assert fruits(run("TEST_ARTIFACT_PROPERTIES", body, property_token=x_token)) == ["property X"]
    with_token = body | {"property": {"token": y_token}}
    assert fruits(run("TEST_ARTIFACT_PROPERTIES", with_token, property_token=x_token)) == [
        "property Y"
    ]


def test_execute_notifications_report_each_token_once_per_mbox() -> None:
    body = request(
        execute={
            "mboxes": [{"name": "mbox-magician", "index": 1}, {"name": "mbox-magician", "index": 2}]
        }
    )
    decision = run("TEST_ARTIFACT_AB_SIMPLE", body)
    assert len(decision.response["execute"]["mboxes"]) == 2
    assert len(decision.notifications) == 1
    notification = decision.notifications[0]
    assert notification["timestamp"] == NOW_MS
    assert notification["type"] == "display"
    assert notification["mbox"] == {"name": "mbox-magician"}
    assert notification["id"] != notification["impressionId"]
    assert "eventToken" not in decision.response["execute"]["mboxes"][0]["options"][0]


def test_prefetch_has_no_notifications_and_keeps_event_tokens() -> None:
    decision = run(
        "TEST_ARTIFACT_AB_SIMPLE", request(prefetch={"mboxes": [{"name": "mbox-magician"}]})
    )
    assert decision.notifications == []
    assert decision.response["prefetch"]["mboxes"][0]["options"][0]["eventToken"]


def test_global_mbox_requested_as_an_mbox_returns_every_match() -> None:
    body = request(
        execute={
            "mboxes": [{"name": "target-global-mbox", "index": 3, "parameters": {"foo": "bar"}}]
        }
    )
    mboxes = run("TEST_ARTIFACT_GLOBAL_MBOX", body).response["execute"]["mboxes"]
    assert len(mboxes) == 3
    assert {mbox["index"] for mbox in mboxes} == {3}
    empty = run("TEST_ARTIFACT_BLANK", body).response["execute"]["mboxes"]
    assert empty == []


def test_trace_only_when_requested_and_with_artifact_info() -> None:
    body = request(prefetch={"mboxes": [{"name": "mbox-magician", "index": 1}]})
    assert "trace" not in run("TEST_ARTIFACT_AB_SIMPLE", body).response["prefetch"]["mboxes"][0]
    info = ArtifactInfo(
        artifact_location="https://assets.adobetarget.com/someClientId/production/v1/rules.json",
        polling_interval=300_000,
        polling_halted=False,
        artifact_retrieval_count=2,
        artifact_last_retrieved="2020-03-25T01:05:00.000Z",
    )
    traced = run("TEST_ARTIFACT_AB_SIMPLE", body | {"trace": {}}, artifact_info=info)
    trace = traced.response["prefetch"]["mboxes"][0]["trace"]
    assert trace["artifact"] == {
        "artifactLocation": "https://assets.adobetarget.com/someClientId/production/v1/rules.json",
        "pollingInterval": 300_000,
        "pollingHalted": False,
        "artifactVersion": "1.0.0",
        "artifactRetrievalCount": 2,
        "artifactLastRetrieved": "2020-03-25T01:05:00.000Z",
        "clientCode": "targettesting",
        "environment": "production",
    }
    assert trace["profile"] == {
        "visitorId": {"tntId": "338e3c1e51f7416a8e1ccba4f81acea0", "profileLocation": "28_0"}
    }
    assert trace["request"]["sessionId"] == "session"


def test_campaign_macros_use_javascript_strings_and_keep_unknown_macros() -> None:
    body = request(
        prefetch={
            "mboxes": [
                {"name": "mbox-macros", "parameters": {"user": True, "browserWidth": 1024.0}}
            ]
        }
    )
    decision = decide(
        artifact("TEST_ARTIFACT_CAMPAIGN_MACROS"),
        body,
        client="targettesting",
        session_id="s",
        now_ms=NOW_MS,
    )
    content = decision.response["prefetch"]["mboxes"][0]["options"][0]["content"]
    assert "<li>true</li>" in content
    assert "<li>1024</li>" in content
    assert "<li>${mbox.pgname}</li>" in content


def test_geo_lookup_is_needed_only_for_geo_targeting_artifacts() -> None:
    body = request(execute={"mboxes": [{"name": "mbox-geography"}]})
    body["context"]["geo"] = {"ipAddress": "127.0.0.1"}
    assert needs_geo_lookup(artifact("TEST_ARTIFACT_GEO"), body) is True
    assert needs_geo_lookup(artifact("TEST_ARTIFACT_BLANK"), body) is False
    body["context"]["geo"]["city"] = "SAN FRANCISCO"
    assert needs_geo_lookup(artifact("TEST_ARTIFACT_GEO"), body) is False


def test_telemetry_entries() -> None:
    body = request(
        requestId="req-9",
        execute={"pageLoad": {}, "mboxes": [{"name": "a"}, {"name": "b"}]},
        prefetch={"views": [{}]},
    )
    entry = telemetry_entry(
        body,
        {"requestId": "req-9", "status": 200},
        decisioning_method="on-device",
        execution_ms=1.23456,
        parsing_ms=0,
        timestamp_ms=NOW_MS,
        request_timings={"dns": 0.014, "tls": 0, "responseSize": 241},
    )
    assert entry == {
        "requestId": "req-9",
        "timestamp": NOW_MS,
        "execution": 1.23,
        "request": {"dns": 0.01, "responseSize": 241},
        "mode": "local",
        "features": {
            "decisioningMethod": "on-device",
            "executePageLoad": True,
            "executeMboxCount": 2,
            "prefetchViewCount": 1,
        },
    }
    edge = telemetry_entry(
        {},
        {"requestId": "r", "edgeHost": "mboxedge28.tt.omtrdc.net"},
        decisioning_method="server-side",
        execution_ms=5.005,
        timestamp_ms=NOW_MS,
        telemetry_server_token="token",
    )
    assert edge["requestId"] == "r"
    assert edge["mode"] == "edge"
    assert edge["execution"] == 5.01
    assert edge["telemetryServerToken"] == "token"
    assert edge["features"] == {"decisioningMethod": "server-side"}
    assert artifact_telemetry_entry(execution_ms=12.345, timestamp_ms=NOW_MS) == {
        "requestId": ARTIFACT_DOWNLOAD_REQUEST_ID,
        "timestamp": NOW_MS,
        "execution": 12.35,
    }


def test_notification_request() -> None:
    body = request(
        execute={"mboxes": [{"name": "mbox-magician"}]},
        experienceCloud={"analytics": {"logging": "server_side"}},
    )
    del body["id"]
    body["context"]["geo"] = {"ipAddress": "not-an-ip", "city": "X"}
    decision = run("TEST_ARTIFACT_AB_SIMPLE", body)
    payload = notification_request(body, decision)
    assert payload is not None
    sent = payload["request"]
    assert sent["id"] == decision.response["id"]  # with the generated tntId
    assert sent["context"]["geo"] == {"city": "X"}
    assert sent["experienceCloud"] == {"analytics": {"logging": "server_side"}}
    assert sent["notifications"] == decision.notifications
    assert "telemetry" not in sent

    prefetch = run(
        "TEST_ARTIFACT_AB_SIMPLE", request(prefetch={"mboxes": [{"name": "mbox-magician"}]})
    )
    assert notification_request(body, prefetch) is None
    entry = {"requestId": "r", "timestamp": 1}
    with_telemetry = notification_request(body, prefetch, telemetry_entries=[entry])
    assert with_telemetry is not None
    assert with_telemetry["request"]["telemetry"] == {"entries": [entry]}
    assert "notifications" not in with_telemetry["request"]


def test_a_prefetched_view_traces_its_first_satisfied_rule_once() -> None:
    # Two rules of one activity with the same condition give the view its two options; the
    # trace lists that condition once, as the Node SDK's does (its suite's "views_prefetch").
    artifact = compile_artifact(json.loads((CONFORMANCE_DIR / "artifacts" / "TEST_ARTIFACT_VIEWS.json").read_bytes()))
    request = {
        "id": {"thirdPartyId": "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
        "context": {"channel": "web", "address": {"url": "http://local-target-test/"}},
        "prefetch": {"views": [{"name": "contact", "parameters": {"jason": "correct"}}]},
        "trace": {},
    }
    [view] = decide(artifact, request, client="someClientId", session_id="s").response["prefetch"]["views"]
    assert len(view["options"]) == 2
    [target] = view["trace"]["evaluatedCampaignTargets"]
    condition = artifact.view_rules["contact"][0].raw["condition"]
    assert target["campaignId"] == 125897
    assert target["matchedRuleConditions"] == [condition]
    assert target["unmatchedRuleConditions"] == []
    assert target["matchedSegmentIds"] == [1821909, 1821913]


def test_a_page_load_traces_up_to_its_last_satisfied_rule() -> None:
    # The global mbox's rules are all evaluated; the pageLoad's trace is the one of its last
    # satisfied rule (the Node SDK's), so a rule evaluated after it is not listed, and a
    # pageLoad nothing satisfied has no trace.
    def rule(activity: int, condition: object) -> dict[str, object]:
        return {
            "ruleKey": f"{activity}-0",
            "activityId": activity,
            "meta": {"activity.id": activity, "activity.type": "landing", "audience.ids": [activity]},
            "condition": condition,
            "consequence": {"name": "target-global-mbox", "options": [{"type": "html", "content": str(activity)}]},
        }

    artifact = compile_artifact(
        {
            "version": "1.0.0",
            "globalMbox": "target-global-mbox",
            "rules": {"mboxes": {"target-global-mbox": [rule(1, True), rule(2, {"==": [1, 2]})]}, "views": {}},
        }
    )
    request = {"context": {"channel": "web"}, "execute": {"pageLoad": {}}, "trace": {}}
    page_load = decide(artifact, request, client="c", session_id="s").response["execute"]["pageLoad"]
    assert [option["content"] for option in page_load["options"]] == ["1"]
    [target] = page_load["trace"]["evaluatedCampaignTargets"]
    assert (target["campaignId"], target["matchedRuleConditions"]) == (1, [True])

    nothing = compile_artifact({"version": "1.0.0", "rules": {"mboxes": {"target-global-mbox": [rule(2, False)]}}})
    page_load = decide(nothing, request, client="c", session_id="s").response["execute"]["pageLoad"]
    assert page_load == {"options": []}
