"""Orders v0 and 2026-01-01 over HTTP: paging, items, shipment confirmation (call and feed)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.conftest import MARKETPLACE, PROCESSING_DONE_S, Sandbox


def order(number: int, *, status: str = "Unshipped", items: int = 1) -> dict[str, Any]:
    return {
        "AmazonOrderId": f"028-0000000-000000{number}",
        "PurchaseDate": f"2025-11-0{number}T10:00:00Z",
        "LastUpdateDate": f"2025-11-0{number}T11:00:00Z",
        "OrderStatus": status,
        "FulfillmentChannel": "MFN",
        "SalesChannel": "Amazon.de",
        "MarketplaceId": MARKETPLACE,
        "OrderTotal": {"CurrencyCode": "EUR", "Amount": "5.00"},
        "OrderItems": [
            {
                "OrderItemId": f"{number}000{line}",
                "SellerSKU": "PEN",
                "ASIN": "B000PEN001",
                "QuantityOrdered": 2,
                "ItemPrice": {"CurrencyCode": "EUR", "Amount": "5.00"},
            }
            for line in range(1, items + 1)
        ],
    }


ORDERS = [order(1), order(2, items=2), order(3, status="Pending"), order(4), order(5)]


@pytest.fixture
async def orders_auth(sandbox: Sandbox) -> dict[str, str]:
    await sandbox.register(orders=ORDERS)
    return await sandbox.login()


async def get_orders(sandbox: Sandbox, auth: dict[str, str], **params: str) -> dict[str, Any]:
    params.setdefault("MarketplaceIds", MARKETPLACE)
    response = await sandbox.client.get("/orders/v0/orders", params=params, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_get_orders_pages_with_next_token(
    sandbox: Sandbox, orders_auth: dict[str, str]
) -> None:
    first = await get_orders(
        sandbox, orders_auth, CreatedAfter="2025-11-02T00:00:00Z", MaxResultsPerPage="2"
    )
    payload = first["payload"]
    assert [o["AmazonOrderId"][-1] for o in payload["Orders"]] == ["2", "3"]
    assert payload["CreatedBefore"] == "2026-01-01T00:00:00.000Z"  # "now" of the manual clock
    assert "OrderItems" not in payload["Orders"][0]
    assert payload["Orders"][0]["NumberOfItemsUnshipped"] == 4
    second = await get_orders(sandbox, orders_auth, NextToken=payload["NextToken"])
    assert [o["AmazonOrderId"][-1] for o in second["payload"]["Orders"]] == ["4", "5"]
    assert "NextToken" not in second["payload"]


async def test_get_orders_filters(sandbox: Sandbox, orders_auth: dict[str, str]) -> None:
    window = {"CreatedAfter": "2025-11-01T00:00:00Z", "CreatedBefore": "2025-11-03T23:00:00Z"}
    body = await get_orders(sandbox, orders_auth, **window, OrderStatuses="Pending")
    assert [o["AmazonOrderId"][-1] for o in body["payload"]["Orders"]] == ["3"]
    updated = await get_orders(sandbox, orders_auth, LastUpdatedAfter="2025-11-05T10:30:00Z")
    assert [o["AmazonOrderId"][-1] for o in updated["payload"]["Orders"]] == ["5"]
    assert "LastUpdatedBefore" in updated["payload"]


@pytest.mark.parametrize(
    "params",
    [
        {"CreatedAfter": "2025-11-01T00:00:00Z", "MarketplaceIds": ""},
        {"MarketplaceIds": MARKETPLACE},
        {
            "MarketplaceIds": MARKETPLACE,
            "CreatedAfter": "x",
            "LastUpdatedAfter": "2025-11-01T00:00:00Z",
        },
        {
            "MarketplaceIds": MARKETPLACE,
            "LastUpdatedAfter": "2025-11-01T00:00:00Z",
            "CreatedBefore": "2025-11-02T00:00:00Z",
        },
        {"MarketplaceIds": MARKETPLACE, "CreatedAfter": "not a date"},
        {
            "MarketplaceIds": MARKETPLACE,
            "CreatedAfter": "2025-11-01T00:00:00Z",
            "MaxResultsPerPage": "101",
        },
        {
            "MarketplaceIds": MARKETPLACE,
            "CreatedAfter": "2025-11-01T00:00:00Z",
            "OrderStatuses": "Lost",
        },
        {"MarketplaceIds": MARKETPLACE, "NextToken": "garbage!"},
    ],
)
async def test_get_orders_parameter_rules(
    sandbox: Sandbox, orders_auth: dict[str, str], params: dict[str, str]
) -> None:
    response = await sandbox.client.get("/orders/v0/orders", params=params, headers=orders_auth)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


async def test_get_orders_quota_is_twenty_then_one_a_minute(
    sandbox: Sandbox, orders_auth: dict[str, str]
) -> None:
    params = {"MarketplaceIds": MARKETPLACE, "CreatedAfter": "2025-11-01T00:00:00Z"}
    codes = [
        (
            await sandbox.client.get("/orders/v0/orders", params=params, headers=orders_auth)
        ).status_code
        for _ in range(21)
    ]
    assert codes == [200] * 20 + [429]
    sandbox.clock.advance(59)  # 0.0167/s: not yet a whole token
    early = await sandbox.client.get("/orders/v0/orders", params=params, headers=orders_auth)
    assert early.status_code == 429
    sandbox.clock.advance(1)
    again = await sandbox.client.get("/orders/v0/orders", params=params, headers=orders_auth)
    assert again.status_code == 200
    assert again.headers["x-amzn-RateLimit-Limit"] == "0.0167"


async def test_get_order_items(sandbox: Sandbox, orders_auth: dict[str, str]) -> None:
    response = await sandbox.client.get(
        "/orders/v0/orders/028-0000000-0000002/orderItems", headers=orders_auth
    )
    payload = response.json()["payload"]
    assert payload["AmazonOrderId"] == "028-0000000-0000002"
    assert [
        (i["OrderItemId"], i["QuantityOrdered"], i["QuantityShipped"])
        for i in payload["OrderItems"]
    ] == [
        ("20001", 2, 0),
        ("20002", 2, 0),
    ]
    missing = await sandbox.client.get("/orders/v0/orders/nope/orderItems", headers=orders_auth)
    assert missing.status_code == 404


def confirmation(*items: tuple[str, int], tracking: str = "1Z999") -> dict[str, Any]:
    return {
        "marketplaceId": MARKETPLACE,
        "packageDetail": {
            "packageReferenceId": "1",
            "carrierCode": "UPS",
            "trackingNumber": tracking,
            "shipDate": "2026-11-27T10:00:00Z",
            "orderItems": [{"orderItemId": oid, "quantity": qty} for oid, qty in items],
        },
    }


async def test_confirm_shipment(sandbox: Sandbox, orders_auth: dict[str, str]) -> None:
    path = "/orders/v0/orders/028-0000000-0000002/shipmentConfirmation"
    response = await sandbox.client.post(path, json=confirmation(("20001", 2)), headers=orders_auth)
    assert response.status_code == 204
    assert response.content == b""
    orders = (await sandbox.client.get("/_sandbox/sellers/A2SELLER/orders")).json()["orders"]
    second = next(o for o in orders if o["AmazonOrderId"].endswith("2"))
    assert second["OrderStatus"] == "PartiallyShipped"
    assert second["shipments"][0]["tracking_number"] == "1Z999"

    too_many = await sandbox.client.post(
        path, json=confirmation(("20002", 3), tracking="T2"), headers=orders_auth
    )
    assert too_many.status_code == 400
    unknown_item = await sandbox.client.post(
        path, json=confirmation(("99999", 1), tracking="T3"), headers=orders_auth
    )
    assert unknown_item.status_code == 400
    pending = await sandbox.client.post(
        "/orders/v0/orders/028-0000000-0000003/shipmentConfirmation",
        json=confirmation(("30001", 1)),
        headers=orders_auth,
    )
    assert pending.status_code == 400
    unknown_order = await sandbox.client.post(
        "/orders/v0/orders/nope/shipmentConfirmation",
        json=confirmation(("1", 1)),
        headers=orders_auth,
    )
    assert unknown_order.status_code == 404
    incomplete = await sandbox.client.post(
        path, json={"marketplaceId": MARKETPLACE}, headers=orders_auth
    )
    assert incomplete.status_code == 400


async def test_search_orders_2026(sandbox: Sandbox, orders_auth: dict[str, str]) -> None:
    response = await sandbox.client.get(
        "/orders/2026-01-01/orders",
        params={
            "createdAfter": "2025-11-02T00:00:00Z",
            "maxResultsPerPage": "3",
            "includedData": "FULFILLMENT,PROCEEDS",
        },
        headers=orders_auth,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"orders", "pagination", "createdBefore"}
    first = body["orders"][0]
    assert first["orderId"] == "028-0000000-0000002"
    assert first["createdTime"] == "2025-11-02T10:00:00.000Z"
    assert first["salesChannel"] == {
        "channelName": "AMAZON",
        "marketplaceId": MARKETPLACE,
        "marketplaceName": "Amazon.de",
    }
    assert first["fulfillment"] == {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"}
    assert first["proceeds"] == {"grandTotal": {"amount": "5.00", "currencyCode": "EUR"}}
    item = first["orderItems"][0]
    assert item["product"] == {
        "asin": "B000PEN001",
        "sellerSku": "PEN",
        "price": {"unitPrice": {"amount": "2.50", "currencyCode": "EUR"}},
    }
    assert item["fulfillment"] == {"quantityFulfilled": 0, "quantityUnfulfilled": 2}
    following = await sandbox.client.get(
        "/orders/2026-01-01/orders",
        params={"paginationToken": body["pagination"]["nextToken"]},
        headers=orders_auth,
    )
    rest = following.json()
    assert [o["orderId"][-1] for o in rest["orders"]] == ["5"]
    assert "pagination" not in rest
    assert "fulfillment" not in rest["orders"][0]  # not asked for on this page

    pending = await sandbox.client.get(
        "/orders/2026-01-01/orders",
        params={"createdAfter": "2025-11-01T00:00:00Z", "fulfillmentStatuses": "PENDING"},
        headers=orders_auth,
    )
    assert [o["orderId"][-1] for o in pending.json()["orders"]] == ["3"]


async def test_fulfillment_feed_ships_orders(sandbox: Sandbox, orders_auth: dict[str, str]) -> None:
    document = (
        b'<?xml version="1.0" encoding="UTF-8"?><AmazonEnvelope>'
        b"<Header><DocumentVersion>1.01</DocumentVersion><MerchantIdentifier>A2SELLER</MerchantIdentifier></Header>"
        b"<MessageType>OrderFulfillment</MessageType>"
        b"<Message><MessageID>1</MessageID><OrderFulfillment>"
        b"<AmazonOrderID>028-0000000-0000001</AmazonOrderID>"
        b"<FulfillmentDate>2026-11-27T10:00:00Z</FulfillmentDate>"
        b"<FulfillmentData><CarrierCode>DHL</CarrierCode>"
        b"<ShipperTrackingNumber>003404341</ShipperTrackingNumber></FulfillmentData>"
        b"<Item><AmazonOrderItemCode>10001</AmazonOrderItemCode><Quantity>2</Quantity></Item>"
        b"</OrderFulfillment></Message>"
        b"<Message><MessageID>2</MessageID><OrderFulfillment>"
        b"<AmazonOrderID>028-9999999-9999999</AmazonOrderID>"
        b"<FulfillmentDate>2026-11-27T10:00:00Z</FulfillmentDate>"
        b"<FulfillmentData><CarrierCode>DHL</CarrierCode>"
        b"<ShipperTrackingNumber>003404342</ShipperTrackingNumber></FulfillmentData>"
        b"</OrderFulfillment></Message></AmazonEnvelope>"
    )
    feed_id = await sandbox.submit(
        orders_auth,
        document,
        feed_type="POST_ORDER_FULFILLMENT_DATA",
        content_type="text/xml; charset=UTF-8",
    )
    sandbox.clock.advance(PROCESSING_DONE_S)
    assert (await sandbox.feed(orders_auth, feed_id))["processingStatus"] == "DONE"
    report = (await sandbox.result_document(orders_auth, feed_id)).decode()
    assert "<MessagesSuccessful>1</MessagesSuccessful>" in report
    assert "<AmazonOrderID>028-9999999-9999999</AmazonOrderID>" in report
    body = await get_orders(
        sandbox,
        orders_auth,
        AmazonOrderIds="028-0000000-0000001",
        CreatedAfter="2025-01-01T00:00:00Z",
    )
    [shipped] = body["payload"]["Orders"]
    assert shipped["OrderStatus"] == "Shipped"
    assert shipped["LastUpdateDate"] == "2026-01-01T00:01:30.000Z"  # when the feed finished
