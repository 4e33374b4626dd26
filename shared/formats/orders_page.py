"""One page of orders, from Orders v0 or Orders 2026-01-01, as the records the system keeps.

Both API versions end up in one shape with one status vocabulary (2026's upper-case
names), so the importer and the ``amazon.orders`` topic do not care which API an account
is on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.spapi.models.orders_2026 import Order2026, SearchOrdersResponse
from shared.spapi.models.orders_v0 import Order, OrderItem, OrdersList

# Orders v0 status → the 2026 vocabulary.
V0_STATUS = {
    "Pending": "PENDING",
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
    "InvoiceUnconfirmed": "INVOICE_UNCONFIRMED",
}
V0_CHANNEL = {"MFN": "MERCHANT", "AFN": "AMAZON"}

# searchOrders leaves status and totals out unless asked: pass this as ``included_data``.
SEARCH_INCLUDED_DATA = ("FULFILLMENT", "PROCEEDS")


@dataclass(frozen=True, slots=True)
class OrderLine:
    order_item_id: str
    sku: str | None
    asin: str | None
    quantity: int
    quantity_shipped: int | None = None
    unit_price: Decimal | None = None  # per unit, in the order's currency
    title: str | None = None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    amazon_order_id: str
    status: str  # PENDING, UNSHIPPED, PARTIALLY_SHIPPED, SHIPPED, CANCELLED, …
    purchase_date: datetime
    last_update_date: datetime
    marketplace_id: str | None
    fulfilled_by: str | None  # MERCHANT or AMAZON
    total: Decimal | None
    currency: str | None
    items: tuple[OrderLine, ...]


@dataclass(frozen=True, slots=True)
class OrdersPage:
    orders: tuple[OrderRecord, ...]
    next_token: str | None  # None on the last page


def page_from_v0(page: OrdersList, items_by_order: Mapping[str, Sequence[OrderItem]]) -> OrdersPage:
    """A getOrders page with each order's getOrderItems result (v0 lists items apart).

    An order absent from ``items_by_order`` gets no items: the caller decides whether
    fetching them failed or was skipped.
    """
    records = tuple(
        _from_v0(order, items_by_order.get(order.amazon_order_id, ())) for order in page.orders
    )
    return OrdersPage(records, page.next_token)


def page_from_search(page: SearchOrdersResponse) -> OrdersPage:
    """A searchOrders page (items inline). Totals need ``includedData=PROCEEDS``."""
    return OrdersPage(tuple(_from_2026(order) for order in page.orders), page.next_token)


def _from_v0(order: Order, items: Sequence[OrderItem]) -> OrderRecord:
    total = order.order_total
    return OrderRecord(
        amazon_order_id=order.amazon_order_id,
        status=V0_STATUS.get(order.order_status, _upper_snake(order.order_status)),
        purchase_date=order.purchase_date,
        last_update_date=order.last_update_date,
        marketplace_id=order.marketplace_id,
        fulfilled_by=V0_CHANNEL.get(order.fulfillment_channel or "", order.fulfillment_channel),
        total=total.amount if total else None,
        currency=total.currency_code if total else None,
        items=tuple(
            OrderLine(
                order_item_id=item.order_item_id,
                sku=item.seller_sku,
                asin=item.asin,
                quantity=item.quantity_ordered,
                quantity_shipped=item.quantity_shipped,
                unit_price=_unit_price(item),
                title=item.title,
            )
            for item in items
        ),
    )


def _unit_price(item: OrderItem) -> Decimal | None:
    # v0 ItemPrice is the price of the whole line (unit price times quantity).
    if item.item_price is None or item.item_price.amount is None or item.quantity_ordered <= 0:
        return None
    return item.item_price.amount / item.quantity_ordered


def _from_2026(order: Order2026) -> OrderRecord:
    grand_total = order.proceeds.grand_total if order.proceeds else None
    fulfillment = order.fulfillment
    lines: list[OrderLine] = []
    for item in order.order_items:
        product = item.product
        unit = product.price.unit_price if product.price else None
        lines.append(
            OrderLine(
                order_item_id=item.order_item_id,
                sku=product.seller_sku,
                asin=product.asin,
                quantity=item.quantity_ordered,
                quantity_shipped=item.fulfillment.quantity_fulfilled if item.fulfillment else None,
                unit_price=unit.amount if unit else None,
                title=product.title,
            )
        )
    return OrderRecord(
        amazon_order_id=order.order_id,
        # Without includedData=FULFILLMENT Amazon leaves the status out.
        status=fulfillment.fulfillment_status if fulfillment else "UNKNOWN",
        purchase_date=order.created_time,
        last_update_date=order.last_updated_time,
        marketplace_id=order.sales_channel.marketplace_id,
        fulfilled_by=fulfillment.fulfilled_by if fulfillment else None,
        total=grand_total.amount if grand_total else None,
        currency=grand_total.currency_code if grand_total else None,
        items=tuple(lines),
    )


def _upper_snake(name: str) -> str:
    """A status this module does not know yet, in the same vocabulary: FooBar → FOO_BAR."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper()
