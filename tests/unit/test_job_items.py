"""Per-type validation of job items: what a shop gets told when its request is wrong."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from shared.job_items import (
    FulfillmentItem,
    InvalidJobPayload,
    OrdersImportParams,
    QtyItem,
    SendProductItem,
    parse_request_payload,
)
from shared.jobs import JobType

FULFILMENT = {
    "amazon_order_id": "028-1234567-1234567",
    "carrier": "DHL",
    "tracking_number": "0034",
    "shipped_at": "2026-11-27T10:00:00Z",
    "items": [{"order_item_id": "1", "quantity": 1}],
}


def test_valid_items_parse_to_typed_models() -> None:
    items, params = parse_request_payload(JobType.UPDATE_QTY, [{"sku": "A", "quantity": 0}], None)
    assert items == [QtyItem(sku="A", quantity=0)] and params is None
    items, _ = parse_request_payload(
        JobType.SEND_PRODUCTS,
        [{"sku": "A", "ean": "4006381333931", "quantity": 2, "price": "9.99", "currency": "EUR"}],
        None,
    )
    assert isinstance(items[0], SendProductItem) and items[0].price == Decimal("9.99")
    items, _ = parse_request_payload(JobType.ORDERS_FULFILLMENT, [FULFILMENT], None)
    assert isinstance(items[0], FulfillmentItem)
    _, params = parse_request_payload(JobType.ORDERS_IMPORT, None, {"since": "2026-11-01T00:00Z"})
    assert isinstance(params, OrdersImportParams) and params.page_size == 100


@pytest.mark.parametrize(
    ("job_type", "items", "params", "reason"),
    [
        (JobType.UPDATE_QTY, [{"sku": "A", "quantity": -1}], None, "items.0.quantity"),
        (JobType.UPDATE_QTY, [{"sku": "A", "quantity": 1.5}], None, "valid integer"),
        (JobType.UPDATE_QTY, [], None, "needs at least one item"),
        (JobType.UPDATE_PRICE, [{"sku": "A", "price": 0, "currency": "EUR"}], None, "price"),
        (JobType.UPDATE_PRICE, [{"sku": "A", "price": 1, "currency": "euro"}], None, "currency"),
        (
            JobType.SEND_PRODUCTS,
            [{"sku": "A", "quantity": 1, "price": 1, "currency": "EUR"}],
            None,
            "one of ean, upc or asin",
        ),
        (JobType.STOP_PRODUCTS, [{"sku": "A"}, {"sku": "A"}], None, "items repeat A"),
        (JobType.STOP_PRODUCTS, [{"sku": "A", "quantity": 1}], None, "Extra inputs"),
        (
            JobType.ORDERS_FULFILLMENT,
            [{**FULFILMENT, "shipped_at": "2026-11-27T10:00:00"}],
            None,
            "time zone",
        ),
        (JobType.ORDERS_IMPORT, None, {}, "params.since"),
        (JobType.INVENTORY_REPORT, [{"sku": "A"}], None, "takes params, not items"),
    ],
)
def test_invalid_items_are_explained(
    job_type: JobType,
    items: list[dict[str, Any]] | None,
    params: dict[str, Any] | None,
    reason: str,
) -> None:
    with pytest.raises(InvalidJobPayload) as info:
        parse_request_payload(job_type, items, params)
    assert reason in str(info.value)
