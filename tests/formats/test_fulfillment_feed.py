from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.formats.fulfillment_feed import CONTENT_TYPE, build_fulfillment_feed
from shared.job_items import FulfillmentItem, ShippedLine


def shipment(order_id: str = "302-1234567-7654321", **overrides: object) -> FulfillmentItem:
    fields: dict[str, object] = {
        "amazon_order_id": order_id,
        "carrier": "DHL",
        "tracking_number": "JJD000390007",
        "shipped_at": datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
        "items": [ShippedLine(order_item_id="68828574383266", quantity=2)],
    }
    return FulfillmentItem.model_validate(fields | overrides)


def test_envelope_header_and_one_message_per_order() -> None:
    document = build_fulfillment_feed("A1SELLERTEST", [shipment(), shipment("302-7654321-1234567")])

    root = ET.fromstring(document.body)
    assert document.body.startswith(b"<?xml")
    assert root.tag == "AmazonEnvelope"
    assert root.findtext("Header/DocumentVersion") == "1.01"
    assert root.findtext("Header/MerchantIdentifier") == "A1SELLERTEST"
    assert root.findtext("MessageType") == "OrderFulfillment"
    messages = root.findall("Message")
    assert [m.findtext("MessageID") for m in messages] == ["1", "2"]
    assert document.message_orders == {1: "302-1234567-7654321", 2: "302-7654321-1234567"}
    assert "xml" in CONTENT_TYPE

    first = messages[0].find("OrderFulfillment")
    assert first is not None
    assert first.findtext("AmazonOrderID") == "302-1234567-7654321"
    assert first.findtext("FulfillmentDate") == "2026-11-27T10:00:00+00:00"
    assert first.findtext("FulfillmentData/CarrierName") == "DHL"
    assert first.findtext("FulfillmentData/ShipperTrackingNumber") == "JJD000390007"
    assert first.findtext("Item/AmazonOrderItemCode") == "68828574383266"
    assert first.findtext("Item/Quantity") == "2"
    # element order matters to Amazon's XSD
    assert [child.tag for child in first] == [
        "AmazonOrderID",
        "FulfillmentDate",
        "FulfillmentData",
        "Item",
    ]


def test_text_is_escaped() -> None:
    document = build_fulfillment_feed(
        "M&S <seller>", [shipment(carrier='Hermes & "Co" <Express>', tracking_number="a<b>&c")]
    )

    assert b'Hermes &amp; "Co" &lt;Express&gt;' in document.body
    root = ET.fromstring(document.body)
    assert root.findtext("Header/MerchantIdentifier") == "M&S <seller>"
    assert (
        root.findtext("Message/OrderFulfillment/FulfillmentData/ShipperTrackingNumber") == "a<b>&c"
    )


def test_non_ascii_is_utf8() -> None:
    document = build_fulfillment_feed("M1", [shipment(carrier="Österreichische Post")])
    assert "Österreichische Post".encode() in document.body


def test_local_time_zones_are_kept() -> None:
    tz = timezone(timedelta(hours=1))
    document = build_fulfillment_feed(
        "M1", [shipment(shipped_at=datetime(2026, 11, 27, 11, tzinfo=tz))]
    )
    root = ET.fromstring(document.body)
    assert root.findtext("Message/OrderFulfillment/FulfillmentDate") == "2026-11-27T11:00:00+01:00"


def test_characters_xml_cannot_carry_are_refused() -> None:
    # The item refuses them first; the feed builder refuses them too, for items that were
    # never validated (model_construct), since XML cannot carry them at all.
    with pytest.raises(ValueError, match="control character"):
        shipment(tracking_number="123\x0b456")
    unchecked = shipment().model_copy(update={"tracking_number": "123\x0b456"})
    with pytest.raises(ValueError, match="ShipperTrackingNumber"):
        build_fulfillment_feed("M1", [unchecked])


def test_an_empty_feed_is_refused() -> None:
    with pytest.raises(ValueError):
        build_fulfillment_feed("M1", [])
