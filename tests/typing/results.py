"""What each documented call form returns, as mypy --strict sees it (tests/test_typing.py).

A trailing comment `R: type` marks a `reveal_type(...)` whose revealed type must be `type`.
"""

from __future__ import annotations

from typing_extensions import reveal_type

from target_async import (
    AsyncTargetClient,
    AttributesProvider,
    CallbackOptions,
    DeliveryRequest,
    TargetClient,
    TargetDeliveryResponse,
)


def on_offers(response: TargetDeliveryResponse) -> None: ...
def on_attributes(attributes: AttributesProvider) -> None: ...
def on_error(error: BaseException) -> None: ...


async def async_forms(client: AsyncTargetClient, request: DeliveryRequest) -> None:
    reveal_type(AsyncTargetClient.create(client="acme", organization_id="o@AdobeOrg"))  # R: target_async._client.AsyncTargetClient
    reveal_type(await client.get_offers({"request": request}))  # R: target_async._delivery.TargetDeliveryResponse
    reveal_type(await client.get_offers(request=request))  # R: target_async._delivery.TargetDeliveryResponse
    reveal_type(await client.get_offers({"request": request}, session_id="s"))  # R: target_async._delivery.TargetDeliveryResponse
    # The official SDK's callback form: one `await` gives the future, as at run time.
    reveal_type(await client.get_offers({"request": request, "callback": on_offers}))  # R: target_async._future.TargetFuture[target_async._delivery.TargetDeliveryResponse]
    reveal_type(await client.get_offers({"request": request, "err_callback": on_error}))  # R: target_async._future.TargetFuture[target_async._delivery.TargetDeliveryResponse]
    reveal_type(await client.get_offers(request=request, callback=on_offers))  # R: target_async._future.TargetFuture[target_async._delivery.TargetDeliveryResponse]
    reveal_type(await client.get_offers({"request": request}, err_callback=on_error))  # R: target_async._future.TargetFuture[target_async._delivery.TargetDeliveryResponse]
    future = await client.get_offers(request=request, callback=on_offers)
    reveal_type(await future)  # R: target_async._delivery.TargetDeliveryResponse
    reveal_type(future.get(1.0))  # R: target_async._delivery.TargetDeliveryResponse
    with_callback: CallbackOptions = {"request": request, "callback": on_offers}
    reveal_type(await client.get_offers(with_callback))  # R: target_async._future.TargetFuture[target_async._delivery.TargetDeliveryResponse]
    reveal_type(await client.get_attributes(["flags"]))  # R: target_async._attributes.AttributesProvider
    reveal_type(await client.get_attributes(["flags"], {"callback": on_attributes}))  # R: target_async._future.TargetFuture[target_async._attributes.AttributesProvider]
    reveal_type(await client.get_attributes(["flags"], err_callback=on_error))  # R: target_async._future.TargetFuture[target_async._attributes.AttributesProvider]
    reveal_type(await client.send_notifications({"request": request}))  # R: target_async._delivery.TargetDeliveryResponse
    reveal_type(await client.send_notifications(request=request, callback=on_offers))  # R: target_async._future.TargetFuture[target_async._delivery.TargetDeliveryResponse]
    reveal_type(client.enqueue_notifications({"request": request}))  # R: bool


def sync_forms(client: TargetClient, request: DeliveryRequest) -> None:
    reveal_type(TargetClient.create({"client": "acme", "organization_id": "o@AdobeOrg"}))  # R: target_async._sync.TargetClient
    reveal_type(client.get_offers({"request": request}))  # R: target_async._delivery.TargetDeliveryResponse
    reveal_type(client.get_offers({"request": request, "callback": on_offers}))  # R: target_async._future.TargetFuture[target_async._delivery.TargetDeliveryResponse]
    reveal_type(client.get_offers(request=request, err_callback=on_error))  # R: target_async._future.TargetFuture[target_async._delivery.TargetDeliveryResponse]
    reveal_type(client.get_attributes(["flags"], callback=on_attributes))  # R: target_async._future.TargetFuture[target_async._attributes.AttributesProvider]
    reveal_type(client.send_notifications({"request": request}))  # R: target_async._delivery.TargetDeliveryResponse
