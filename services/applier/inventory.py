"""An inventory report (GET_MERCHANT_LISTINGS_ALL_DATA and kin) imported as the account's
Amazon Inventory: one ``InventoryRow`` per row, on the compacted ``amazon.inventory``.

The topic holds the *latest* report per account and marketplace (a report is for one
marketplace), so a SKU the previous report of that marketplace listed and this one does
not is removed (a tombstone). A report Amazon cancelled for lack of data
(no document) is an empty report: the account has no listings, every known row goes.
Rows that cannot be read are skipped and counted as errors, with their line numbers in the
log; a document that is not a report at all fails the job.
"""

from __future__ import annotations

from collections.abc import Collection

from services.applier.applied import Applied, ResultError, warning_lines
from shared.events import InventoryRow, LogLine
from shared.formats.inventory_report import (
    InventoryReport,
    InventoryReportError,
    parse_inventory_report,
)
from shared.job_state import JobState


def apply_inventory_report(
    state: JobState, document: bytes | None, known_skus: Collection[str]
) -> Applied:
    """``known_skus``: the account's SKUs of the job's marketplace on ``amazon.inventory``
    before this report."""
    report_id = state.facts.report_id or "?"
    if document is None:
        report = InventoryReport(rows=[], problems=[], columns=[], encoding="")
    else:
        try:
            report = parse_inventory_report(document)
        except InventoryReportError as exc:
            raise ResultError(f"report {report_id} cannot be read: {exc}") from exc

    rows = [
        InventoryRow(
            account_id=state.account_id,
            shop_id=state.shop_id,
            sku=row.sku,
            marketplace_id=state.facts.marketplace_id,
            asin=row.asin,
            title=row.item_name,
            quantity=row.quantity,
            price=row.price,
            status=row.status,
            fulfillment_channel=row.fulfillment_channel,
            report_id=report_id,
            job_id=state.job_id,
        )
        for row in report.rows
    ]
    listed = {row.sku for row in rows}
    removed = sorted(sku for sku in known_skus if sku not in listed)
    counts = {
        "processed": len(report.rows) + len(report.problems),
        "accepted": len(report.rows),
        "errors": len(report.problems),
        "warnings": 0,
        "rows": len(rows),
        "removed": len(removed),
    }
    what = "no data (Amazon cancelled the report)" if document is None else f"{len(rows)} row(s)"
    log = [
        LogLine(
            message=f"inventory report {report_id}: {what} imported, "
            f"{len(removed)} row(s) of earlier reports removed"
        )
    ]
    log += warning_lines(
        (
            f"{len(report.problems)} row(s) skipped",
            [f"line {p.line}: {p.message}" for p in report.problems],
        )
    )
    return Applied(items=[], counts=counts, log=log, inventory=rows, removed_inventory=removed)
