"""POST_ORDER_FULFILLMENT_DATA: the XML shipment confirmation feed (AmazonEnvelope).

Amazon charges the buyer when it sees this, so the document is built with
``xml.etree`` (every text node escaped) and refuses characters XML 1.0 cannot carry
instead of sending a feed Amazon would reject as a whole.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from shared.job_items import FulfillmentItem

FEED_TYPE = "POST_ORDER_FULFILLMENT_DATA"
CONTENT_TYPE = "text/xml; charset=UTF-8"  # give the same to createFeedDocument
DOCUMENT_VERSION = "1.01"
MESSAGE_TYPE = "OrderFulfillment"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

# Control characters outside XML 1.0's Char production (tab, LF, CR are allowed).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class FulfillmentFeedDocument:
    body: bytes  # UTF-8 XML with declaration
    message_orders: dict[int, str]  # MessageID → AmazonOrderID, to read the report back


def build_fulfillment_feed(
    merchant_id: str,
    shipments: Sequence[FulfillmentItem],
    message_ids: Sequence[int] | None = None,
) -> FulfillmentFeedDocument:
    """One ``Message`` per shipment; ``MessageID`` counting from 1, or as given (a job
    numbers its items by their ordinal: docs/design.md §11)."""
    if message_ids is not None and len(message_ids) != len(shipments):
        raise ValueError("one message id per shipment")
    if not shipments:
        raise ValueError("a fulfillment feed needs at least one shipment")
    ET.register_namespace("xsi", XSI)
    envelope = ET.Element(
        "AmazonEnvelope", {f"{{{XSI}}}noNamespaceSchemaLocation": "amzn-envelope.xsd"}
    )
    header = ET.SubElement(envelope, "Header")
    _text(header, "DocumentVersion", DOCUMENT_VERSION)
    _text(header, "MerchantIdentifier", merchant_id)
    _text(envelope, "MessageType", MESSAGE_TYPE)
    orders: dict[int, str] = {}
    ids = message_ids if message_ids is not None else range(1, len(shipments) + 1)
    for message_id, shipment in zip(ids, shipments, strict=True):
        message = ET.SubElement(envelope, "Message")
        _text(message, "MessageID", str(message_id))
        fulfillment = ET.SubElement(message, "OrderFulfillment")
        _text(fulfillment, "AmazonOrderID", shipment.amazon_order_id)
        if shipment.shipped_at.tzinfo is None:
            raise ValueError(f"order {shipment.amazon_order_id}: shipped_at needs a time zone")
        _text(fulfillment, "FulfillmentDate", shipment.shipped_at.isoformat(timespec="seconds"))
        data = ET.SubElement(fulfillment, "FulfillmentData")
        _text(data, "CarrierName", shipment.carrier)
        _text(data, "ShipperTrackingNumber", shipment.tracking_number)
        # Without Item elements Amazon confirms the whole order; with them, only these.
        for line in shipment.items:
            item = ET.SubElement(fulfillment, "Item")
            _text(item, "AmazonOrderItemCode", line.order_item_id)
            _text(item, "Quantity", str(line.quantity))
        orders[message_id] = shipment.amazon_order_id
    body = ET.tostring(envelope, encoding="utf-8", xml_declaration=True)
    return FulfillmentFeedDocument(body, orders)


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    if _NOT_XML.search(value):
        raise ValueError(f"{tag} contains a control character XML cannot carry: {value!r}")
    element = ET.SubElement(parent, tag)
    element.text = value
    return element
