"""Web integrations: the framework-neutral helpers, the Starlette/FastAPI and aiohttp modules,
and the example apps of the docs served for real against the local edge."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import pytest
import uvicorn
from aiohttp import web
from aiohttp.test_utils import TestServer, make_mocked_request
from openapi import validate_delivery_request
from starlette.requests import Request
from starlette.responses import Response

from target_async import (
    AsyncTargetClient,
    ClientStateError,
    Context,
    Cookie,
    DeliveryRequest,
    DeliveryResponse,
    ExecuteRequest,
    Geo,
    MboxRequest,
    ResponseMeta,
    TargetDeliveryResponse,
    TargetValidationError,
    VisitorId,
    _serde,  # the wire form, to compare and validate what is sent
)
from target_async._visitor import SUPPLEMENTAL_DATA_ID
from target_async.integrations import aiohttp as aiohttp_integration
from target_async.integrations import (
    amcv_cookie,
    marketing_cloud_visitor_id,
    request_context,
    response_cookies,
    visitor_options,
)
from target_async.integrations import starlette as starlette_integration
from target_async.testing import DEFAULT_CLUSTER, DEFAULT_ORGANIZATION_ID, LocalEdge

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
ORG = "ABC123ABC123ABC123ABC123@AdobeOrg"
MCMID = "12345678901234567890123456789012345678"
AMCV_VALUE = quote(
    f"-1124106680|MCIDTS|19000|MCMID|{MCMID}|MCAAMLH-1642000000|9|MCAAMB-1642000000|blob|vVersion|5.3.0",
    safe="",
)
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
HOME = DeliveryRequest(execute=ExecuteRequest(mboxes=[MboxRequest(name="home", index=0)]))
MBOX_COOKIE = "session#abc#9999999999|PC#tnt-1.28_0#9999999999"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- framework-neutral helpers -------------------------------------------------------------


def test_marketing_cloud_visitor_id_is_read_from_the_amcv_cookie() -> None:
    assert marketing_cloud_visitor_id(AMCV_VALUE) == MCMID
    # Already decoded by a framework: read the same.
    assert marketing_cloud_visitor_id(f"-1|MCIDTS|19000|MCMID|{MCMID}") == MCMID
    # Read as the official SDKs read it: no digest needed, any value (it only goes in the body).
    assert marketing_cloud_visitor_id("MCMID|123") == "123"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "garbage",
        "-1|MCIDTS|19000",
        "-1|MCMID|",
        "-1|MCMID|%E0%A4%A",  # a bad escape: no cookie at all
        "T",
    ],
)
def test_a_malformed_amcv_cookie_gives_no_visitor_id(value: str | None) -> None:
    assert marketing_cloud_visitor_id(value) is None


def test_visitor_options_carry_the_browser_cookies_and_the_ecid() -> None:
    cookies = {
        "mbox": MBOX_COOKIE,
        "mboxEdgeCluster": "28",
        f"AMCV_{ORG}": AMCV_VALUE,
        "other": "x",
    }
    options = visitor_options(cookies, HOME, organization_id=ORG)
    assert options["target_cookie"] == MBOX_COOKIE
    assert options["target_location_hint"] == "28"
    assert options["visitor_cookie"] == AMCV_VALUE
    request = options["request"]
    assert request.id is None, "the client reads the ECID from visitor_cookie"
    assert request.execute == HOME.execute
    assert HOME.id is None, "the caller's request must not be changed"


def test_visitor_options_without_cookies_name_no_cookie_options() -> None:
    options = visitor_options({}, HOME, organization_id=ORG)
    assert set(options) == {"request"}
    assert options["request"] == HOME


def test_the_amcv_cookie_of_another_organization_is_not_read() -> None:
    options = visitor_options({f"AMCV_{ORG}": AMCV_VALUE}, HOME, organization_id="OTHER@AdobeOrg")
    assert "visitor_cookie" not in options


def test_the_amcv_cookie_is_found_under_either_spelling_of_its_name() -> None:
    encoded_name = f"AMCV_{ORG}".replace("@", "%40")
    assert visitor_options({encoded_name: AMCV_VALUE}, HOME, organization_id=ORG)["visitor_cookie"] == AMCV_VALUE
    assert amcv_cookie({f"AMCV_{ORG}": "a", encoded_name: "b"}, ORG) == "a"
    assert amcv_cookie({}, ORG) is None


def test_what_the_request_sets_wins_over_the_page_context() -> None:
    mine = DeliveryRequest(
        context=Context(user_agent="my agent", geo=Geo(city="Dublin")),
        id=VisitorId(marketing_cloud_visitor_id="mine", tnt_id="t"),
        execute=HOME.execute,
    )
    page = request_context(
        "https://shop.example/p?x=1", {"user-agent": "browser"}, "203.0.113.9"
    )
    options = visitor_options({f"AMCV_{ORG}": AMCV_VALUE}, mine, organization_id=ORG, context=page)
    request = options["request"]
    assert request.context.user_agent == "my agent"
    assert request.context.geo == Geo(city="Dublin", ip_address="203.0.113.9")
    assert request.context.address.url == "https://shop.example/p?x=1"
    assert request.context.channel == "web"
    assert request.id == VisitorId(marketing_cloud_visitor_id="mine", tnt_id="t")
    assert mine.context == Context(user_agent="my agent", geo=Geo(city="Dublin"))


def test_a_wire_dict_request_is_filled_in_wire_form() -> None:
    mine = {"execute": {"mboxes": [{"name": "home", "index": 0}]}, "context": {"userAgent": "mine"}}
    page = request_context("https://shop.example/", {"user-agent": "browser"}, None)
    options = visitor_options({f"AMCV_{ORG}": AMCV_VALUE}, mine, organization_id=ORG, context=page)
    assert options["request"] == {
        "execute": {"mboxes": [{"name": "home", "index": 0}]},
        "context": {
            "userAgent": "mine",
            "channel": "web",
            "address": {"url": "https://shop.example/"},
        },
    }
    assert mine["context"] == {"userAgent": "mine"}


def test_an_earlier_result_and_explicit_options_win_over_the_browser_cookies() -> None:
    earlier = _result(
        Cookie("mbox", "session#new#9999999999", 1860), Cookie("mboxEdgeCluster", "31", 1860)
    )
    cookies = {"mbox": MBOX_COOKIE, "mboxEdgeCluster": "28"}
    options = visitor_options(cookies, HOME, result=earlier)
    assert (options["target_cookie"], options["target_location_hint"]) == (
        "session#new#9999999999",
        "31",
    )
    options = visitor_options(cookies, HOME, target_location_hint="7", session_id="s-1")
    assert (options["target_location_hint"], options["session_id"]) == ("7", "s-1")
    # A result without a location hint keeps the browser's.
    options = visitor_options(cookies, HOME, result=_result(Cookie("mbox", "v", 1), None))
    assert options["target_location_hint"] == "28"


def test_visitor_options_refuse_a_misplaced_or_wrong_request() -> None:
    with pytest.raises(TargetValidationError, match="second positional argument"):
        visitor_options({}, request=HOME)
    with pytest.raises(TargetValidationError, match="DeliveryRequest is required"):
        visitor_options({}, "home")  # type: ignore[arg-type]


def test_request_context_reads_the_page_request() -> None:
    headers = {
            "user-agent": BROWSER_UA,
            "referer": "https://www.google.com/",
            "sec-ch-ua": '"Chromium";v="120", "Not A Brand";v="99"',
            "sec-ch-ua-mobile": "?1",
            "sec-ch-ua-platform": '"Android"',
            "sec-ch-ua-model": '"Pixel 7"',
        }
    context = request_context("https://shop.example/product/1?color=red", headers, "2001:db8::1")
    assert _serde.unstructure(context) == {
        "channel": "web",
        "address": {
            "url": "https://shop.example/product/1?color=red",
            "referringUrl": "https://www.google.com/",
        },
        "userAgent": BROWSER_UA,
        "clientHints": {
            "mobile": True,
            "model": "Pixel 7",
            "platform": "Android",
            "browserUAWithMajorVersion": '"Chromium";v="120", "Not A Brand";v="99"',
        },
        "geo": {"ipAddress": "2001:db8::1"},
    }
    validate_delivery_request(
        _serde.unstructure(DeliveryRequest(context=context, execute=HOME.execute))
    )


def test_request_context_drops_what_the_delivery_api_would_refuse() -> None:
    long_url = "https://shop.example/?q=" + "x" * 5000
    context = request_context(long_url, {"sec-ch-ua-mobile": "maybe"}, "testclient")
    assert context.address is not None and context.address.url == long_url[:4096]
    assert context.geo is None
    assert context.client_hints is None
    assert context.user_agent is None
    validate_delivery_request(
        _serde.unstructure(DeliveryRequest(context=context, execute=HOME.execute))
    )


def test_response_cookies_are_the_mbox_cookie_then_the_location_hint() -> None:
    mbox = Cookie("mbox", "session#s#1", 1860)
    hint = Cookie("mboxEdgeCluster", "35", 1860)
    assert response_cookies(_result(mbox, hint)) == [mbox, hint]
    assert response_cookies(_result(mbox, None)) == [mbox]
    with pytest.raises(TypeError, match="get_offers"):
        response_cookies({"target_cookie": mbox})  # type: ignore[arg-type]


def test_importing_the_sdk_imports_no_web_framework() -> None:
    code = (
        "import sys, target_async, target_async.integrations\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'starlette', 'fastapi', 'aiohttp', 'flask', 'uvicorn'})\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("module", "blocked", "extra"),
    [("starlette", "starlette.requests", "starlette"), ("aiohttp", "aiohttp", "aiohttp")],
)
def test_an_integration_without_its_framework_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, module: str, blocked: str, extra: str
) -> None:
    name = f"target_async.integrations.{module}"
    monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, blocked, None)
    with pytest.raises(ImportError, match=rf"pip install target-async\[{extra}\]"):
        importlib.import_module(name)


def _result(target_cookie: Cookie, hint: Cookie | None) -> TargetDeliveryResponse:
    return TargetDeliveryResponse(
        response=DeliveryResponse(status=200),
        request_body={},
        target_cookie=target_cookie,
        target_location_hint_cookie=hint,
        meta=ResponseMeta(decisioning_method="server-side"),
    )


# -- Starlette / FastAPI module ------------------------------------------------------------


def _starlette_request(scheme: str = "http", state: dict[str, Any] | None = None) -> Request:
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "method": "GET",
            "path": "/p",
            "query_string": b"a=1",
            "server": ("shop.example", 443 if scheme == "https" else 80),
            "client": ("198.51.100.7", 50000),
            "headers": [
                (b"host", b"shop.example"),
                (b"user-agent", BROWSER_UA.encode()),
                (
                    b"cookie",
                    f"mbox={MBOX_COOKIE}; mboxEdgeCluster=28; AMCV_{ORG}={AMCV_VALUE}".encode(),
                ),
            ],
            "state": state or {},
        }
    )


def test_starlette_target_options_read_the_request() -> None:
    options = starlette_integration.target_options(_starlette_request(), HOME, organization_id=ORG)
    assert options["target_cookie"] == MBOX_COOKIE
    assert options["target_location_hint"] == "28"
    assert options["visitor_cookie"] == AMCV_VALUE
    request = options["request"]
    assert request.context.address.url == "http://shop.example/p?a=1"
    assert request.context.user_agent == BROWSER_UA
    assert request.context.geo.ip_address == "198.51.100.7"


def test_starlette_organization_defaults_to_the_app_client() -> None:
    client = AsyncTargetClient.create({"client": "acme", "organization_id": ORG})
    with_client = _starlette_request(state={starlette_integration.STATE_KEY: client})
    assert starlette_integration.get_target_client(with_client) is client
    assert starlette_integration.target_options(with_client)["visitor_cookie"] == AMCV_VALUE
    assert "visitor_cookie" not in starlette_integration.target_options(_starlette_request())


def test_starlette_without_the_lifespan_client_says_how_to_add_it() -> None:
    with pytest.raises(ClientStateError, match="lifespan=target_lifespan"):
        starlette_integration.get_target_client(_starlette_request())


def test_starlette_cookies_get_path_max_age_and_flags() -> None:
    result = _result(
        Cookie("mbox", "session#s#1|PC#t.35_0#2", 63244800), Cookie("mboxEdgeCluster", "35", 1860)
    )
    response = Response()
    starlette_integration.set_target_cookies(_starlette_request("https"), response, result)
    assert response.headers.getlist("set-cookie") == [
        "mbox=session#s#1|PC#t.35_0#2; Max-Age=63244800; Path=/; SameSite=lax; Secure",
        "mboxEdgeCluster=35; Max-Age=1860; Path=/; SameSite=lax; Secure",
    ]
    response = Response()
    starlette_integration.set_target_cookies(_starlette_request("http"), response, result)
    assert "Secure" not in response.headers["set-cookie"]
    response = Response()
    starlette_integration.set_target_cookies(
        _starlette_request("http"),
        response,
        result,
        secure=True,
        same_site="strict",
        domain=".shop.example",
        http_only=True,
    )
    assert response.headers.getlist("set-cookie")[1] == (
        "mboxEdgeCluster=35; Domain=.shop.example; HttpOnly; Max-Age=1860; Path=/; SameSite=strict; Secure"
    )


# -- aiohttp module --------------------------------------------------------------------------


def _aiohttp_request(app: web.Application | None = None) -> web.Request:
    return make_mocked_request(
        "GET",
        "/p?a=1",
        headers={
            "Host": "shop.example",
            "User-Agent": BROWSER_UA,
            "Cookie": f"mbox={MBOX_COOKIE}; mboxEdgeCluster=28; AMCV_{ORG}={AMCV_VALUE}",
        },
        app=app,
    )


def test_aiohttp_target_options_read_the_request() -> None:
    app = web.Application()
    client = AsyncTargetClient.create({"client": "acme", "organization_id": ORG})
    app[aiohttp_integration.TARGET_CLIENT] = client
    request = _aiohttp_request(app)
    assert aiohttp_integration.get_target_client(request) is client
    options = aiohttp_integration.target_options(request, HOME)
    assert options["target_cookie"] == MBOX_COOKIE
    assert options["target_location_hint"] == "28"
    assert options["visitor_cookie"] == AMCV_VALUE
    assert options["request"].context.address.url == "http://shop.example/p?a=1"
    assert options["request"].context.user_agent == BROWSER_UA


def test_aiohttp_without_the_cleanup_ctx_client_says_how_to_add_it() -> None:
    with pytest.raises(ClientStateError, match="target_cleanup_ctx"):
        aiohttp_integration.get_target_client(_aiohttp_request(web.Application()))


def test_aiohttp_cookies_get_path_max_age_and_flags() -> None:
    result = _result(Cookie("mbox", "session#s#1", 1860), Cookie("mboxEdgeCluster", "35", 1860))
    response = web.Response()
    aiohttp_integration.set_target_cookies(_aiohttp_request(), response, result)
    assert [c.output(header="").strip() for c in response.cookies.values()] == [
        "mbox=session#s#1; Max-Age=1860; Path=/; SameSite=Lax",
        "mboxEdgeCluster=35; Max-Age=1860; Path=/; SameSite=Lax",
    ]
    response = web.Response()
    aiohttp_integration.set_target_cookies(
        _aiohttp_request(), response, result, secure=True, domain=".shop.example"
    )
    assert response.cookies["mbox"]["secure"] is True
    assert response.cookies["mbox"]["domain"] == ".shop.example"


# -- the example apps, served for real ---------------------------------------------------------


class _ClosingProbe(httpx.AsyncBaseTransport):
    """The edge's transport, recording that the client closed it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        self.closed = True
        await self.inner.aclose()


@contextlib.asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Run `app` under uvicorn on a free 127.0.0.1 port, lifespan included."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="on", ws="none", log_config=None, log_level="warning")
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
                await anyio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@contextlib.asynccontextmanager
async def serve_aiohttp(app: web.Application) -> AsyncIterator[str]:
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/")


async def _browse_twice(base_url: str) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
    """A browser (one cookie jar, with an ECID cookie) loading the home page twice, then the flags."""
    async with httpx.AsyncClient(base_url=base_url, headers={"User-Agent": BROWSER_UA}) as browser:
        browser.cookies.set(f"AMCV_{DEFAULT_ORGANIZATION_ID}", AMCV_VALUE, domain="127.0.0.1")
        first = await browser.get("/", headers={"Referer": "https://www.google.com/"})
        second = await browser.get("/")
        flags = await browser.get("/flags")
    return first, second, flags


def _check_same_visitor(
    edge: LocalEdge, first: dict[str, Any], second: dict[str, Any], set_cookies: list[str]
) -> None:
    tnt_id = first["tnt_id"]
    assert tnt_id.endswith(f".{DEFAULT_CLUSTER}_0")
    assert first["offer"] == second["offer"] == "HOME OFFER"
    assert second["tnt_id"] == tnt_id
    assert second["edge_host"] == f"mboxedge{DEFAULT_CLUSTER}.tt.omtrdc.net"
    assert any(
        c.startswith("mbox=session#") and f"|PC#{tnt_id}#" in c and "Path=/" in c
        for c in set_cookies
    )
    assert any(c.startswith(f"mboxEdgeCluster={DEFAULT_CLUSTER};") for c in set_cookies)

    new_visit, return_visit = edge.requests[0], edge.requests[1]
    # First visit: no cookie, so no tntId and no cluster yet; the edge creates both.
    assert new_visit.host == "demo.tt.omtrdc.net"
    assert new_visit.json["id"] == {"marketingCloudVisitorId": MCMID}
    # Second visit: the browser's cookies bring the same tntId, session and edge cluster.
    assert return_visit.host == f"mboxedge{DEFAULT_CLUSTER}.tt.omtrdc.net"
    assert return_visit.json["id"] == {"tntId": tnt_id, "marketingCloudVisitorId": MCMID}
    # The rest of the AMCV cookie: Audience Manager fields, and an A4T id for each page.
    for visit in (new_visit, return_visit):
        assert visit.json["experienceCloud"]["audienceManager"] == {"locationHint": 9, "blob": "blob"}
        assert SUPPLEMENTAL_DATA_ID.fullmatch(visit.json["experienceCloud"]["analytics"]["supplementalDataId"])
    # What the page renders for its Visitor API: the state after this page's call.
    for page, visit in ((first, new_visit), (second, return_visit)):
        sdid = visit.json["experienceCloud"]["analytics"]["supplementalDataId"]
        assert page["visitor_state"] == {
            DEFAULT_ORGANIZATION_ID: {
                "sdid": {
                    "supplementalDataIDCurrent": sdid,
                    "supplementalDataIDCurrentConsumed": {"payload:target-global-mbox": True},
                    "supplementalDataIDLastConsumed": {},
                }
            }
        }
    assert return_visit.query["sessionId"] == new_visit.query["sessionId"]
    for recorded in edge.requests:
        validate_delivery_request(recorded.json)


def _check_page_context(edge: LocalEdge, base_url: str) -> None:
    context = edge.requests[0].json["context"]
    assert context["address"] == {"url": f"{base_url}/", "referringUrl": "https://www.google.com/"}
    assert context["userAgent"] == BROWSER_UA
    assert context["geo"] == {"ipAddress": "127.0.0.1"}


FLAGS = {
    "enabled": True,
    "searchProviderId": 143,
    "buttonColor": "#0055ff",
    "checkoutFlow": "one-page",
}


@pytest.mark.anyio
async def test_fastapi_example_keeps_the_visitor_across_requests() -> None:
    async with LocalEdge() as edge:
        probe = _ClosingProbe(edge.transport())
        app = load_example("fastapi_app").create_app(edge.client_options(transport=probe))
        async with serve_asgi(app) as base_url:
            first, second, flags = await _browse_twice(base_url)
            assert not probe.closed
        assert probe.closed, "the lifespan closes the client at shutdown"
    assert first.status_code == second.status_code == flags.status_code == 200
    _check_same_visitor(edge, first.json(), second.json(), first.headers.get_list("set-cookie"))
    _check_page_context(edge, base_url)
    assert flags.json() == FLAGS
    assert edge.requests[2].json["id"]["tntId"] == first.json()["tnt_id"]


@pytest.mark.anyio
async def test_fastapi_own_lifespan_example_reports_clicks_for_the_visitor() -> None:
    async with LocalEdge() as edge:
        app = load_example("fastapi_own_lifespan").create_app(edge.client_options())
        async with serve_asgi(app) as base_url, httpx.AsyncClient(base_url=base_url) as browser:
            first = await browser.get("/checkout")
            second = await browser.get("/checkout")
            clicked = await browser.post("/clicked/checkout-promo")
            assert clicked.json() == {"queued": True}
        # The server has shut down: the lifespan closed the client, which sent the queued click.
    assert first.json() == second.json() == {"flow": "one-page"}
    tnt_id = edge.requests[1].json["id"]["tntId"]
    assert edge.requests[0].json.get("id") is None
    [click] = edge.notifications
    assert (click.type, click.data["mbox"], click.tnt_id) == ("click", {"name": "checkout-promo"}, tnt_id)
    assert click.host == f"mboxedge{DEFAULT_CLUSTER}.tt.omtrdc.net"
    assert click.session_id == edge.requests[0].query["sessionId"]


@pytest.mark.anyio
async def test_starlette_example_keeps_the_visitor_across_requests() -> None:
    async with LocalEdge() as edge:
        app = load_example("starlette_app").create_app(edge.client_options())
        async with serve_asgi(app) as base_url, httpx.AsyncClient(base_url=base_url) as browser:
            first = await browser.get("/")
            second = await browser.get("/")
    # The page hands the server's visitor state to its Visitor API, with this call's A4T id.
    for page, recorded in zip((first, second), edge.requests, strict=True):
        heading, script = page.text.split("\n")
        assert heading == "<h1>HOME OFFER</h1>"
        prefix = f'<script>Visitor.getInstance("{edge.organization_id}", {{serverState: '
        assert script.startswith(prefix) and script.endswith("});</script>")
        state = json.loads(script.removeprefix(prefix).removesuffix("});</script>"))
        sdid = recorded.json["experienceCloud"]["analytics"]["supplementalDataId"]
        assert state[edge.organization_id]["sdid"]["supplementalDataIDCurrent"] == sdid
    tnt_id = edge.requests[1].json["id"]["tntId"]
    assert f"|PC#{tnt_id}#" in first.headers["set-cookie"]
    assert edge.requests[1].host == f"mboxedge{DEFAULT_CLUSTER}.tt.omtrdc.net"
    assert edge.requests[1].query["sessionId"] == edge.requests[0].query["sessionId"]


@pytest.mark.anyio
async def test_aiohttp_example_keeps_the_visitor_across_requests() -> None:
    async with LocalEdge() as edge:
        probe = _ClosingProbe(edge.transport())
        app = load_example("aiohttp_app").create_app(edge.client_options(transport=probe))
        async with serve_aiohttp(app) as base_url:
            first, second, flags = await _browse_twice(base_url)
            assert not probe.closed
        assert probe.closed, "cleanup_ctx closes the client at cleanup"
    assert first.status_code == second.status_code == flags.status_code == 200
    _check_same_visitor(edge, first.json(), second.json(), first.headers.get_list("set-cookie"))
    _check_page_context(edge, base_url)
    assert flags.json() == FLAGS


@pytest.fixture
def edge_thread() -> Iterator[LocalEdge]:
    with LocalEdge.run_in_thread() as edge:
        yield edge


def test_flask_example_keeps_the_visitor_across_requests(edge_thread: LocalEdge) -> None:
    app = load_example("flask_app").create_app(edge_thread.client_options())
    try:
        browser = app.test_client()
        browser.set_cookie(f"AMCV_{DEFAULT_ORGANIZATION_ID}", AMCV_VALUE)
        first = browser.get(
            "/", headers={"User-Agent": BROWSER_UA, "Referer": "https://www.google.com/"}
        )
        second = browser.get("/", headers={"User-Agent": BROWSER_UA})
        flags = browser.get("/flags")
    finally:
        app.extensions["target_client"].close()
    assert first.status_code == second.status_code == flags.status_code == 200
    _check_same_visitor(
        edge_thread, first.get_json(), second.get_json(), first.headers.getlist("Set-Cookie")
    )
    _check_page_context(edge_thread, "http://localhost")
    assert flags.get_json() == FLAGS
