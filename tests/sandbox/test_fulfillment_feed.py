"""POST_ORDER_FULFILLMENT_DATA and the shipping rules of orders, without HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest

from services.amazon_sandbox.fulfillment_feed import process_fulfillment_feed
from services.amazon_sandbox.orders import Order, Shipment, ShipmentRejected, order_from_admin, ship

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def order(order_id: str, *lines: tuple[str, int], status: str = "Unshipped") -> Order:
    return order_from_admin(
        {
            "AmazonOrderId": order_id,
            "PurchaseDate": "2026-11-20T10:00:00Z",
            "OrderStatus": status,
            "MarketplaceId": "A1PA6795UKMFR9",
            "OrderItems": [
                {
                    "OrderItemId": item_id,
                    "SellerSKU": f"SKU-{item_id}",
                    "ASIN": "B000PEN001",
                    "QuantityOrdered": quantity,
                }
                for item_id, quantity in lines
            ],
        }
    )


def envelope(*messages: str, message_type: str = "OrderFulfillment") -> bytes:
    body = "".join(messages)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">'
        "<Header><DocumentVersion>1.01</DocumentVersion>"
        "<MerchantIdentifier>A2SELLER</MerchantIdentifier></Header>"
        f"<MessageType>{message_type}</MessageType>{body}</AmazonEnvelope>"
    ).encode()


def message(
    message_id: int,
    order_id: str,
    *items: tuple[str, int | None],
    tracking: str = "TRACK-1",
    carrier: str = "<CarrierCode>DHL</CarrierCode>",
) -> str:
    lines = "".join(
        f"<Item><AmazonOrderItemCode>{item_id}</AmazonOrderItemCode>"
        + (f"<Quantity>{quantity}</Quantity>" if quantity is not None else "")
        + "</Item>"
        for item_id, quantity in items
    )
    tracking_xml = f"<ShipperTrackingNumber>{tracking}</ShipperTrackingNumber>" if tracking else ""
    return (
        f"<Message><MessageID>{message_id}</MessageID><OrderFulfillment>"
        f"<AmazonOrderID>{order_id}</AmazonOrderID>"
        "<FulfillmentDate>2026-11-27T10:00:00+01:00</FulfillmentDate>"
        f"<FulfillmentData>{carrier}<ShippingMethod>Standard</ShippingMethod>{tracking_xml}"
        f"</FulfillmentData>{lines}</OrderFulfillment></Message>"
    )


def summary(report: bytes) -> dict[str, Any]:
    root = ET.fromstring(report)
    processing = root.find("Message/ProcessingReport")
    assert processing is not None
    counts = {
        child.tag: int(child.text or 0) for child in processing.find("ProcessingSummary") or []
    }
    results = [
        {child.tag: child.text for child in result if child.tag != "AdditionalInfo"}
        | {"AmazonOrderID": result.findtext("AdditionalInfo/AmazonOrderID")}
        for result in processing.findall("Result")
    ]
    return {"status": processing.findtext("StatusCode"), "counts": counts, "results": results}


def test_messages_ship_orders_and_errors_name_the_failed_messages() -> None:
    orders = {
        "A-1": order("A-1", ("11", 2), ("12", 1)),
        "A-2": order("A-2", ("21", 3)),
        "A-3": order("A-3", ("31", 1), status="Canceled"),
    }
    result = process_fulfillment_feed(
        envelope(
            message(1, "A-1"),  # no items: the whole order
            message(2, "A-2", ("21", 1)),  # one of three units
            message(3, "A-9"),  # unknown order
            message(4, "A-2", ("99", 1)),  # unknown item
            message(5, "A-2", ("21", 5)),  # more than is left
            message(6, "A-3"),  # cancelled
            message(7, "A-2", tracking=""),  # malformed: no tracking number
        ),
        seller_id="A2SELLER",
        feed_id="50002",
        orders=orders,
        now=NOW,
    )
    assert not result.fatal
    report = summary(result.report)
    assert report["status"] == "Complete"
    assert report["counts"] == {
        "MessagesProcessed": 7,
        "MessagesSuccessful": 2,
        "MessagesWithError": 5,
        "MessagesWithWarning": 0,
    }
    assert [
        (r["MessageID"], r["ResultMessageCode"], r["AmazonOrderID"]) for r in report["results"]
    ] == [
        ("3", "99101", "A-9"),
        ("4", "99101", "A-2"),
        ("5", "99102", "A-2"),
        ("6", "99102", "A-3"),
        ("7", "99100", None),
    ]
    assert all(r["ResultCode"] == "Error" for r in report["results"])
    assert orders["A-1"].status == "Shipped"
    assert orders["A-1"].data["NumberOfItemsShipped"] == 3
    [shipment] = orders["A-1"].shipments
    assert (shipment.carrier, shipment.tracking_number, shipment.ship_date) == (
        "DHL",
        "TRACK-1",
        "2026-11-27T09:00:00.000Z",
    )
    assert orders["A-2"].status == "PartiallyShipped"
    assert orders["A-2"].data["NumberOfItemsUnshipped"] == 2
    assert orders["A-2"].data["LastUpdateDate"] == "2026-11-27T12:00:00.000Z"
    assert orders["A-3"].status == "Canceled"


def test_resending_the_same_confirmation_is_harmless() -> None:
    orders = {"A-1": order("A-1", ("11", 2))}
    document = envelope(message(1, "A-1", ("11", 1), carrier="<CarrierName>My Post</CarrierName>"))
    first = process_fulfillment_feed(document, seller_id="S", feed_id="1", orders=orders, now=NOW)
    again = process_fulfillment_feed(document, seller_id="S", feed_id="2", orders=orders, now=NOW)
    assert not first.errors and not again.errors
    assert orders["A-1"].items[0]["QuantityShipped"] == 1
    assert len(orders["A-1"].shipments) == 1
    assert orders["A-1"].shipments[0].carrier == "My Post"


@pytest.mark.parametrize(
    "raw",
    [
        b"not xml at all",
        b"<AmazonEnvelope><MessageType>OrderFulfillment</MessageType>",
        envelope(message(1, "A-1"), message_type="Inventory"),
        envelope(),
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><AmazonEnvelope/>',
    ],
)
def test_unreadable_documents_are_fatal_and_change_nothing(raw: bytes) -> None:
    orders = {"A-1": order("A-1", ("11", 1))}
    result = process_fulfillment_feed(raw, seller_id="S", feed_id="1", orders=orders, now=NOW)
    assert result.fatal
    assert summary(result.report)["results"][0]["ResultMessageCode"] == "5000"
    assert orders["A-1"].status == "Unshipped"


def test_namespaced_envelopes_are_read() -> None:
    orders = {"A-1": order("A-1", ("11", 1))}
    raw = envelope(message(1, "A-1")).replace(
        b"<AmazonEnvelope ", b'<AmazonEnvelope xmlns="urn:x" '
    )
    result = process_fulfillment_feed(raw, seller_id="S", feed_id="1", orders=orders, now=NOW)
    assert not result.fatal and not result.errors
    assert orders["A-1"].status == "Shipped"


def test_ship_checks_everything_before_changing_anything() -> None:
    target = order("A-1", ("11", 2), ("12", 1))
    bad = Shipment("UPS", "T", "2026-11-27T10:00:00Z", items=(("11", 1), ("12", 2)))
    with pytest.raises(ShipmentRejected):
        ship(target, bad, NOW)
    assert [item["QuantityShipped"] for item in target.items] == [0, 0]
    assert target.shipments == []
    ship(target, Shipment("UPS", "T", "2026-11-27T10:00:00Z", items=(("11", None),)), NOW)
    assert target.items[0]["QuantityShipped"] == 2
    assert target.status == "PartiallyShipped"
