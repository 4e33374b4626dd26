from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from shared.formats.orders_page import OrderLine, page_from_search
from shared.spapi.models import SearchOrdersResponse


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
    assert first.purchase_date == datetime(2026, 11, 26, 8, tzinfo=UTC)
    assert first.fulfilled_by == "MERCHANT"
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
