"""POST_ORDER_FULFILLMENT_DATA: shipment confirmations in Amazon's XML OrderFulfillment
format, applied to the seller's orders, answered with the classic XML ProcessingReport.

Accepted input (namespaces, if any, are ignored)::

    <AmazonEnvelope>
      <Header><DocumentVersion>1.01</DocumentVersion>
              <MerchantIdentifier>SELLER</MerchantIdentifier></Header>
      <MessageType>OrderFulfillment</MessageType>
      <Message>
        <MessageID>1</MessageID>
        <OrderFulfillment>
          <AmazonOrderID>028-1234567-1234567</AmazonOrderID>
          <FulfillmentDate>2026-11-27T10:00:00Z</FulfillmentDate>
          <FulfillmentData>
            <CarrierCode>DHL</CarrierCode>          (or <CarrierName>)
            <ShippingMethod>Standard</ShippingMethod>  (optional)
            <ShipperTrackingNumber>00340434</ShipperTrackingNumber>
          </FulfillmentData>
          <Item>                                      (none: the whole order ships)
            <AmazonOrderItemCode>12345678901234</AmazonOrderItemCode>
            <Quantity>1</Quantity>                    (optional: all unshipped units)
          </Item>
        </OrderFulfillment>
      </Message>
    </AmazonEnvelope>

The result document is the classic XML ``ProcessingReport`` (not JSON), because that is
what Amazon returns for this XML feed type: ``StatusCode`` Complete, a
``ProcessingSummary`` (MessagesProcessed / MessagesSuccessful / MessagesWithError /
MessagesWithWarning) and one ``Result`` per failed message with ResultCode Error,
ResultMessageCode, ResultDescription and AdditionalInfo/AmazonOrderID.

A document that is not well-formed XML, is not an OrderFulfillment envelope or has no
messages ends the feed FATAL with code 5000 (Amazon's "XML parsing error"); a feed that
could not be processed at all (no document, retired feed type, injected fault) gets 99000. The
991xx codes of per-message errors are the sandbox's own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services.amazon_sandbox.clock import isoformat, parse_iso
from services.amazon_sandbox.orders import Order, Shipment, ShipmentRejected, ship

FEED_TYPE = "POST_ORDER_FULFILLMENT_DATA"

CODE_XML_PARSING = "5000"  # Amazon's code for a document it cannot read
CODE_FEED_NOT_PROCESSED = "99000"  # no document, retired feed type, or an injected fault
CODE_MALFORMED_MESSAGE = "99100"  # a required element is missing or has a bad value
CODE_ORDER_NOT_FOUND = "99101"  # AmazonOrderID / AmazonOrderItemCode unknown to the seller
CODE_NOT_SHIPPABLE = "99102"  # the order's state or the quantity does not allow it


@dataclass(frozen=True, slots=True)
class MessageError:
    message_id: int
    code: str
    description: str
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class FulfillmentFeedResult:
    fatal: bool
    report: bytes  # the XML ProcessingReport
    processed: int
    errors: tuple[MessageError, ...]


@dataclass(frozen=True, slots=True)
class _Confirmation:
    message_id: int
    order_id: str
    shipment: Shipment


def process_fulfillment_feed(
    raw: bytes, *, seller_id: str, feed_id: str, orders: Mapping[str, Order], now: datetime
) -> FulfillmentFeedResult:
    """Parse the whole document first (a FATAL feed changes nothing), then apply each
    message in order; one message's failure does not stop the others."""
    try:
        messages = _envelope_messages(raw)
    except ValueError as exc:
        error = MessageError(0, CODE_XML_PARSING, str(exc))
        return FulfillmentFeedResult(
            fatal=True,
            report=processing_report(seller_id, feed_id, processed=0, errors=[error]),
            processed=0,
            errors=(error,),
        )
    errors: list[MessageError] = []
    for message_id, element in messages:
        try:
            confirmation = _confirmation(message_id, element)
        except ValueError as exc:
            errors.append(MessageError(message_id, CODE_MALFORMED_MESSAGE, str(exc)))
            continue
        order = orders.get(confirmation.order_id)
        if order is None:
            errors.append(
                MessageError(
                    message_id,
                    CODE_ORDER_NOT_FOUND,
                    f"Order {confirmation.order_id} was not found for this seller.",
                    confirmation.order_id,
                )
            )
            continue
        try:
            ship(order, confirmation.shipment, now)
        except ShipmentRejected as rejected:
            code = CODE_ORDER_NOT_FOUND if rejected.not_found else CODE_NOT_SHIPPABLE
            errors.append(MessageError(message_id, code, rejected.message, confirmation.order_id))
    report = processing_report(seller_id, feed_id, processed=len(messages), errors=errors)
    return FulfillmentFeedResult(
        fatal=False, report=report, processed=len(messages), errors=tuple(errors)
    )


def _envelope_messages(raw: bytes) -> list[tuple[int, ET.Element]]:
    # Entity declarations are how XML bombs work; Amazon's envelopes never carry them.
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise ValueError("The XML you submitted contains a DOCTYPE, which is not allowed.")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ValueError(f"The XML you submitted is ill-formed: {exc}.") from exc
    for element in root.iter():
        element.tag = _local(element.tag)
    if root.tag != "AmazonEnvelope":
        raise ValueError(f"The root element is {root.tag}; expected AmazonEnvelope.")
    message_type = (root.findtext("MessageType") or "").strip()
    if message_type != "OrderFulfillment":
        raise ValueError(f"MessageType is '{message_type}'; this feed type takes OrderFulfillment.")
    messages: list[tuple[int, ET.Element]] = []
    for index, message in enumerate(root.findall("Message"), start=1):
        text = (message.findtext("MessageID") or "").strip()
        messages.append((int(text) if text.isdigit() else index, message))
    if not messages:
        raise ValueError("The envelope contains no Message.")
    return messages


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _confirmation(message_id: int, message: ET.Element) -> _Confirmation:
    fulfillment = message.find("OrderFulfillment")
    if fulfillment is None:
        raise ValueError("The message has no OrderFulfillment element.")
    order_id = _required_text(fulfillment, "AmazonOrderID")
    try:
        shipped_at = parse_iso(_required_text(fulfillment, "FulfillmentDate"))
    except ValueError as exc:
        raise ValueError(f"FulfillmentDate is not an ISO-8601 date-time: {exc}") from exc
    data = fulfillment.find("FulfillmentData")
    if data is None:
        raise ValueError("The message has no FulfillmentData element.")
    carrier = (data.findtext("CarrierCode") or data.findtext("CarrierName") or "").strip()
    if not carrier:
        raise ValueError("FulfillmentData needs CarrierCode or CarrierName.")
    tracking = _required_text(data, "ShipperTrackingNumber")
    method = (data.findtext("ShippingMethod") or "").strip() or None
    items: list[tuple[str, int | None]] = []
    for item in fulfillment.findall("Item"):
        code = _required_text(item, "AmazonOrderItemCode")
        quantity_text = (item.findtext("Quantity") or "").strip()
        if not quantity_text:
            items.append((code, None))  # all unshipped units of the line
            continue
        if not quantity_text.isdigit() or int(quantity_text) < 1:
            raise ValueError(f"Quantity of item {code} must be a positive integer.")
        items.append((code, int(quantity_text)))
    shipment = Shipment(
        carrier=carrier,
        tracking_number=tracking,
        ship_date=isoformat(shipped_at),
        items=tuple(items),
        shipping_method=method,
        source=FEED_TYPE,
    )
    return _Confirmation(message_id, order_id, shipment)


def _required_text(parent: ET.Element, name: str) -> str:
    text = (parent.findtext(name) or "").strip()
    if not text:
        raise ValueError(f"{parent.tag} needs a non-empty {name}.")
    return text


def fatal_report(seller_id: str, feed_id: str, reason: str) -> bytes:
    """The ProcessingReport of an XML feed that could not be processed at all."""
    error = MessageError(0, CODE_FEED_NOT_PROCESSED, reason)
    return processing_report(seller_id, feed_id, processed=0, errors=[error])


def processing_report(
    seller_id: str, feed_id: str, *, processed: int, errors: list[MessageError]
) -> bytes:
    """The classic XML ProcessingReport, one Result per error."""
    envelope = ET.Element("AmazonEnvelope")
    envelope.set("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
    envelope.set("xsi:noNamespaceSchemaLocation", "amzn-envelope.xsd")
    header = ET.SubElement(envelope, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.02"
    ET.SubElement(header, "MerchantIdentifier").text = seller_id
    ET.SubElement(envelope, "MessageType").text = "ProcessingReport"
    message = ET.SubElement(envelope, "Message")
    ET.SubElement(message, "MessageID").text = "1"
    report = ET.SubElement(message, "ProcessingReport")
    ET.SubElement(report, "DocumentTransactionID").text = feed_id
    ET.SubElement(report, "StatusCode").text = "Complete"
    summary = ET.SubElement(report, "ProcessingSummary")
    # One error per failed message; a FATAL document has one error and no messages.
    ET.SubElement(summary, "MessagesProcessed").text = str(processed)
    ET.SubElement(summary, "MessagesSuccessful").text = str(max(processed - len(errors), 0))
    ET.SubElement(summary, "MessagesWithError").text = str(len(errors))
    ET.SubElement(summary, "MessagesWithWarning").text = "0"
    for error in errors:
        result = ET.SubElement(report, "Result")
        ET.SubElement(result, "MessageID").text = str(error.message_id)
        ET.SubElement(result, "ResultCode").text = "Error"
        ET.SubElement(result, "ResultMessageCode").text = error.code
        ET.SubElement(result, "ResultDescription").text = error.description
        if error.order_id:
            info = ET.SubElement(result, "AdditionalInfo")
            ET.SubElement(info, "AmazonOrderID").text = error.order_id
    document: bytes = ET.tostring(envelope, encoding="UTF-8", xml_declaration=True)
    return document
