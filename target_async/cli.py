"""The `target-async` command (also `python -m target_async`).

Exit codes: 0 success, 1 the command failed while running (network, HTTP status, an
artifact the engine cannot use), 2 bad usage or input (options, files, mbox names).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

import anyio
import anyio.abc
import httpx

from . import _serde
from ._client import AsyncTargetClient
from ._exceptions import TargetError
from ._option_types import ClientOptions, DecisioningMethodOption
from ._transport import read_limited
from ._version import __version__
from .decisioning import compile_artifact
from .decisioning._obfuscation import deobfuscate
from .testing import (
    DEFAULT_CLIENT,
    DEFAULT_ORGANIZATION_ID,
    SAMPLE_ARTIFACT_PATH,
    LocalEdge,
    artifact_url,
)

PROG = "target-async"
SAMPLE = "sample"
_EXIT_FAILED = 1
_EXIT_USAGE = 2
# What a shell reports for a command ended by SIGPIPE: `... | head` closed the pipe.
_EXIT_BROKEN_PIPE = 128 + 13


class _UsageError(Exception):
    """Bad input: reported with exit code 2."""


class _Failure(Exception):
    """The command could not do its work: reported with exit code 1."""


# -- reading artifacts -------------------------------------------------------------------


def _artifact_path(value: str) -> Path:
    return SAMPLE_ARTIFACT_PATH if value == SAMPLE else Path(value)


def _parse_artifact_bytes(
    data: bytes, where: str, *, obfuscated: bool, organization_id: str | None
) -> dict[str, Any]:
    if obfuscated:
        if not organization_id:
            raise _UsageError(f"{where} is obfuscated (rules.bin): give --organization-id")
        try:
            data = deobfuscate(data, organization_id)
        except TargetError as error:
            raise _UsageError(f"{where}: {error}") from None
    try:
        raw = json.loads(data)
    except ValueError as error:
        hint = " (wrong --organization-id?)" if obfuscated else ""
        raise _UsageError(f"{where} is not valid JSON{hint}: {error}") from None
    except RecursionError:
        raise _UsageError(f"{where} is JSON nested too deeply to read") from None
    if not isinstance(raw, dict) or "rules" not in raw or "version" not in raw:
        raise _UsageError(f"{where} is not a rules artifact (no version and rules)")
    return raw


def _read_artifact(value: str, organization_id: str | None = None) -> dict[str, Any]:
    """The artifact in a JSON or `.bin` file (`sample`: the bundled sample artifact)."""
    path = _artifact_path(value)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _UsageError(f"cannot read artifact {path}: {error.strerror or error}") from None
    return _parse_artifact_bytes(
        data,
        str(path),
        obfuscated=path.suffix.lower() == ".bin",
        organization_id=organization_id,
    )


def _read_offers(value: str) -> dict[str, Any]:
    path = Path(value)
    try:
        offers = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise _UsageError(f"cannot read offers {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise _UsageError(f"{path} is not valid JSON: {error}") from None
    except RecursionError:
        raise _UsageError(f"{path} is JSON nested too deeply to read") from None
    if not isinstance(offers, dict):
        raise _UsageError(f"{path} must hold a JSON object of mbox names to offers")
    return offers


def _object(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (artifacts are read leniently)."""
    return value if isinstance(value, dict) else {}


def _edge_identity(raw: Mapping[str, Any]) -> tuple[str, str]:
    """The client code and organization an artifact was generated for (the edge plays them)."""
    meta = _object(raw.get("meta"))
    client = meta.get("clientCode")
    organization_id = meta.get("organizationId")
    return (
        client if isinstance(client, str) and client else DEFAULT_CLIENT,
        organization_id
        if isinstance(organization_id, str) and organization_id
        else DEFAULT_ORGANIZATION_ID,
    )


# -- artifact inspect --------------------------------------------------------------------


def _names(value: Any) -> list[str]:
    return sorted(str(name) for name in value) if isinstance(value, (list, dict)) else []


def _key(value: Any) -> Any:
    """An artifact value usable as a dict key (a malformed artifact may hold a list)."""
    return value if value is None or isinstance(value, (str, int, float)) else json.dumps(value)


def _summarize_artifact(raw: Mapping[str, Any]) -> dict[str, Any]:
    """What an artifact holds and what of it can be decided on-device (JSON-ready)."""
    rules = _object(raw.get("rules"))
    activities: dict[Any, dict[str, Any]] = {}
    audiences: dict[str, set[Any]] = {}
    for kind in ("mboxes", "views"):
        for location, location_rules in _object(rules.get(kind)).items():
            for rule in location_rules if isinstance(location_rules, list) else []:
                meta = _object(_object(rule).get("meta"))
                activity_id = _key(meta.get("activity.id", _object(rule).get("activityId")))
                activity = activities.setdefault(
                    activity_id,
                    {
                        "id": activity_id,
                        "name": meta.get("activity.name"),
                        "type": meta.get("activity.type"),
                        "mboxes": [],
                        "views": [],
                        "experiences": [],
                        "audiences": [],
                    },
                )
                if location not in activity[kind]:
                    activity[kind].append(location)
                experience = _key(meta.get("experience.name", meta.get("experience.id")))
                if experience is not None and experience not in activity["experiences"]:
                    activity["experiences"].append(experience)
                audience_ids = meta.get("audience.ids")
                for audience in audience_ids if isinstance(audience_ids, list) else []:
                    if audience not in activity["audiences"]:
                        activity["audiences"].append(audience)
                    audiences.setdefault(str(audience), set()).add(activity_id)
    try:
        compile_artifact(raw)
        problem = None
    except TargetError as error:
        problem = str(error)
    meta = _object(raw.get("meta"))
    tokens = raw.get("responseTokens")
    return {
        "version": raw.get("version"),
        "client": meta.get("clientCode"),
        "environment": meta.get("environment"),
        "generatedAt": meta.get("generatedAt"),
        "globalMbox": raw.get("globalMbox") or "target-global-mbox",
        "geoTargetingEnabled": bool(raw.get("geoTargetingEnabled", False)),
        "responseTokens": [str(token) for token in tokens] if isinstance(tokens, list) else [],
        "activities": list(activities.values()),
        "audiences": {
            audience: sorted(activity_ids, key=str) for audience, activity_ids in audiences.items()
        },
        "onDevice": {
            "usable": problem is None,
            "problem": problem,
            "localMboxes": _names(raw.get("localMboxes")),
            "localViews": _names(raw.get("localViews")),
            "remoteMboxes": _names(raw.get("remoteMboxes")),
            "remoteViews": _names(raw.get("remoteViews")),
            "mboxesWithRules": _names(rules.get("mboxes")),
            "viewsWithRules": _names(rules.get("views")),
        },
    }


_ACTIVITY_TYPES = {"ab": "A/B test", "landing": "experience targeting"}


def _listing(names: Sequence[Any]) -> str:
    return ", ".join(str(name) for name in names) if names else "-"


def _print_summary(where: str, summary: Mapping[str, Any]) -> None:
    print(f"Artifact {where}")
    print(
        f"  version {summary['version']}, client {summary['client'] or '?'}, "
        f"environment {summary['environment'] or '?'}, generated {summary['generatedAt'] or '?'}"
    )
    print(
        f"  global mbox {summary['globalMbox']}, geo targeting "
        f"{'on' if summary['geoTargetingEnabled'] else 'off'}, "
        f"response tokens: {_listing(summary['responseTokens'])}"
    )
    activities = summary["activities"]
    print(f"\nActivities ({len(activities)})")
    for activity in activities:
        where_shown = [f"mbox {name}" for name in activity["mboxes"]] + [
            f"view {name}" for name in activity["views"]
        ]
        kind = _ACTIVITY_TYPES.get(activity["type"], activity["type"])
        print(f"  {activity['id']}  {activity['name']}  ({kind})")
        print(f"      on {_listing(where_shown)}")
        print(f"      experiences: {_listing(activity['experiences'])}")
        if activity["audiences"]:
            print(f"      audiences: {_listing(activity['audiences'])}")
    audiences = summary["audiences"]
    print(f"\nAudiences ({len(audiences)})")
    for audience, activity_ids in audiences.items():
        print(f"  {audience}: used by activity {_listing(activity_ids)}")
    on_device = summary["onDevice"]
    print("\nOn-device decisioning")
    if on_device["usable"]:
        print(
            f"  decided on-device: mboxes {_listing(on_device['localMboxes'])}; "
            f"views {_listing(on_device['localViews'])}"
        )
        print(
            f"  need the edge (remote): mboxes {_listing(on_device['remoteMboxes'])}; "
            f"views {_listing(on_device['remoteViews'])}"
        )
    else:
        print(f"  not usable: {on_device['problem']}")


def _cmd_artifact_inspect(args: argparse.Namespace) -> int:
    raw = _read_artifact(args.path, args.organization_id)
    summary = _summarize_artifact(raw)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(str(_artifact_path(args.path)), summary)
    return 0 if summary["onDevice"]["usable"] else _EXIT_FAILED


# -- artifact fetch ----------------------------------------------------------------------


async def _download(url: str, timeout_ms: float) -> tuple[bytes, httpx.Headers]:
    # Said before waiting: a slow server must not leave the terminal silent (stderr: stdout
    # may be the artifact).
    print(f"Downloading {url} (waiting up to {timeout_ms:g} ms)", file=sys.stderr, flush=True)
    try:
        async with (
            httpx.AsyncClient(timeout=timeout_ms / 1000, headers={"Accept-Encoding": "gzip, deflate"}) as http,
            http.stream("GET", url) as response,
        ):
            # Within MAX_RESPONSE_BYTES, decompressed too (ResponseDecodingError beyond).
            content = await read_limited(response)
    except httpx.TimeoutException:
        raise _Failure(
            f"cannot download {url}: no answer within {timeout_ms:g} ms (--timeout)"
        ) from None
    except httpx.HTTPError as error:
        # Some httpx errors have an empty message: the class name is the reason then.
        raise _Failure(f"cannot download {url}: {str(error) or type(error).__name__}") from None
    if response.status_code != 200:
        text = content[:200].decode("utf-8", errors="replace")
        raise _Failure(f"cannot download {url}: HTTP {response.status_code} {text}".rstrip())
    return content, response.headers


def _checked_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except httpx.InvalidURL as error:
        raise _UsageError(f"not a valid URL: {url!r} ({error})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host or not (port is None or 0 < port < 65536):
        raise _UsageError(f"not an http(s) URL with a host and a valid port: {url!r}")
    return parsed


def _cmd_artifact_fetch(args: argparse.Namespace) -> int:
    if args.location is None and not args.client:
        raise _UsageError("give --client (or the full URL with --location)")
    url = args.location or artifact_url(
        args.client,
        args.environment,
        property_token=args.property_token,
        obfuscated=args.binary,
    )
    obfuscated = _checked_url(url).path.lower().endswith(".bin")
    if obfuscated and not args.organization_id:
        raise _UsageError(f"{url} is obfuscated (rules.bin): give --organization-id")
    content, headers = anyio.run(_download, url, args.timeout)
    raw = _parse_artifact_bytes(content, url, obfuscated=obfuscated, organization_id=args.organization_id)
    data = json.dumps(raw, indent=2).encode() + b"\n" if obfuscated else content
    etag = headers.get("etag", "none")
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0
    try:
        Path(args.output).write_bytes(data)
    except OSError as error:
        raise _UsageError(f"cannot write {args.output}: {error.strerror or error}") from None
    rules = raw.get("rules") or {}
    print(
        f"Saved {url} to {args.output}: version {raw.get('version')}, "
        f"{len(rules.get('mboxes') or {})} mboxes, {len(rules.get('views') or {})} views "
        f"with rules, ETag {etag}"
    )
    return 0


# -- offers ------------------------------------------------------------------------------


def _parameters(pairs: Sequence[str]) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise _UsageError(f"--param takes NAME=VALUE, got {pair!r}")
        parameters[name] = value
    return parameters


def _offers_request(args: argparse.Namespace) -> dict[str, Any]:
    parameters = _parameters(args.param)
    mboxes = []
    for index, name in enumerate(args.mbox):
        mbox: dict[str, Any] = {"name": name, "index": index}
        if parameters:
            mbox["parameters"] = parameters
        mboxes.append(mbox)
    context: dict[str, Any] = {"channel": "web"}
    if args.url:
        context["address"] = {"url": args.url}
    if args.user_agent:
        context["userAgent"] = args.user_agent
    request: dict[str, Any] = {"context": context, "execute": {"mboxes": mboxes}}
    if args.tnt_id:
        request["id"] = {"tntId": args.tnt_id}
    return request


def _decisioning_method(args: argparse.Namespace) -> DecisioningMethodOption:
    if args.on_device:
        return "on-device"
    if args.hybrid:
        return "hybrid"
    return "server-side"


def _check_known_mboxes(raw: Mapping[str, Any], mboxes: Sequence[str]) -> None:
    rules = _object(raw.get("rules"))
    known = (
        set(_names(rules.get("mboxes")))
        | set(_names(raw.get("localMboxes")))
        | set(_names(raw.get("remoteMboxes")))
    )
    unknown = [name for name in mboxes if name not in known]
    if unknown:
        raise _UsageError(
            f"unknown mbox {', '.join(map(repr, unknown))}: the artifact knows "
            f"{_listing(sorted(known))}"
        )


async def _get_offers(options: ClientOptions, request: dict[str, Any]) -> Any:
    async with AsyncTargetClient.create(options) as client:
        return await client.get_offers({"request": request})


def _download_bytes(url: str, timeout_ms: float) -> bytes:
    content, _ = anyio.run(_download, url, timeout_ms)
    return content


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _load_artifact(value: str, organization_id: str | None, timeout_ms: float) -> dict[str, Any]:
    """The artifact at a URL, in a file, or the bundled sample."""
    if not _is_url(value):
        return _read_artifact(value, organization_id)
    obfuscated = _checked_url(value).path.lower().endswith(".bin")
    if obfuscated and not organization_id:
        raise _UsageError(f"{value} is obfuscated (rules.bin): give --organization-id")
    content = _download_bytes(value, timeout_ms)
    return _parse_artifact_bytes(
        content, value, obfuscated=obfuscated, organization_id=organization_id
    )


async def _offers_from_artifact(
    raw: dict[str, Any],
    method: DecisioningMethodOption,
    request: dict[str, Any],
    timeout_ms: float,
    organization: str | None,
) -> Any:
    client, organization_id = _edge_identity(raw)
    # The organization that the key of a rules.bin names is the one the edge plays.
    organization_id = organization or organization_id
    async with LocalEdge(artifact=raw, client=client, organization_id=organization_id) as edge:
        options = edge.client_options(decisioning_method=method, timeout=timeout_ms)
        if method != "server-side":
            options["polling_interval"] = 0
        return await _get_offers(options, request)


def _format_content(content: Any) -> str:
    if isinstance(content, str):
        return content
    return json.dumps(content, indent=2)


def _print_decisions(result: Any) -> None:
    response = _serde.unstructure(result.response)
    for mbox in (response.get("execute") or {}).get("mboxes") or []:
        options = mbox.get("options") or []
        print(mbox.get("name"))
        if not options:
            print("  (no offer)")
        for option in options:
            tokens = option.get("responseTokens") or {}
            activity = tokens.get("activity.name") or tokens.get("activity.id")
            experience = tokens.get("experience.name") or tokens.get("experience.id")
            if activity is not None:
                print(f"  activity: {activity}, experience: {experience}")
            text = _format_content(option.get("content")).replace("\n", "\n    ")
            print(f"  {option.get('type')}: {text}")
    visitor = response.get("id") or {}
    line = (
        f"\nDecided {result.meta.decisioning_method}, status {response.get('status')}, "
        f"tntId {visitor.get('tntId')}"
    )
    if response.get("edgeHost"):
        line += f", edge {response['edgeHost']}"
    if result.meta.remote_mboxes:
        line += f"; the edge must decide: {_listing(result.meta.remote_mboxes)}"
    print(line)


def _cmd_offers(args: argparse.Namespace) -> int:
    method = _decisioning_method(args)
    request = _offers_request(args)
    if args.artifact is not None:
        if args.client:
            raise _UsageError(
                "--artifact and --client do not go together: --artifact (with --organization-id "
                "for a rules.bin) decides on a local edge; --client and --organization-id ask "
                "Adobe's edge"
            )
        raw = _load_artifact(args.artifact, args.organization_id, args.timeout)
        _check_known_mboxes(raw, args.mbox)
        result = anyio.run(
            _offers_from_artifact, raw, method, request, args.timeout, args.organization_id
        )
    else:
        if not args.client or not args.organization_id:
            raise _UsageError(
                "give --artifact (a rules.json or rules.bin file or URL, or 'sample'; "
                "--organization-id too for a rules.bin), or --client and --organization-id "
                "for Adobe's edge"
            )
        options: ClientOptions = {
            "client": args.client,
            "organization_id": args.organization_id,
            "decisioning_method": method,
            "timeout": args.timeout,
        }
        if method != "server-side":
            options["polling_interval"] = 0
        result = anyio.run(_get_offers, options, request)
    if args.json:
        print(
            json.dumps(
                {
                    "decisioningMethod": result.meta.decisioning_method,
                    "remoteMboxes": result.meta.remote_mboxes,
                    "response": _serde.unstructure(result.response),
                },
                indent=2,
            )
        )
    else:
        _print_decisions(result)
    return 0


# -- edge serve ----------------------------------------------------------------------------


_LISTED = 8  # names listed per part of a logged request; the rest are counted


def _printable(value: Any, limit: int = 40) -> str:
    """A value a client sent, safe to print: control characters replaced, length capped."""
    text = "".join(char if char.isprintable() else "?" for char in str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _names_sent(items: Any) -> str:
    names = [
        _printable(item.get("name")) if isinstance(item, dict) and "name" in item else "(all)"
        for item in (items if isinstance(items, list) else [])
    ]
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _describe_delivery(body: Any) -> str:
    """What a Delivery request asked: offers for which mboxes and views, which notifications,
    and for which visitor (a short hash of its tntId: tells visitors apart, reveals nothing)."""
    if not isinstance(body, dict):
        return "not a JSON object"
    parts = []
    for section in ("execute", "prefetch"):
        asked = _object(body.get(section))
        if asked.get("mboxes"):
            parts.append(f"{section} mboxes {_names_sent(asked['mboxes'])}")
        if asked.get("views"):
            parts.append(f"{section} views {_names_sent(asked['views'])}")
        if "pageLoad" in asked:
            parts.append(f"{section} pageLoad")
    notifications = body.get("notifications")
    if isinstance(notifications, list) and notifications:
        kinds: dict[str, int] = {}
        for notification in notifications:
            kind = _printable(_object(notification).get("type", "?"), 20)
            kinds[kind] = kinds.get(kind, 0) + 1
        parts.append("notifications " + ", ".join(f"{kind} x{n}" for kind, n in kinds.items()))
    tnt_id = _object(body.get("id")).get("tntId")
    if isinstance(tnt_id, str) and tnt_id:
        digest = hashlib.sha256(tnt_id.encode("utf-8", "replace")).hexdigest()[:8]
        parts.append(f"visitor #{digest}")
    else:
        parts.append("new visitor")
    return "; ".join(parts)


def _log_requests(edge: LocalEdge) -> None:
    for request in edge.requests:
        status = "reset" if request.status is None else request.status
        line = f"{request.method} {request.path} -> {status} (Host: {_printable(request.host)})"
        if request.route == "delivery":
            line += f": {_describe_delivery(request.json)}"
        print(line)
    # A long-running server must not keep every request it ever received.
    edge.clear()
    sys.stdout.flush()


async def _serve(edge: LocalEdge, description: str) -> None:
    async with edge, anyio.create_task_group() as task_group:
        # Before the banner: a signal sent as soon as it is printed must not be lost.
        await task_group.start(_stop_on_signal, task_group.cancel_scope)
        print(f"Local Target edge listening on {edge.url} ({description})")
        print(f"  client {edge.client}, organization {edge.organization_id}")
        print("  POST /rest/v1/delivery")
        if edge.artifact is not None:
            base = f"/{edge.client}/{edge.environment}/v1"
            print(f"  GET  {base}/rules.json and {base}/rules.bin (also under /{{property}}/)")
        print("  GET  /v1/geo")
        # Not server_domain: a returning visitor's mboxedge<N> host would leave the edge.
        print(
            "Point an application at it with "
            f'transport=EdgeTransport("{edge.host}", {edge.port}) (from target_async.testing)'
        )
        print("Requests are logged below; Ctrl-C stops.", flush=True)
        try:
            while True:
                await anyio.sleep(0.2)
                _log_requests(edge)
        finally:
            _log_requests(edge)


async def _stop_on_signal(
    scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    """Stop serving on Ctrl-C or SIGTERM (`docker stop`, a process manager).

    Handled here rather than left to KeyboardInterrupt: a process started in the background
    of a shell inherits an ignored SIGINT, and SIGTERM would kill it without a word.
    asyncio has no signal handlers on Windows, where Ctrl-C raises KeyboardInterrupt.
    """
    if sys.platform == "win32":
        task_status.started()
        return
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            scope.cancel()
            return


def _cmd_edge_serve(args: argparse.Namespace) -> int:
    offers = _read_offers(args.offers) if args.offers is not None else None
    if args.artifact is not None:
        raw = _read_artifact(args.artifact, args.organization_id)
        client, organization_id = _edge_identity(raw)
        description = f"deciding from {_artifact_path(args.artifact)}"
    else:
        raw = None
        client, organization_id = DEFAULT_CLIENT, DEFAULT_ORGANIZATION_ID
        description = f"offers from {args.offers or 'the bundled sample offers'}"
    try:
        edge = LocalEdge(
            offers,
            artifact=raw,
            client=args.client or client,
            organization_id=args.organization_id or organization_id,
            environment=args.environment,
            host=args.host,
            port=args.port,
        )
    except TargetError as error:
        raise _UsageError(str(error)) from None
    try:
        anyio.run(_serve, edge, description)
    except OSError as error:
        raise _Failure(f"cannot listen on {args.host}:{args.port}: {error}") from None
    except KeyboardInterrupt:
        pass
    print("Local edge stopped.")
    return 0


# -- demo ----------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    anyio.run(run_demo)
    return 0


# -- parser --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(_EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _port(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value!r}")
    return int(value)


def _milliseconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number < math.inf:  # NaN too
        raise argparse.ArgumentTypeError(f"not a positive number of milliseconds: {value!r}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Adobe Target Delivery API tools: a local edge, decisions, artifacts.",
        epilog="Exit codes: 0 success, 1 the command failed, 2 bad usage or input.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    artifact_help = "rules artifact: a rules.json or rules.bin file, or 'sample' (bundled)"

    demo = commands.add_parser(
        "demo", help="run the demo against the built-in local edge (no account, no network)"
    )
    demo.set_defaults(run=_cmd_demo)

    edge = commands.add_parser("edge", help="the local Target edge")
    edge_commands = edge.add_subparsers(dest="edge_command", required=True, metavar="COMMAND")
    serve = edge_commands.add_parser(
        "serve",
        help="run a local edge until Ctrl-C",
        description="Serve the Delivery API, the artifact CDN paths and /v1/geo on loopback. "
        "With --artifact it decides server-side from the artifact; otherwise it answers "
        "from offers (--offers, default: the bundled sample offers).",
    )
    serve.add_argument("--artifact", metavar="PATH", help=artifact_help)
    serve.add_argument(
        "--offers",
        metavar="PATH",
        help="offers JSON (mbox name -> options); with --artifact, answers its remote mboxes",
    )
    serve.add_argument(
        "--port", type=_port, default=0, help="TCP port (default: a free one, printed)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default: 127.0.0.1)")
    serve.add_argument("--client", help="client code (default: the artifact's, else 'demo')")
    serve.add_argument(
        "--organization-id",
        help="IMS organization: rules.bin key, and needed to read a .bin --artifact",
    )
    serve.add_argument(
        "--environment", default="production", help="artifact environment path segment"
    )
    serve.set_defaults(run=_cmd_edge_serve)

    offers = commands.add_parser(
        "offers",
        help="decide mboxes and print the offers",
        description="Decide mboxes (execute) and print the offers. With --artifact (and "
        "--organization-id for an obfuscated rules.bin), a local edge serving the artifact is "
        "started and asked; with --client and --organization-id, Adobe's edge is.",
    )
    offers.add_argument(
        "--mbox", action="append", required=True, metavar="NAME", help="mbox (repeatable)"
    )
    method = offers.add_mutually_exclusive_group()
    method.add_argument("--on-device", action="store_true", help="decide on-device")
    method.add_argument("--hybrid", action="store_true", help="decide on-device when possible")
    offers.add_argument(
        "--artifact", metavar="PATH_OR_URL", help=f"{artifact_help}, or its URL"
    )
    offers.add_argument("--client", help="client code (Adobe's edge; not with --artifact)")
    offers.add_argument(
        "--organization-id",
        help="IMS organization id: with --client for Adobe's edge, or the key of a rules.bin "
        "--artifact",
    )
    offers.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="mbox parameter"
    )
    offers.add_argument("--url", help="page URL (context.address.url)")
    offers.add_argument("--user-agent", help="visitor's User-Agent (context.userAgent)")
    offers.add_argument("--tnt-id", help="visitor id, for a repeatable A/B allocation")
    offers.add_argument("--timeout", type=_milliseconds, default=10_000, help="ms (default 10000)")
    offers.add_argument("--json", action="store_true", help="print the response as JSON")
    offers.set_defaults(run=_cmd_offers)

    artifact = commands.add_parser("artifact", help="download or summarise rules artifacts")
    artifact_commands = artifact.add_subparsers(
        dest="artifact_command", required=True, metavar="COMMAND"
    )
    fetch = artifact_commands.add_parser(
        "fetch",
        help="download an artifact (rules.bin is de-obfuscated)",
        description="Download a rules artifact from Adobe's CDN (or --location) and write "
        "its JSON to --output or stdout.",
    )
    fetch.add_argument("--client", help="client code")
    fetch.add_argument("--environment", default="production", help="default: production")
    fetch.add_argument("--property-token", help="property (at_property) token")
    fetch.add_argument("--binary", action="store_true", help="fetch rules.bin, not rules.json")
    fetch.add_argument("--location", metavar="URL", help="full artifact URL (overrides the rest)")
    fetch.add_argument("--organization-id", help="IMS organization id: needed for rules.bin")
    fetch.add_argument("--output", metavar="PATH", help="file to write (default: stdout)")
    fetch.add_argument("--timeout", type=_milliseconds, default=10_000, help="ms (default 10000)")
    fetch.set_defaults(run=_cmd_artifact_fetch)

    inspect = artifact_commands.add_parser(
        "inspect",
        help="summarise an artifact",
        description="List an artifact's activities, mboxes, views and audiences, and what "
        "on-device decisioning can decide. Exits 1 when the engine cannot use the artifact.",
    )
    inspect.add_argument("path", metavar="PATH", help=artifact_help)
    inspect.add_argument("--organization-id", help="IMS organization id: needed for .bin")
    inspect.add_argument("--json", action="store_true", help="print the summary as JSON")
    inspect.set_defaults(run=_cmd_artifact_inspect)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, where a closed pipe is handled, not at exit
    except BrokenPipeError:
        # The reader went away (`... | head`): end quietly, as a command killed by SIGPIPE does.
        # Python flushes stdout again at exit, so it goes to devnull first (Python's signal docs).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return _EXIT_BROKEN_PIPE
    return code


def _run(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except _UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return _EXIT_USAGE
    except (_Failure, TargetError) as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return _EXIT_FAILED
    except RecursionError:
        # Input nested deeper than Python's stack (a JSON file, an artifact's conditions).
        print(f"{PROG}: error: the input is nested too deeply to process", file=sys.stderr)
        return _EXIT_USAGE
    return code
