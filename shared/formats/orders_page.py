"""One page of orders from Orders 2026-01-01 (``searchOrders``) as plain records: the
orders import reads these rather than Amazon's models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from shared.spapi.models.orders_2026 import Order2026, SearchOrdersResponse

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


def page_from_search(page: SearchOrdersResponse) -> OrdersPage:
    """A searchOrders page (items inline). Totals need ``includedData=PROCEEDS``."""
    return OrdersPage(tuple(_from_2026(order) for order in page.orders), page.next_token)


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
