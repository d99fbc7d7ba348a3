"""User code that mypy --strict must accept or reject (checked by tests/test_typing.py).

A trailing comment `E: text` marks a line on which mypy must report an error containing
`text`.
Every other line must type-check.
"""

from __future__ import annotations

from target_async import (
    AsyncTargetClient,
    AuthenticatedState,
    ClientOptions,
    DeliveryRequest,
    RequestOptions,
    TargetClient,
    Visitor,
)

AsyncTargetClient.create({"client": "acme", "organization_id": "o@AdobeOrg", "timeout": 3000})
AsyncTargetClient.create(client="acme", organization_id="o@AdobeOrg", decisioning_method="hybrid")
AsyncTargetClient.create({"client": "acme"}, organization_id="o@AdobeOrg")
AsyncTargetClient.create({"client": "acme", "organisation_id": "o@AdobeOrg"})  # E: Extra key "organisation_id" for TypedDict "ClientOptions"
AsyncTargetClient.create(client="acme", organisation_id="o@AdobeOrg")  # E: Unexpected keyword argument "organisation_id"
AsyncTargetClient.create(client="acme", timeout="3000")  # E: Argument "timeout" to "create" of "AsyncTargetClient" has incompatible type "str"
AsyncTargetClient.create(client="acme", decisioning_method="local")  # E: Argument "decisioning_method" to "create" of "AsyncTargetClient" has incompatible type "Literal['local']"
TargetClient.create({"client": "acme", "secure": "yes"})  # E: TypedDict item "secure" has type "bool"

options: ClientOptions = {"client": "acme", "organization_id": "o@AdobeOrg"}
options["telemetry_enabled"] = False
options["telemetry"] = False  # E: TypedDict "ClientOptions" has no key "telemetry"

call: RequestOptions = {"request": DeliveryRequest(), "session_id": "s"}
call_typo: RequestOptions = {"reqeust": DeliveryRequest()}  # E: Extra key "reqeust" for TypedDict "RequestOptions"


async def calls(client: AsyncTargetClient, request: DeliveryRequest) -> None:
    await client.get_offers({"reqeust": request})  # E: No overload variant of "get_offers"
    await client.get_offers(reqeust=request)  # E: Unexpected keyword argument "reqeust"
    await client.get_offers(request=request, timeout="3000")  # E: No overload variant of "get_offers"
    await client.get_offers({"request": request, "target_cookie": 42})  # E: No overload variant of "get_offers"
    await client.get_offers(call, target_cookie="c")
    await client.get_attributes("feature-flags")  # E: No overload variant of "get_attributes"
    await client.get_attributes(["feature-flags"], call)
    await client.send_notifications({"request": request, "sesion_id": "s"})  # E: No overload variant of "send_notifications"
    client.enqueue_notifications(request=request, callback=print)  # E: Unexpected keyword argument "callback"
    client.enqueue_notifications(call)
    await client.flush(timeout=1000)


def sync_calls(client: TargetClient, request: DeliveryRequest) -> None:
    client.get_offers(request=request, timout=3000)  # E: Unexpected keyword argument "timout"
    client.get_attributes("feature-flags")  # E: No overload variant of "get_attributes"
    client.enqueue_notifications(call)


async def identity(client: AsyncTargetClient, request: DeliveryRequest) -> None:
    visitor = Visitor("o@AdobeOrg", "-1124106680%7CMCMID%7C0731")
    await client.get_offers(request=request, visitor=visitor, consumer_id="hero")
    await client.get_offers(request=request, visitor_cookie="MCMID|1", customer_ids={"crm": "c-1", "web": None})
    await client.get_offers(request=request, customer_ids={"crm": {"id": "c-1", "auth_state": 1}})
    await client.get_offers(request=request, customer_ids={"crm": {"id": "c", "auth_state": AuthenticatedState.AUTHENTICATED}})
    await client.get_offers(request=request, visitor="AMCV")  # E: No overload variant of "get_offers"
    await client.get_offers(request=request, customer_ids={"crm": 1})  # E: Dict entry 0 has incompatible type
