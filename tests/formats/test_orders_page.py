from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.formats.orders_page import OrderLine, page_from_search, page_from_v0
from shared.spapi.models import OrderItem, OrdersList, SearchOrdersResponse

V0_PAGE: dict[str, Any] = {
    "Orders": [
        {
            "AmazonOrderId": "302-1111111-1111111",
            "PurchaseDate": "2026-11-26T08:00:00Z",
            "LastUpdateDate": "2026-11-26T09:00:00Z",
            "OrderStatus": "PartiallyShipped",
            "FulfillmentChannel": "MFN",
            "OrderTotal": {"CurrencyCode": "EUR", "Amount": "45.97"},
            "MarketplaceId": "A1PA6795UKMFR9",
        },
        {
            "AmazonOrderId": "302-2222222-2222222",
            "PurchaseDate": "2026-11-26T10:00:00Z",
            "LastUpdateDate": "2026-11-26T10:05:00Z",
            "OrderStatus": "Pending",
            "FulfillmentChannel": "AFN",
        },
        {
            "AmazonOrderId": "302-3333333-3333333",
            "PurchaseDate": "2026-11-26T11:00:00Z",
            "LastUpdateDate": "2026-11-26T11:05:00Z",
            "OrderStatus": "AwaitingSomethingNew",
        },
    ],
    "NextToken": "page-2",
}

V0_ITEMS = {
    "302-1111111-1111111": [
        {
            "ASIN": "B000TEST01",
            "SellerSKU": "TSHIRT-RED-M",
            "OrderItemId": "11",
            "QuantityOrdered": 2,
            "QuantityShipped": 1,
            "ItemPrice": {"CurrencyCode": "EUR", "Amount": "39.98"},
            "Title": "T-Shirt",
        },
        {"ASIN": "B000TEST02", "OrderItemId": "12", "QuantityOrdered": 1},
    ]
}


def test_v0_page_with_items() -> None:
    page = page_from_v0(
        OrdersList.model_validate(V0_PAGE),
        {k: [OrderItem.model_validate(i) for i in v] for k, v in V0_ITEMS.items()},
    )

    assert page.next_token == "page-2"
    first, pending, unknown = page.orders
    assert first.amazon_order_id == "302-1111111-1111111"
    assert first.status == "PARTIALLY_SHIPPED"
    assert first.purchase_date == datetime(2026, 11, 26, 8, tzinfo=UTC)
    assert first.fulfilled_by == "MERCHANT"
    assert (first.total, first.currency) == (Decimal("45.97"), "EUR")
    assert first.items == (
        OrderLine(
            order_item_id="11",
            sku="TSHIRT-RED-M",
            asin="B000TEST01",
            quantity=2,
            quantity_shipped=1,
            unit_price=Decimal("19.99"),
            title="T-Shirt",
        ),
        OrderLine(order_item_id="12", sku=None, asin="B000TEST02", quantity=1),
    )
    assert pending.status == "PENDING"
    assert pending.fulfilled_by == "AMAZON"
    assert pending.total is None and pending.items == ()
    assert unknown.status == "AWAITING_SOMETHING_NEW"


def test_search_orders_page() -> None:
    response = SearchOrdersResponse.model_validate(
        {
            "orders": [
                {
                    "orderId": "302-1111111-1111111",
                    "createdTime": "2026-11-26T08:00:00Z",
                    "lastUpdatedTime": "2026-11-26T09:00:00Z",
                    "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
                    "proceeds": {"grandTotal": {"amount": "45.97", "currencyCode": "EUR"}},
                    "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
                    "orderItems": [
                        {
                            "orderItemId": "11",
                            "quantityOrdered": 2,
                            "product": {
                                "asin": "B000TEST01",
                                "sellerSku": "TSHIRT-RED-M",
                                "title": "T-Shirt",
                                "price": {"unitPrice": {"amount": "19.99", "currencyCode": "EUR"}},
                            },
                            "fulfillment": {"quantityFulfilled": 0},
                        }
                    ],
                },
                {
                    "orderId": "302-2222222-2222222",
                    "createdTime": "2026-11-26T10:00:00Z",
                    "lastUpdatedTime": "2026-11-26T10:00:00Z",
                    "salesChannel": {"channelName": "AMAZON"},
                    "orderItems": [
                        {"orderItemId": "21", "quantityOrdered": 1, "product": {"asin": "B0"}}
                    ],
                },
            ]
        }
    )

    page = page_from_search(response)

    assert page.next_token is None
    first, bare = page.orders
    assert first.status == "UNSHIPPED"
    assert (first.total, first.currency) == (Decimal("45.97"), "EUR")
    assert first.marketplace_id == "A1PA6795UKMFR9"
    assert first.items == (
        OrderLine(
            order_item_id="11",
            sku="TSHIRT-RED-M",
            asin="B000TEST01",
            quantity=2,
            quantity_shipped=0,
            unit_price=Decimal("19.99"),
            title="T-Shirt",
        ),
    )
    assert bare.status == "UNKNOWN"  # FULFILLMENT not included in the request
    assert bare.total is None
    assert bare.items[0].sku is None
