"""A seller's orders: registration, shipping (the one place an order changes), and their
rendering as Orders v0 and Orders 2026-01-01 JSON.

Orders are registered in Orders v0 shape (PascalCase) and kept that way; the 2026 view is
derived from it, so both APIs always show the same order. Fields the sandbox does not
model are passed through untouched, so a test can seed whatever an Amazon order carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from services.amazon_sandbox.clock import isoformat, parse_iso

# Orders v0 OrderStatus → Orders 2026-01-01 FulfillmentStatus.
FULFILLMENT_STATUS_2026: dict[str, str] = {
    "PendingAvailability": "PENDING_AVAILABILITY",
    "Pending": "PENDING",
    "Unshipped": "UNSHIPPED",
    "PartiallyShipped": "PARTIALLY_SHIPPED",
    "Shipped": "SHIPPED",
    "Canceled": "CANCELLED",
    "Unfulfillable": "UNFULFILLABLE",
    "InvoiceUnconfirmed": "UNSHIPPED",
}
ORDER_STATUSES_V0 = frozenset(FULFILLMENT_STATUS_2026)
SHIPPABLE_STATUSES = frozenset({"Unshipped", "PartiallyShipped"})


class InvalidOrder(ValueError):
    """A registered order lacks what Amazon always sends."""


class ShipmentRejected(Exception):
    """A shipment confirmation Amazon would refuse, with the reason."""

    def __init__(self, message: str, *, not_found: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.not_found = not_found  # the order or one of its items does not exist


@dataclass(frozen=True, slots=True)
class Shipment:
    carrier: str
    tracking_number: str
    ship_date: str  # ISO-8601
    # (OrderItemId, quantity); a quantity of None asks for every unit still unshipped, and
    # no items at all for the whole order. Stored shipments always carry real quantities.
    items: tuple[tuple[str, int | None], ...]
    shipping_method: str | None = None
    package_reference_id: str | None = None
    source: str = "confirmShipment"  # or the feed type that carried it

    def to_json(self) -> dict[str, Any]:
        return {
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "ship_date": self.ship_date,
            "shipping_method": self.shipping_method,
            "package_reference_id": self.package_reference_id,
            "source": self.source,
            "items": [{"order_item_id": oid, "quantity": qty} for oid, qty in self.items],
        }


@dataclass
class Order:
    data: dict[str, Any]  # the Orders v0 Order object, status fields kept current
    items: list[dict[str, Any]]  # Orders v0 OrderItem objects, QuantityShipped kept current
    purchased: datetime
    updated: datetime
    shipments: list[Shipment] = field(default_factory=list)

    @property
    def order_id(self) -> str:
        return str(self.data["AmazonOrderId"])

    @property
    def status(self) -> str:
        return str(self.data["OrderStatus"])

    def item(self, order_item_id: str) -> dict[str, Any] | None:
        return next((i for i in self.items if i["OrderItemId"] == order_item_id), None)


def order_from_admin(raw: dict[str, Any]) -> Order:
    """An order as a test registers it: an Orders v0 Order plus ``OrderItems``."""
    data = {key: value for key, value in raw.items() if key != "OrderItems"}
    for name in ("AmazonOrderId", "PurchaseDate"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise InvalidOrder(f"order needs {name}")
    data.setdefault("OrderStatus", "Unshipped")
    if data["OrderStatus"] not in ORDER_STATUSES_V0:
        raise InvalidOrder(f"unknown OrderStatus {data['OrderStatus']!r}")
    data.setdefault("LastUpdateDate", data["PurchaseDate"])
    data.setdefault("FulfillmentChannel", "MFN")
    try:
        purchased = parse_iso(data["PurchaseDate"])
        updated = parse_iso(data["LastUpdateDate"])
    except ValueError as exc:
        raise InvalidOrder(f"order {data['AmazonOrderId']}: {exc}") from exc
    items: list[dict[str, Any]] = []
    for raw_item in raw.get("OrderItems") or []:
        if not isinstance(raw_item, dict):
            raise InvalidOrder("OrderItems entries must be objects")
        item = dict(raw_item)
        for name in ("OrderItemId", "ASIN"):
            if not isinstance(item.get(name), str) or not item[name]:
                raise InvalidOrder(f"order item needs {name}")
        ordered = item.get("QuantityOrdered")
        if isinstance(ordered, bool) or not isinstance(ordered, int) or ordered < 1:
            raise InvalidOrder("QuantityOrdered must be an integer >= 1")
        shipped = ordered if data["OrderStatus"] == "Shipped" else 0
        item.setdefault("QuantityShipped", shipped)
        items.append(item)
    order = Order(data=data, items=items, purchased=purchased, updated=updated)
    _refresh_counts(order)
    return order


def ship(order: Order, shipment: Shipment, now: datetime) -> None:
    """Confirm a shipment: check all of it first, then apply all of it, or nothing.

    Without items, every unshipped unit ships; an item without quantity ships all of its
    unshipped units. Confirming again a shipment the order already has (same tracking
    number, same lines or nothing left to ship) is accepted and changes nothing: a client
    that retries after a lost answer must not see an error, nor ship twice.
    """
    for earlier in order.shipments:
        if earlier.tracking_number == shipment.tracking_number and (
            order.status == "Shipped" or earlier.items == shipment.items
        ):
            return
    if order.status not in SHIPPABLE_STATUSES:
        raise ShipmentRejected(
            f"Order {order.order_id} is {order.status} and cannot be confirmed as shipped."
        )
    requested = shipment.items or tuple((item["OrderItemId"], None) for item in order.items)
    quantities: dict[str, int] = {}
    for order_item_id, quantity in requested:
        item = order.item(order_item_id)
        if item is None:
            raise ShipmentRejected(
                f"Order item {order_item_id} is not part of order {order.order_id}.",
                not_found=True,
            )
        remaining = _unshipped(item) - quantities.get(order_item_id, 0)
        units = remaining if quantity is None else quantity
        if quantity is None and units == 0 and not shipment.items:
            continue  # "ship the whole order" skips lines that already left
        if units < 1 or units > remaining:
            raise ShipmentRejected(
                f"Quantity {units} of order item {order_item_id} exceeds the "
                f"{remaining} unit(s) still unshipped."
            )
        quantities[order_item_id] = quantities.get(order_item_id, 0) + units
    lines = tuple(quantities.items())
    for order_item_id, quantity in lines:
        item = order.item(order_item_id)
        assert item is not None
        item["QuantityShipped"] = int(item["QuantityShipped"]) + quantity
    order.shipments.append(
        Shipment(
            carrier=shipment.carrier,
            tracking_number=shipment.tracking_number,
            ship_date=shipment.ship_date,
            items=tuple(lines),
            shipping_method=shipment.shipping_method,
            package_reference_id=shipment.package_reference_id,
            source=shipment.source,
        )
    )
    fully = all(_unshipped(item) == 0 for item in order.items)
    order.data["OrderStatus"] = "Shipped" if fully else "PartiallyShipped"
    order.updated = now
    order.data["LastUpdateDate"] = isoformat(now)
    _refresh_counts(order)


def _unshipped(item: dict[str, Any]) -> int:
    return int(item["QuantityOrdered"]) - int(item.get("QuantityShipped", 0))


def _refresh_counts(order: Order) -> None:
    shipped = sum(int(item.get("QuantityShipped", 0)) for item in order.items)
    ordered = sum(int(item["QuantityOrdered"]) for item in order.items)
    if order.items:
        order.data["NumberOfItemsShipped"] = shipped
        order.data["NumberOfItemsUnshipped"] = ordered - shipped


# --- selection and paging ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """A getOrders / searchOrders query after its parameters were checked.

    ``by_update`` selects on LastUpdateDate instead of PurchaseDate; ``before`` is always
    set (the request's or the time of the first page), so later pages do not shift when
    new orders arrive."""

    after: datetime
    before: datetime
    by_update: bool = False
    marketplace_ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()  # Orders v0 OrderStatus values
    channels: tuple[str, ...] = ()  # AFN / MFN
    order_ids: tuple[str, ...] = ()


def select_orders(orders: Iterable[Order], query: OrderQuery) -> list[Order]:
    def moment(order: Order) -> datetime:
        return order.updated if query.by_update else order.purchased

    chosen = [
        order
        for order in orders
        if query.after <= moment(order) <= query.before
        and (not query.marketplace_ids or order.data.get("MarketplaceId") in query.marketplace_ids)
        and (not query.statuses or order.status in query.statuses)
        and (not query.channels or order.data.get("FulfillmentChannel") in query.channels)
        and (not query.order_ids or order.order_id in query.order_ids)
    ]
    chosen.sort(key=lambda order: (moment(order), order.order_id))
    return chosen


# --- rendering -----------------------------------------------------------------------------


def order_v0(order: Order) -> dict[str, Any]:
    return dict(order.data)


def order_items_v0(order: Order) -> list[dict[str, Any]]:
    return [dict(item) for item in order.items]


def order_2026(order: Order, included: Sequence[str]) -> dict[str, Any]:
    """The Orders 2026-01-01 ``Order``; datasets beyond the base ones only when asked for
    with ``includedData``, as Amazon does."""
    data = order.data
    body: dict[str, Any] = {
        "orderId": order.order_id,
        "createdTime": isoformat(order.purchased),
        "lastUpdatedTime": isoformat(order.updated),
        "salesChannel": {
            "channelName": "AMAZON",
            **({"marketplaceId": data["MarketplaceId"]} if "MarketplaceId" in data else {}),
            **({"marketplaceName": data["SalesChannel"]} if "SalesChannel" in data else {}),
        },
        "orderItems": [_item_2026(item, included) for item in order.items],
    }
    if data.get("SellerOrderId"):
        body["orderAliases"] = [{"aliasId": data["SellerOrderId"], "aliasType": "SELLER_ORDER_ID"}]
    if "FULFILLMENT" in included:
        body["fulfillment"] = {
            "fulfillmentStatus": FULFILLMENT_STATUS_2026[order.status],
            "fulfilledBy": "AMAZON" if data.get("FulfillmentChannel") == "AFN" else "MERCHANT",
        }
    if "PROCEEDS" in included and isinstance(data.get("OrderTotal"), dict):
        body["proceeds"] = {"grandTotal": _money_2026(data["OrderTotal"])}
    if "PACKAGES" in included:
        body["packages"] = [
            _package_2026(shipment, number) for number, shipment in enumerate(order.shipments, 1)
        ]
    return body


def _item_2026(item: dict[str, Any], included: Sequence[str]) -> dict[str, Any]:
    ordered = int(item["QuantityOrdered"])
    shipped = int(item.get("QuantityShipped", 0))
    product: dict[str, Any] = {"asin": item["ASIN"]}
    if item.get("SellerSKU"):
        product["sellerSku"] = item["SellerSKU"]
    if item.get("Title"):
        product["title"] = item["Title"]
    unit_price = _unit_price(item.get("ItemPrice"), ordered)
    if unit_price is not None:
        product["price"] = {"unitPrice": unit_price}
    body: dict[str, Any] = {
        "orderItemId": item["OrderItemId"],
        "quantityOrdered": ordered,
        "product": product,
    }
    if "FULFILLMENT" in included:
        body["fulfillment"] = {
            "quantityFulfilled": shipped,
            "quantityUnfulfilled": ordered - shipped,
        }
    return body


def _unit_price(item_price: Any, quantity: int) -> dict[str, str] | None:
    """Orders v0 ItemPrice is the price of all units of the line; 2026 gives one unit's."""
    if not isinstance(item_price, dict):
        return None
    try:
        total = Decimal(str(item_price["Amount"]))
    except (KeyError, InvalidOperation):
        return None
    unit = (total / quantity).quantize(Decimal("0.01"))
    return {"amount": str(unit), "currencyCode": str(item_price.get("CurrencyCode", ""))}


def _money_2026(money: dict[str, Any]) -> dict[str, str]:
    return {
        "amount": str(money.get("Amount", "")),
        "currencyCode": str(money.get("CurrencyCode", "")),
    }


def _package_2026(shipment: Shipment, number: int) -> dict[str, Any]:
    package: dict[str, Any] = {
        "packageReferenceId": shipment.package_reference_id or str(number),
        "carrier": shipment.carrier,
        "trackingNumber": shipment.tracking_number,
        "shipTime": shipment.ship_date,
        "packageItems": [{"orderItemId": oid, "quantity": qty} for oid, qty in shipment.items],
    }
    if shipment.shipping_method:
        package["shippingService"] = shipment.shipping_method
    return package


def order_admin(order: Order) -> dict[str, Any]:
    """The sandbox's own view for tests: status, items and every shipment."""
    return {
        "AmazonOrderId": order.order_id,
        "OrderStatus": order.status,
        "LastUpdateDate": order.data["LastUpdateDate"],
        "OrderItems": order_items_v0(order),
        "shipments": [shipment.to_json() for shipment in order.shipments],
    }
