"""A POST_ORDER_FULFILLMENT_DATA processing report (XML) applied to the job's orders.

Each order of the job is accepted (Amazon confirmed the shipment: the buyer is charged),
warning (confirmed, with Amazon's remarks) or error (not confirmed, with Amazon's reason).
"""

from __future__ import annotations

from services.applier.applied import (
    Applied,
    ResultError,
    decide_items,
    errors_of,
    item_counts,
    message_map,
    summary_line,
    warning_lines,
)
from shared.formats.fulfillment_report import FulfillmentReportError, parse_fulfillment_report
from shared.job_state import JobState

NOT_IN_FEED = "the feed carried no message for this order, so Amazon did not confirm it"


def apply_fulfillment_report(state: JobState, document: bytes) -> Applied:
    message_orders = message_map(state, "shipment confirmation feed")
    if b"<!DOCTYPE" in document or b"<!ENTITY" in document:
        # Amazon's reports never declare entities; a document that does is not one of them.
        raise ResultError("the processing report declares a DOCTYPE; refused")
    try:
        report = parse_fulfillment_report(document, message_orders)
    except FulfillmentReportError as exc:
        raise ResultError(f"the processing report cannot be read: {exc}") from exc

    items, _ = decide_items(
        state,
        {order: (o.outcome.value, o.messages) for order, o in report.orders.items()},
        NOT_IN_FEED,
    )
    counts = item_counts(items)
    feed_id = state.facts.feed_id or "?"
    log = [summary_line(f"processing report of shipment confirmation feed {feed_id}", counts)]
    log += warning_lines(
        ("Amazon's results for the feed as a whole", [r.describe() for r in report.feed_results]),
        (
            f"{len(report.unmatched_results)} result(s) name a message or order the feed did "
            "not carry",
            [r.describe() for r in report.unmatched_results],
        ),
        ("orders not confirmed", errors_of(items)),
    )
    return Applied(items=items, counts=counts, log=log)
