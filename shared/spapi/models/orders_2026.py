"""Orders API 2026-01-01 ``searchOrders``: orders with their items inline, camelCase.

Names that clash with Orders v0 carry the version (``Order2026``); the sub-objects the
system does not read (buyer, recipient, tax, packages, …) are kept as plain JSON.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.spapi.models.base import CamelModel


class FulfillmentStatus(StrEnum):
    PENDING_AVAILABILITY = "PENDING_AVAILABILITY"
    PENDING = "PENDING"
    UNSHIPPED = "UNSHIPPED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"
    UNFULFILLABLE = "UNFULFILLABLE"


class Money2026(CamelModel):
    amount: Decimal
    currency_code: str


class SalesChannel(CamelModel):
    channel_name: str
    marketplace_id: str | None = None
    marketplace_name: str | None = None


class ProceedsBreakdown(CamelModel):
    type: str
    status: str | None = None
    subtotal: Money2026


class OrderProceeds(CamelModel):
    grand_total: Money2026 | None = None
    breakdowns: list[ProceedsBreakdown] | None = None


class DateTimeRange(CamelModel):
    earliest_date_time: datetime | None = None
    latest_date_time: datetime | None = None


class OrderFulfillment(CamelModel):
    # A plain string, not FulfillmentStatus: an unknown future status must not fail a page.
    fulfillment_status: str
    fulfilled_by: str | None = None  # AMAZON or MERCHANT
    fulfillment_service_level: str | None = None
    ship_by_window: DateTimeRange | None = None
    deliver_by_window: DateTimeRange | None = None
    label_printing_window: DateTimeRange | None = None
    promise_calculation_inputs: dict[str, Any] | None = None


class ItemCondition(CamelModel):
    condition_type: str | None = None
    condition_subtype: str | None = None
    condition_note: str | None = None


class ItemPrice(CamelModel):
    unit_price: Money2026 | None = None
    price_designation: str | None = None


class ItemProduct(CamelModel):
    asin: str | None = None
    title: str | None = None
    seller_sku: str | None = None
    condition: ItemCondition | None = None
    price: ItemPrice | None = None
    serial_numbers: list[str] | None = None
    customization: dict[str, Any] | None = None


class ItemProceeds(CamelModel):
    proceeds_total: Money2026 | None = None
    breakdowns: list[dict[str, Any]] | None = None


class ItemFulfillment(CamelModel):
    quantity_fulfilled: int | None = None
    quantity_unfulfilled: int | None = None
    picking: dict[str, Any] | None = None
    packing: dict[str, Any] | None = None
    shipping: dict[str, Any] | None = None


class OrderItem2026(CamelModel):
    order_item_id: str
    quantity_ordered: int
    measurement: dict[str, Any] | None = None
    associated_order_items: list[dict[str, Any]] | None = None
    programs: list[str] | None = None
    product: ItemProduct
    proceeds: ItemProceeds | None = None
    expense: dict[str, Any] | None = None
    promotion: dict[str, Any] | None = None
    cancellation: dict[str, Any] | None = None
    fulfillment: ItemFulfillment | None = None
    tax: dict[str, Any] | None = None


class Order2026(CamelModel):
    order_id: str
    order_aliases: list[dict[str, Any]] | None = None
    created_time: datetime
    last_updated_time: datetime
    programs: list[str] | None = None
    associated_orders: list[dict[str, Any]] | None = None
    sales_channel: SalesChannel
    buyer: dict[str, Any] | None = None
    recipient: dict[str, Any] | None = None
    proceeds: OrderProceeds | None = None
    payment: dict[str, Any] | None = None
    tax: dict[str, Any] | None = None
    fulfillment: OrderFulfillment | None = None
    order_items: list[OrderItem2026]
    packages: list[dict[str, Any]] | None = None
    fulfillment_orders: list[dict[str, Any]] | None = None


class OrdersPagination(CamelModel):
    next_token: str | None = None  # sent back as the ``paginationToken`` parameter


class SearchOrdersResponse(CamelModel):
    orders: list[Order2026]
    pagination: OrdersPagination | None = None  # absent on the last page
    last_updated_before: datetime | None = None
    created_before: datetime | None = None

    @property
    def next_token(self) -> str | None:
        return self.pagination.next_token if self.pagination else None
