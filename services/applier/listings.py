"""A JSON_LISTINGS_FEED's processing report applied to the job's items and listings.

Per item: accepted (no issue or only INFO), warning (applied, with Amazon's warnings) or
error (not applied, with Amazon's errors). Per SKU, the listing's new sync state:

| job type | applied (accepted / warning) | not applied (error) |
|---|---|---|
| update_qty | active, the new quantity | error, Amazon's issues |
| update_price | active, the new price | error |
| update_qty_price | active, both | error |
| send_products | active, with the ASIN, quantity and price | error |
| stop_products | stopped, quantity 0 | error |
| stop_remove_products | removed, quantity 0 | error |

Values the job did not change come from the listing as it was before the job
(``ItemState.before``); on error every value stays as it was before: Amazon did not take
the change, and the issues say why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

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
from shared.events import ListingState, LogLine
from shared.formats.processing_report import parse_processing_report
from shared.job_state import JobState
from shared.listing_issues import from_report
from shared.listing_sync import APPLIED_STATUS, listing_after, newer_than

NOT_IN_FEED = "the feed carried no message for this item, so Amazon did not process it"


def apply_listings_report(
    state: JobState, document: bytes, current: Mapping[str, ListingState]
) -> Applied:
    """``current``: the account's listings as ``amazon.listings`` holds them, by SKU."""
    report_data = _load(document)
    message_skus = message_map(state, "listings feed")
    report = parse_processing_report(report_data, message_skus)
    feed_id = state.facts.feed_id or "?"
    if report.feed_id is not None and report.feed_id != feed_id:
        raise ResultError(
            f"the result document is the processing report of feed {report.feed_id}, "
            f"not of feed {feed_id}"
        )

    legacy_asins = state.facts.asins or {}
    items, decided = decide_items(
        state,
        {
            sku: (outcome.outcome.value, outcome.errors + outcome.warnings)
            for sku, outcome in report.items.items()
        },
        NOT_IN_FEED,
    )
    listings: list[ListingState] = []
    older = 0
    for item in decided:
        listing = current.get(item.key)
        if not newer_than(state, listing):
            older += 1  # a later job's result is there already (docs/design.md §18)
            continue
        asin = item.asin or legacy_asins.get(item.key)
        outcome = report.items.get(item.key)
        # An item the report does not name keeps the "not in the feed" message as its issue.
        issues = from_report(outcome.issues) if outcome is not None else None
        listings.append(listing_after(state, item, listing, asin, issues=issues))
    counts = item_counts(items)
    log = [summary_line(f"processing report of feed {feed_id}", counts)]
    log += warning_lines(
        ("Amazon's issues with the feed as a whole", [i.describe() for i in report.feed_issues]),
        (
            f"{len(report.unmatched_issues)} issue(s) name a message or SKU the feed did not carry",
            [i.describe() for i in report.unmatched_issues],
        ),
        ("parts of the processing report could not be read", list(report.problems)),
        ("items in error", errors_of(items)),
    )
    if older:
        log.append(
            LogLine(
                message=f"{older} listing(s) left as they are: a job submitted later has set "
                "them already"
            )
        )
    return Applied(items=items, counts=counts, log=log, listings=listings)


def stuck_listings(state: JobState, current: Mapping[str, ListingState]) -> list[ListingState]:
    """Listings a failed job left pending: they go to error with the job's reason.

    The submitter marks a job's listings pending when it accepts the job; if the job then
    fails as a whole (Amazon aborted the feed, the credentials were revoked, …) nobody
    else would take the mark away. Only listings still pending *by this job* are touched,
    so this is safe to repeat and never overwrites what a later job wrote.
    """
    if state.job_type not in APPLIED_STATUS or not state.facts.listings_marked:
        return []
    reason = state.facts.error or "the job failed"
    stuck: list[ListingState] = []
    for item in state.items.values():
        listing = current.get(item.key)
        if listing is None or listing.status != "pending" or listing.last_job_id != state.job_id:
            continue
        failed = item.model_copy(update={"status": "error", "messages": item.messages or [reason]})
        # Not Amazon's word on the listing: its issues stay those of its latest result.
        stuck.append(listing_after(state, failed, listing, keep_issues=True))
    return stuck


def _load(document: bytes) -> dict[str, Any]:
    """The report as JSON, refusing what is not a processing report at all: a document
    with neither header nor summary nor issues would otherwise read as "all accepted"."""
    try:
        data = json.loads(document.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultError(f"the processing report is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ResultError("the processing report is not a JSON object")
    if not {"header", "summary", "issues"} & data.keys():
        raise ResultError(
            "the result document is not a processing report (no header, summary or issues)"
        )
    return data
