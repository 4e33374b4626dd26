"""Orders v0 (getOrders, getOrderItems, confirmShipment) and Orders 2026-01-01
(searchOrders), both views of the same orders.

Time windows follow Amazon's rules: exactly one of created-after / last-updated-after;
created-* and last-updated-* do not mix; the upper bound defaults to now and is echoed in
the response (CreatedBefore / LastUpdatedBefore), and page tokens carry the whole query,
so paging through a window is stable while new orders arrive.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.amazon_sandbox.clock import isoformat, parse_iso
from services.amazon_sandbox.errors import invalid_input, not_found
from services.amazon_sandbox.gateway import Call, sp_api
from services.amazon_sandbox.orders import (
    FULFILLMENT_STATUS_2026,
    ORDER_STATUSES_V0,
    Order,
    OrderQuery,
    Shipment,
    ShipmentRejected,
    order_2026,
    order_items_v0,
    order_v0,
    select_orders,
    ship,
)
from services.amazon_sandbox.params import (
    decode_page_token,
    encode_page_token,
    json_object,
    parse_datetime,
    query_int,
    query_list,
)

V0 = "/orders/v0/orders"
V2026 = "/orders/2026-01-01/orders"

INCLUDED_DATA_2026 = frozenset(
    {
        "BUYER",
        "RECIPIENT",
        "PROCEEDS",
        "EXPENSE",
        "PROMOTION",
        "CANCELLATION",
        "FULFILLMENT",
        "PACKAGES",
        "TAX",
        "PAYMENT",
        "FULFILLMENT_ORDERS",
    }
)
FULFILLED_BY_CHANNEL = {"MERCHANT": "MFN", "AMAZON": "AFN"}


# --- shared: the time window and page tokens ---------------------------------------------


def _time_window(
    query: QueryParams, names: tuple[str, str, str, str], now: datetime
) -> tuple[datetime, datetime, bool]:
    """(after, before, by_update) from the four window parameters, in the order
    created-after, created-before, last-updated-after, last-updated-before."""
    created_after, created_before, updated_after, updated_before = names
    given = {name: query.get(name) for name in names}
    if (given[created_after] is None) == (given[updated_after] is None):
        raise invalid_input(f"Exactly one of {created_after} and {updated_after} is required.")
    by_update = given[updated_after] is not None
    after_name, before_name, other = (
        (updated_after, updated_before, (created_after, created_before))
        if by_update
        else (created_after, created_before, (updated_after, updated_before))
    )
    if any(given[name] is not None for name in other):
        raise invalid_input(f"{' and '.join(other)} cannot be used with {after_name}.")
    after = parse_datetime(given[after_name], after_name)
    raw_before = given[before_name]
    before = now if raw_before is None else parse_datetime(raw_before, before_name)
    if before < after:
        raise invalid_input(f"{before_name} must be equal to or after {after_name}.")
    return after, before, by_update


def _token(query: OrderQuery, offset: int, page_size: int) -> str:
    state: dict[str, Any] = asdict(query)
    state["after"], state["before"] = isoformat(query.after), isoformat(query.before)
    state["offset"], state["size"] = offset, page_size
    return encode_page_token(state)


def _from_token(token: str, name: str) -> tuple[OrderQuery, int, int]:
    state = decode_page_token(token, name)
    try:
        query = OrderQuery(
            after=parse_iso(state["after"]),
            before=parse_iso(state["before"]),
            by_update=bool(state["by_update"]),
            marketplace_ids=tuple(state["marketplace_ids"]),
            statuses=tuple(state["statuses"]),
            channels=tuple(state["channels"]),
            order_ids=tuple(state["order_ids"]),
        )
        return query, int(state["offset"]), int(state["size"])
    except (KeyError, TypeError, ValueError):
        raise invalid_input(f"{name} is invalid or expired.") from None


def _page(
    call: Call, query: OrderQuery, offset: int, page_size: int
) -> tuple[list[Order], str | None]:
    chosen = select_orders(call.seller.orders.values(), query)
    end = offset + page_size
    return chosen[offset:end], (_token(query, end, page_size) if end < len(chosen) else None)


def _query_choices(query: QueryParams, name: str, allowed: Collection[str]) -> list[str]:
    """The values of list parameter ``name``, each one of ``allowed``."""
    values = query_list(query, name)
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise invalid_input(f"Invalid {name}: {', '.join(unknown)}.")
    return values


# --- Orders v0 -------------------------------------------------------------------------------


def get_orders(call: Call) -> Response:
    query = call.request.query_params
    marketplaces = query_list(query, "MarketplaceIds", max_items=50)
    if not marketplaces:
        raise invalid_input("MarketplaceIds is required.")
    token = query.get("NextToken")
    if token is not None:
        order_query, offset, page_size = _from_token(token, "NextToken")
    else:
        after, before, by_update = _time_window(
            query,
            ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore"),
            call.state.clock.wall(),
        )
        statuses = _query_choices(query, "OrderStatuses", ORDER_STATUSES_V0)
        channels = _query_choices(query, "FulfillmentChannels", {"AFN", "MFN"})
        order_query = OrderQuery(
            after=after,
            before=before,
            by_update=by_update,
            marketplace_ids=tuple(marketplaces),
            statuses=tuple(statuses),
            channels=tuple(channels),
            order_ids=tuple(query_list(query, "AmazonOrderIds", max_items=50)),
        )
        offset, page_size = 0, query_int(query, "MaxResultsPerPage", 100, 1, 100)
    page, next_token = _page(call, order_query, offset, page_size)
    payload: dict[str, Any] = {"Orders": [order_v0(order) for order in page]}
    if next_token:
        payload["NextToken"] = next_token
    bound = "LastUpdatedBefore" if order_query.by_update else "CreatedBefore"
    payload[bound] = isoformat(order_query.before)
    return JSONResponse({"payload": payload})


def _order(call: Call) -> Order:
    order_id = call.path("orderId")
    order = call.seller.orders.get(order_id)
    if order is None:
        raise not_found(f"Order {order_id} was not found.")
    return order


def get_order_items(call: Call) -> Response:
    order = _order(call)
    return JSONResponse(
        {"payload": {"AmazonOrderId": order.order_id, "OrderItems": order_items_v0(order)}}
    )


def confirm_shipment(call: Call) -> Response:
    order = _order(call)
    body = json_object(call.body)
    marketplace = body.get("marketplaceId")
    if not isinstance(marketplace, str) or not marketplace:
        raise invalid_input("marketplaceId is required.")
    if marketplace != order.data.get("MarketplaceId", marketplace):
        raise invalid_input(f"Order {order.order_id} was not placed in marketplace {marketplace}.")
    shipment = _package_shipment(body.get("packageDetail"))
    try:
        ship(order, shipment, call.state.clock.wall())
    except ShipmentRejected as rejected:
        raise invalid_input(rejected.message) from None
    return Response(status_code=204)


def _package_shipment(package: Any) -> Shipment:
    """The PackageDetail of a confirmShipment request, checked."""
    if not isinstance(package, dict):
        raise invalid_input("packageDetail is required.")
    text: dict[str, str] = {}
    for name in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate"):
        value = package.get(name)
        if not isinstance(value, str) or not value.strip():
            raise invalid_input(f"packageDetail.{name} is required.")
        text[name] = value.strip()
    carrier = text["carrierCode"]
    if carrier == "Other":
        carrier_name = package.get("carrierName")
        if not isinstance(carrier_name, str) or not carrier_name.strip():
            raise invalid_input("packageDetail.carrierName is required when carrierCode is Other.")
        carrier = carrier_name.strip()
    ship_date = parse_datetime(text["shipDate"], "packageDetail.shipDate")
    items = package.get("orderItems")
    if not isinstance(items, list) or not items:
        raise invalid_input("packageDetail.orderItems must list at least one item.")
    lines: list[tuple[str, int | None]] = []
    for item in items:
        order_item_id = item.get("orderItemId") if isinstance(item, dict) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if not isinstance(order_item_id, str) or not order_item_id:
            raise invalid_input("Each orderItems entry needs orderItemId.")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise invalid_input(f"quantity of order item {order_item_id} must be an integer >= 1.")
        lines.append((order_item_id, quantity))
    method = package.get("shippingMethod")
    return Shipment(
        carrier=carrier,
        tracking_number=text["trackingNumber"],
        ship_date=isoformat(ship_date),
        items=tuple(lines),
        shipping_method=method if isinstance(method, str) and method else None,
        package_reference_id=text["packageReferenceId"],
        source="confirmShipment",
    )


# --- Orders 2026-01-01 -----------------------------------------------------------------------


def search_orders(call: Call) -> Response:
    query = call.request.query_params
    included = _query_choices(query, "includedData", INCLUDED_DATA_2026)
    token = query.get("paginationToken")
    if token is not None:
        # Amazon lets maxResultsPerPage and includedData change between pages.
        order_query, offset, page_size = _from_token(token, "paginationToken")
        page_size = query_int(query, "maxResultsPerPage", page_size, 1, 100)
    else:
        after, before, by_update = _time_window(
            query,
            ("createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore"),
            call.state.clock.wall(),
        )
        statuses = _query_choices(
            query, "fulfillmentStatuses", set(FULFILLMENT_STATUS_2026.values())
        )
        fulfilled_by = _query_choices(query, "fulfilledBy", FULFILLED_BY_CHANNEL)
        order_query = OrderQuery(
            after=after,
            before=before,
            by_update=by_update,
            marketplace_ids=tuple(query_list(query, "marketplaceIds", max_items=50)),
            statuses=tuple(
                v0 for v0, status in FULFILLMENT_STATUS_2026.items() if status in statuses
            ),
            channels=tuple(FULFILLED_BY_CHANNEL[party] for party in fulfilled_by),
        )
        offset, page_size = 0, query_int(query, "maxResultsPerPage", 100, 1, 100)
    page, next_token = _page(call, order_query, offset, page_size)
    body: dict[str, Any] = {"orders": [order_2026(order, included) for order in page]}
    if next_token:
        body["pagination"] = {"nextToken": next_token}
    bound = "lastUpdatedBefore" if order_query.by_update else "createdBefore"
    body[bound] = isoformat(order_query.before)
    return JSONResponse(body)


routes = [
    Route(V0, sp_api("getOrders", get_orders), methods=["GET"]),
    Route(
        f"{V0}/{{orderId}}/orderItems",
        sp_api("getOrderItems", get_order_items),
        methods=["GET"],
    ),
    Route(
        f"{V0}/{{orderId}}/shipmentConfirmation",
        sp_api("confirmShipment", confirm_shipment),
        methods=["POST"],
    ),
    Route(V2026, sp_api("searchOrders", search_orders), methods=["GET"]),
]
