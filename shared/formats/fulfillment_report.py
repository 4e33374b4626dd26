"""The XML ProcessingReport of a POST_ORDER_FULFILLMENT_DATA feed, per order.

XML feeds answer with the classic ``AmazonEnvelope``/``ProcessingReport``: a summary and
one ``Result`` per message with an error or warning (none for accepted messages).
Results are matched by ``MessageID`` through the mapping the feed was built with, falling
back to ``AdditionalInfo/AmazonOrderID``. A result for message 0 (or none) is about the
feed as a whole.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

from shared.formats.processing_report import MessageOutcome


class FulfillmentReportError(ValueError):
    """The document is not an XML processing report."""


@dataclass(frozen=True, slots=True)
class ResultEntry:
    message_id: int | None
    code: str  # Error or Warning
    message_code: str | None
    description: str
    amazon_order_id: str | None

    def describe(self) -> str:
        return f"{self.message_code}: {self.description}" if self.message_code else self.description


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    amazon_order_id: str
    message_id: int | None
    outcome: MessageOutcome
    results: tuple[ResultEntry, ...] = ()

    @property
    def messages(self) -> list[str]:
        return [r.describe() for r in self.results]


@dataclass(frozen=True, slots=True)
class FulfillmentReport:
    status_code: str | None  # "Complete" when Amazon finished the document
    messages_processed: int | None
    messages_successful: int | None
    messages_with_error: int | None
    messages_with_warning: int | None
    orders: dict[str, OrderOutcome]
    feed_results: tuple[ResultEntry, ...] = ()
    unmatched_results: tuple[ResultEntry, ...] = ()


def parse_fulfillment_report(
    report: bytes | str, message_orders: Mapping[int, str]
) -> FulfillmentReport:
    try:
        root = ET.fromstring(report)
    except ET.ParseError as exc:
        raise FulfillmentReportError(f"processing report is not XML: {exc}") from exc
    body = root.find(".//ProcessingReport")
    if body is None:
        raise FulfillmentReportError("no ProcessingReport element in the document")

    order_messages = {order: mid for mid, order in message_orders.items()}
    per_message: dict[int, list[ResultEntry]] = {mid: [] for mid in message_orders}
    feed_results: list[ResultEntry] = []
    unmatched: list[ResultEntry] = []
    for element in body.findall("Result"):
        entry = _entry(element)
        if entry.message_id in per_message:
            per_message[entry.message_id].append(entry)
        elif entry.amazon_order_id in order_messages:
            per_message[order_messages[entry.amazon_order_id]].append(entry)
        elif not entry.message_id:
            feed_results.append(entry)
        else:
            unmatched.append(entry)

    successful = _int(body.findtext("ProcessingSummary/MessagesSuccessful"))
    # A feed-level error with no message through: nothing was confirmed.
    feed_errors = tuple(r for r in feed_results if r.code.lower() == "error")
    nothing_applied = bool(feed_errors) and not successful

    orders: dict[str, OrderOutcome] = {}
    for message_id, order_id in message_orders.items():
        results = tuple(per_message[message_id]) + (feed_errors if nothing_applied else ())
        orders[order_id] = OrderOutcome(order_id, message_id, _outcome(results), results)
    return FulfillmentReport(
        status_code=_text(body.findtext("StatusCode")),
        messages_processed=_int(body.findtext("ProcessingSummary/MessagesProcessed")),
        messages_successful=successful,
        messages_with_error=_int(body.findtext("ProcessingSummary/MessagesWithError")),
        messages_with_warning=_int(body.findtext("ProcessingSummary/MessagesWithWarning")),
        orders=orders,
        feed_results=tuple(feed_results),
        unmatched_results=tuple(unmatched),
    )


def _entry(element: ET.Element) -> ResultEntry:
    return ResultEntry(
        message_id=_int(element.findtext("MessageID")),
        code=_text(element.findtext("ResultCode")) or "Error",
        message_code=_text(element.findtext("ResultMessageCode")),
        description=_text(element.findtext("ResultDescription")) or "",
        amazon_order_id=_text(element.findtext("AdditionalInfo/AmazonOrderID")),
    )


def _outcome(results: tuple[ResultEntry, ...]) -> MessageOutcome:
    codes = {r.code.lower() for r in results}
    if "error" in codes:
        return MessageOutcome.ERROR
    if "warning" in codes:
        return MessageOutcome.WARNING
    return MessageOutcome.ACCEPTED


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _int(value: str | None) -> int | None:
    text = _text(value)
    return int(text) if text is not None and text.isdigit() else None
