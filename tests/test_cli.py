"""The `target-async` command, end to end: `python -m target_async` in subprocesses.

Independent commands of a test run concurrently (`run`), which keeps the file quick; a few
argument errors argparse or option checks catch are also exercised in-process (`main`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from target_async import __version__
from target_async._demo_tour import run_tour
from target_async.cli import main
from target_async.decisioning._obfuscation import deobfuscate
from target_async.testing import SAMPLE_ARTIFACT_PATH, SAMPLE_OFFERS_PATH, Fault, LocalEdge

CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
REFERENCE_BIN = str(CONFORMANCE / "obfuscated" / "rules.bin")
REFERENCE_ORG = "74F652E95F1B16FE0A495C92@AdobeOrg"
SAMPLE_ARTIFACT: dict[str, Any] = json.loads(SAMPLE_ARTIFACT_PATH.read_text())
COMMAND = [sys.executable, "-m", "target_async"]

Result = subprocess.CompletedProcess[str]


def run(*commands: list[str]) -> list[Result]:
    """Run `target-async` once per argument list, all at once; their results in order."""
    processes = [
        (
            command,
            subprocess.Popen(
                [*COMMAND, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            ),
        )
        for command in commands
    ]
    results = []
    for command, process in processes:
        out, err = process.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return results


def fails(result: Result, code: int, message: str) -> bool:
    """The command exited with `code`, saying `message` on stderr and nothing on stdout."""
    return result.returncode == code and message in result.stderr and result.stdout == ""


def fails_in_process(argv: list[str], capsys: pytest.CaptureFixture[str], message: str) -> bool:
    """`main(argv)` returns 2 (bad input) with `message` on stderr."""
    code = main(argv)
    captured = capsys.readouterr()
    return code == 2 and message in captured.err and captured.out == ""


@pytest.fixture(scope="module")
def edge() -> Iterator[LocalEdge]:
    with LocalEdge.run_in_thread(artifact=SAMPLE_ARTIFACT_PATH) as local_edge:
        yield local_edge


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["demo"],
        ["edge"],
        ["edge", "serve"],
        ["offers"],
        ["artifact"],
        ["artifact", "fetch"],
        ["artifact", "inspect"],
    ],
)
def test_help_everywhere(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: target-async {' '.join(argv)}".rstrip())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["offers", "--mbox", "a", "--on-device", "--hybrid"], "not allowed with argument"),
        (["edge", "serve", "--port", "http"], "not a TCP port"),
        (["offers", "--mbox", "a", "--timeout", "-5"], "not a positive number of milliseconds"),
        (["artifact", "inspect"], "required: PATH"),
        (["edge"], "required: COMMAND"),
        ([], "required: COMMAND"),
    ],
)
def test_argument_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_usage_errors_end_to_end() -> None:
    (no_mbox,) = run(["offers", "--artifact", "sample"])
    assert fails(no_mbox, 2, "error: the following arguments are required: --mbox")
    assert no_mbox.stderr.startswith("usage: target-async offers")


# -- artifact inspect ------------------------------------------------------------------------


def test_inspect_summarises_an_artifact() -> None:
    text, as_json, obfuscated = run(
        ["artifact", "inspect", "sample"],
        ["artifact", "inspect", str(SAMPLE_ARTIFACT_PATH), "--json"],
        ["artifact", "inspect", REFERENCE_BIN, "--organization-id", REFERENCE_ORG, "--json"],
    )
    assert text.returncode == 0, text.stderr
    out = text.stdout
    assert "version 1.0.0, client demo, environment production" in out
    assert "Activities (5)" in out
    assert "310001  Homepage hero A/B test  (A/B test)" in out
    assert "audiences: 4200101, 4200102, 4200103" in out
    assert "on view home" in out
    assert "decided on-device: mboxes checkout-promo, feature-flags, hero-banner" in out
    assert "need the edge (remote): mboxes loyalty-offers; views -" in out

    summary = json.loads(as_json.stdout)
    assert [activity["id"] for activity in summary["activities"]] == [
        310001,
        310002,
        310003,
        310004,
        310005,
    ]
    assert summary["audiences"]["4200102"] == [310002]
    assert summary["onDevice"]["usable"] is True
    assert summary["onDevice"]["remoteMboxes"] == ["loyalty-offers"]

    reference = json.loads(obfuscated.stdout)
    assert reference["client"] == "targettesting" and reference["onDevice"]["usable"]


def test_inspect_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unsupported_path = str(CONFORMANCE / "artifacts" / "TEST_ARTIFACT_UNSUPPORTED.json")
    missing, unsupported = run(
        ["artifact", "inspect", str(tmp_path / "none.json")],
        ["artifact", "inspect", unsupported_path],
    )
    assert fails(missing, 2, "cannot read artifact")
    assert unsupported.returncode == 1
    assert "not usable: The decisioning artifact version (99.0.0) is not supported" in (
        unsupported.stdout
    )

    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"version": ')
    assert fails_in_process(["artifact", "inspect", str(bad_json)], capsys, "is not valid JSON")
    not_artifact = tmp_path / "offers.json"
    not_artifact.write_text('{"home": []}')
    assert fails_in_process(
        ["artifact", "inspect", str(not_artifact)], capsys, "is not a rules artifact"
    )
    assert fails_in_process(["artifact", "inspect", REFERENCE_BIN], capsys, "--organization-id")
    assert fails_in_process(
        ["artifact", "inspect", REFERENCE_BIN, "--organization-id", "WRONG@AdobeOrg"],
        capsys,
        "not valid JSON (wrong --organization-id?)",
    )


# -- offers ----------------------------------------------------------------------------------


def test_offers_decides_from_an_artifact_on_a_local_edge() -> None:
    visitor = ["--artifact", "sample", "--mbox", "checkout-promo", "--mbox", "hero-banner"]
    visitor += ["--mbox", "loyalty-offers", "--param", "membership=gold", "--tnt-id", "v-7"]
    visitor += ["--user-agent", "Safari", "--url", "https://shop.example.com/"]
    readable, on_device, hybrid = run(
        ["offers", *visitor],
        ["offers", *visitor, "--on-device", "--json"],
        ["offers", *visitor, "--hybrid", "--json"],
    )
    assert readable.returncode == 0, readable.stderr
    lines = readable.stdout.splitlines()
    assert lines[:3] == [
        "checkout-promo",
        "  activity: Checkout promotions by audience, experience: Gold members",
        "  json: {",
    ]
    assert "loyalty-offers\n  (no offer)" in readable.stdout
    assert lines[-1] == "Decided server-side, status 200, tntId v-7, edge mboxedge35.tt.omtrdc.net"

    local = json.loads(on_device.stdout)
    assert local["decisioningMethod"] == "on-device"
    assert local["remoteMboxes"] == ["loyalty-offers"] and local["response"]["status"] == 206
    promo, hero, _ = local["response"]["execute"]["mboxes"]
    # The edge decided the same: the on-device contents are what the server-side run printed.
    promo_text = json.dumps(promo["options"][0]["content"], indent=2).replace("\n", "\n    ")
    assert f"  json: {promo_text}\n" in readable.stdout
    assert f"  html: {hero['options'][0]['content']}\n" in readable.stdout
    # Hybrid hands the whole request to the edge: loyalty-offers is not decidable on-device.
    remote = json.loads(hybrid.stdout)
    assert remote["decisioningMethod"] == "server-side"
    decided = [m["options"][0]["content"] for m in remote["response"]["execute"]["mboxes"][:2]]
    assert decided == [promo["options"][0]["content"], hero["options"][0]["content"]]


def test_offers_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_json = tmp_path / "rules.json"
    bad_json.write_text("not json")
    unknown, neither = run(
        ["offers", "--artifact", "sample", "--mbox", "nope"],
        ["offers", "--mbox", "a"],
    )
    assert fails(unknown, 2, "unknown mbox 'nope': the artifact knows checkout-promo")
    assert fails(neither, 2, "give --artifact (a rules.json or rules.bin file or URL, or 'sample'")

    missing = ["offers", "--artifact", str(tmp_path / "x.json"), "--mbox", "a"]
    assert fails_in_process(missing, capsys, "cannot read artifact")
    assert fails_in_process(
        ["offers", "--artifact", str(bad_json), "--mbox", "a"], capsys, "is not valid JSON"
    )

    assert fails_in_process(["offers", "--mbox", "a", "--client", "acme"], capsys, "--organization")
    assert fails_in_process(
        ["offers", "--artifact", "sample", "--client", "acme", "--mbox", "a"],
        capsys,
        "--artifact and --client do not go together",
    )
    assert fails_in_process(
        ["offers", "--artifact", "sample", "--mbox", "hero-banner", "--param", "gold"],
        capsys,
        "--param takes NAME=VALUE",
    )


# -- artifact fetch ----------------------------------------------------------------------------


def test_fetch_downloads_json_and_rules_bin(edge: LocalEdge, tmp_path: Path) -> None:
    json_url = f"{edge.url}/demo/production/v1/rules.json"
    bin_url = f"{edge.url}/demo/production/v1/some-property/rules.bin"
    output = tmp_path / "rules.json"
    organization = ["--organization-id", edge.organization_id]
    printed, saved = run(
        ["artifact", "fetch", "--location", json_url],
        ["artifact", "fetch", "--location", bin_url, *organization, "--output", str(output)],
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.encode() == SAMPLE_ARTIFACT_PATH.read_bytes()
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.startswith(f"Saved {bin_url} to {output}: version 1.0.0, 4 mboxes")
    assert json.loads(output.read_text()) == SAMPLE_ARTIFACT
    # What was downloaded is the obfuscated form, which the SDK's reader turns back into the JSON.
    served = httpx.get(bin_url).content
    assert served.startswith(b"ATOD:001")
    assert json.loads(deobfuscate(served, edge.organization_id)) == SAMPLE_ARTIFACT


def test_fetch_reports_failures(
    edge: LocalEdge, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with LocalEdge.run_in_thread() as stopped:
        closed_url = f"{stopped.url}/demo/production/v1/rules.json"
    missing, closed = run(
        ["artifact", "fetch", "--location", f"{edge.url}/acme/production/v1/rules.json"],
        ["artifact", "fetch", "--location", closed_url],
    )
    assert fails(missing, 1, "HTTP 404")
    assert fails(closed, 1, f"cannot download {closed_url}: ")
    assert f"Downloading {closed_url} (waiting up to 10000 ms)" in closed.stderr
    assert not closed.stderr.rstrip().endswith(":"), closed.stderr  # the reason is given
    assert fails_in_process(["artifact", "fetch"], capsys, "give --client")
    assert fails_in_process(
        ["artifact", "fetch", "--client", "acme", "--binary"], capsys, "give --organization-id"
    )
    assert fails_in_process(
        ["artifact", "fetch", "--location", f"{edge.url}/v1/geo"], capsys, "not a rules artifact"
    )


# -- edge serve and demo -------------------------------------------------------------------------


def test_edge_serve_runs_until_interrupted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    offers = tmp_path / "offers.json"
    offers.write_text(json.dumps({"loyalty-offers": [{"type": "html", "content": "POINTS"}]}))
    bad_offers = tmp_path / "bad-offers.json"
    bad_offers.write_text('{"home": "not a list"}')
    process = subprocess.Popen(
        [*COMMAND, "edge", "serve", "--artifact", "sample", "--offers", str(offers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        missing, demo = run(["edge", "serve", "--artifact", str(tmp_path / "x.json")], ["demo"])
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("Local Target edge listening on http://127.0.0.1:"), banner
        url = banner.split()[5]
        port = url.rsplit(":", 1)[1]
        banner_lines = [process.stdout.readline() for _ in range(6)]
        artifact = httpx.get(f"{url}/demo/production/v1/rules.json")
        answer = httpx.post(
            f"{url}/rest/v1/delivery?imsOrgId=o&sessionId=s",
            json={
                "context": {"channel": "web"},
                "execute": {"mboxes": [{"name": "loyalty-offers"}]},
            },
        ).json()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert artifact.json() == SAMPLE_ARTIFACT
    assert answer["execute"]["mboxes"][0]["options"][0]["content"] == "POINTS"
    assert process.returncode == 0, err
    assert "GET /demo/production/v1/rules.json -> 200 (Host: 127.0.0.1:" in out
    assert "POST /rest/v1/delivery -> 200" in out
    how_to_point = f'transport=EdgeTransport("127.0.0.1", {port}) (from target_async.testing)'
    assert any(how_to_point in line for line in banner_lines), banner_lines
    assert out.rstrip().endswith("Local edge stopped.")

    assert fails(missing, 2, "cannot read artifact")
    assert fails_in_process(
        ["edge", "serve", "--offers", str(bad_offers)], capsys, "must be a list of options"
    )
    # `make demo` runs this command: it keeps working.
    assert demo.returncode == 0, demo.stderr
    assert "Local edge stopped. Done." in demo.stdout


def _ignore_sigint() -> None:
    # What a shell does to a command it starts in the background (`&` without job control).
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize(
    ("stop", "started_in_background"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm", "ctrl-c-started-in-background"],
)
def test_edge_serve_stops_cleanly_on_sigterm_and_on_an_inherited_ignored_sigint(
    stop: signal.Signals, started_in_background: bool
) -> None:
    process = subprocess.Popen(
        [*COMMAND, "edge", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_ignore_sigint if started_in_background else None,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("Local Target edge listening on"), banner
        # Sent right after the banner: the handler is in place before it is printed.
        process.send_signal(stop)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.rstrip().endswith("Local edge stopped.")


@pytest.mark.anyio
async def test_demo_tour_decides_the_sample_three_ways(capsys: pytest.CaptureFixture[str]) -> None:
    # As `make demo` runs it: an edge serving the sample offers, given explicitly.
    async with LocalEdge(offers=SAMPLE_OFFERS_PATH) as offers_edge:
        await run_tour(offers_edge)
        assert offers_edge.artifact is None  # the tour leaves the edge as it found it
    out = capsys.readouterr().out
    assert "same decisions as the edge: yes" in out
    assert "hero-banner alone -> on-device" in out
    assert "hero-banner + loyalty-offers -> server-side" in out
    assert "loyalty-offers [Gold tier]" in out  # answered by the edge's offers
    assert "delivered: True; at the edge: True" in out


def test_edge_serve_reports_a_busy_port(
    edge: LocalEdge, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["edge", "serve", "--port", str(edge.port)]) == 1
    assert f"cannot listen on 127.0.0.1:{edge.port}" in capsys.readouterr().err


# -- hostile input: clean messages, never a traceback -----------------------------------------


def _artifact_file(tmp_path: Path, name: str, **changes: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps({**SAMPLE_ARTIFACT, **changes}))
    return str(path)


@pytest.mark.parametrize("value", ["nan", "inf", "NaN"])
@pytest.mark.parametrize("command", [["offers", "--mbox", "hero-banner", "--artifact", "sample"], ["artifact", "fetch", "--client", "demo"]])
def test_a_timeout_that_is_not_finite_is_a_usage_error(
    command: list[str], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--timeout", value])
    assert exited.value.code == 2
    assert "not a positive number of milliseconds" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"responseTokens": 5}, "responseTokens must be a list"),
        ({"responseTokens": [[1]]}, "responseTokens must be a list"),
        ({"version": "9" * 5000}, "version (99999"),
        ({"version": "x.y"}, "version (x.y) is not supported"),
    ],
)
def test_inspect_reports_an_unusable_artifact_without_a_traceback(
    tmp_path: Path, changes: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["artifact", "inspect", _artifact_file(tmp_path, "rules.json", **changes)]) == 1
    out = capsys.readouterr().out
    assert "not usable" in out and message in out


def test_inspect_survives_rule_metadata_of_the_wrong_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = json.loads(json.dumps(SAMPLE_ARTIFACT["rules"]))
    for location_rules in rules["mboxes"].values():
        for rule in location_rules:
            rule["meta"]["activity.id"] = [1]
            rule["meta"]["audience.ids"] = 5
    path = _artifact_file(tmp_path, "rules.json", rules=rules)
    assert main(["artifact", "inspect", path, "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["activities"]


def test_deeply_nested_json_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["artifact", "inspect", str(deep)]) == 2
    assert main(["edge", "serve", "--offers", str(deep)]) == 2
    err = capsys.readouterr().err
    assert err.count("nested too deeply") == 2 and "Traceback" not in err


def test_an_obfuscated_artifact_with_a_bad_header_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.bin"
    bad.write_bytes(b"XXXX" + bytes(60))
    assert main(["artifact", "inspect", str(bad), "--organization-id", REFERENCE_ORG]) == 2
    assert "unknown obfuscation header" in capsys.readouterr().err


@pytest.mark.parametrize(
    "location", ["http://[::1", "http://[::1]:99999/rules.json", "ftp://example.com/rules.json", "http:///rules.json"]
)
def test_artifact_fetch_refuses_an_invalid_location(location: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["artifact", "fetch", "--location", location]) == 2
    err = capsys.readouterr().err
    assert "URL" in err and "Traceback" not in err


# -- release polish: version, artifacts for offers, closed pipes, slow downloads, request logs ------


def test_version() -> None:
    script = Path(sys.executable).with_name("target-async")
    module, entry_point = (
        subprocess.run(command, capture_output=True, text=True, timeout=60)
        for command in ([*COMMAND, "--version"], [str(script), "--version"])
    )
    for result in (module, entry_point):
        assert result.returncode == 0, result.stderr
        assert result.stdout == f"target-async {__version__}\n"


def test_offers_decides_from_a_rules_bin_and_from_urls(edge: LocalEdge, tmp_path: Path) -> None:
    organization = edge.organization_id  # the key the edge obfuscates its rules.bin with
    rules_bin = tmp_path / "rules.bin"
    rules_bin.write_bytes(httpx.get(f"{edge.url}/demo/production/v1/rules.bin").content)
    decide = ["--mbox", "hero-banner", "--on-device", "--tnt-id", "visitor-1"]
    from_bin, from_json_url, from_bin_url, no_key = run(
        ["offers", "--artifact", str(rules_bin), "--organization-id", organization, *decide],
        ["offers", "--artifact", f"{edge.url}/demo/production/v1/rules.json", *decide],
        [
            "offers",
            "--artifact",
            f"{edge.url}/demo/production/v1/rules.bin",
            "--organization-id",
            edge.organization_id,
            *decide,
        ],
        ["offers", "--artifact", str(rules_bin), *decide],
    )
    expected = run(["offers", "--artifact", "sample", *decide])[0]
    assert expected.returncode == 0, expected.stderr
    assert "Homepage hero A/B test" in expected.stdout
    for result in (from_bin, from_json_url, from_bin_url):
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected.stdout
    assert fails(no_key, 2, "is obfuscated (rules.bin): give --organization-id")


@pytest.mark.parametrize(
    "command",
    [
        ["artifact", "inspect", "sample"],
        ["artifact", "inspect", "sample", "--json"],
        ["offers", "--artifact", "sample", "--mbox", "hero-banner", "--json"],
    ],
    ids=["inspect", "inspect-json", "offers-json"],
)
def test_a_closed_pipe_ends_quietly(command: list[str]) -> None:
    # `target-async ... | head -1` once head has exited: the reading end is closed.
    process = subprocess.Popen(
        [*COMMAND, *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert err == ""
    assert process.returncode == 141


def test_fetch_from_a_server_that_does_not_answer_says_so() -> None:
    with LocalEdge.run_in_thread(artifact=SAMPLE_ARTIFACT_PATH) as slow:
        slow.faults.add(Fault(kind="latency", delay=30, route="artifact"))
        url = f"{slow.url}/demo/production/v1/rules.json"
        result = run(["artifact", "fetch", "--location", url, "--timeout", "300"])[0]
        slow.faults.clear()
    assert fails(result, 1, f"cannot download {url}: no answer within 300 ms (--timeout)")
    assert result.stderr.startswith(f"Downloading {url} (waiting up to 300 ms)\n")


def test_edge_serve_logs_what_each_request_asked() -> None:
    process = subprocess.Popen(
        [*COMMAND, "edge", "serve", "--artifact", "sample"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split()[5]
        delivery = f"{url}/rest/v1/delivery?imsOrgId=o&sessionId=s"
        context = {"channel": "web"}
        httpx.post(
            delivery,
            json={
                "context": context,
                "execute": {"mboxes": [{"name": "hero-banner"}, {"name": "checkout-promo"}]},
                "prefetch": {"views": [{"name": "home"}]},
            },
        )
        httpx.post(
            delivery,
            json={
                "context": context,
                "id": {"tntId": "secret-visitor.35_0"},
                "notifications": [
                    {"id": "1", "type": "display", "timestamp": 1, "mbox": {"name": "hero-banner"}},
                    {"id": "2", "type": "display", "timestamp": 1, "mbox": {"name": "hero-banner"}},
                    {"id": "3", "type": "click", "timestamp": 1, "mbox": {"name": "checkout-promo"}},
                ],
            },
        )
        httpx.post(delivery, json={"context": context, "execute": {"mboxes": [{"name": "a\x1b[2Jb"}]}})
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert (
        "POST /rest/v1/delivery -> 200 (Host: 127.0.0.1:"
        in out
    )
    assert "execute mboxes hero-banner, checkout-promo; prefetch views home; new visitor\n" in out
    assert "notifications display x2, click x1; visitor #" in out
    # The visitor is told apart by a hash, never shown; a client's control characters are not
    # sent to the terminal.
    assert "secret-visitor" not in out
    assert "\x1b" not in out and "execute mboxes a?[2Jb; new visitor" in out
