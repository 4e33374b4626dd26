"""A listing's sync state once Amazon's outcome for one job item is known.

One rule for both ways a listing change reaches Amazon: a feed, whose processing report
the applier reads (services/applier/listings.py), and ``patchListingsItem``, whose answer
the submitter reads at once (services/submitter/patching.py). ``as_of`` is when Amazon
received the values (a feed's submission, a patch's call); an older outcome never
overwrites a newer one (docs/design.md §18).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.events import ItemState, ListingIssue, ListingState, ListingStatus, utcnow
from shared.job_state import JobState
from shared.jobs import JobType
from shared.listing_issues import from_item, kept, reported

# The listing status an applied item of each job type ends in.
APPLIED_STATUS: dict[JobType, ListingStatus] = {
    JobType.SEND_PRODUCTS: "active",
    JobType.UPDATE_QTY: "active",
    JobType.UPDATE_PRICE: "active",
    JobType.UPDATE_QTY_PRICE: "active",
    JobType.STOP_PRODUCTS: "stopped",
    JobType.STOP_REMOVE_PRODUCTS: "removed",
}
ZERO_QUANTITY = frozenset({JobType.STOP_PRODUCTS, JobType.STOP_REMOVE_PRODUCTS})


def newer_than(state: JobState, listing: ListingState | None, when: datetime | None = None) -> bool:
    """Whether the job's outcome may set ``listing``: Amazon applies one seller's changes
    in the order it received them, so an outcome older than the listing's is stale.
    ``when``: when Amazon received this outcome's values (default: the feed's submission)."""
    if listing is None or listing.as_of is None:
        return True
    when = when or state.facts.submitted_at
    return when is None or when >= listing.as_of


def listing_after(
    state: JobState,
    item: ItemState,
    current: ListingState | None,
    asin: object = None,
    *,
    as_of: datetime | None = None,
    issues: list[ListingIssue] | None = None,
    keep_issues: bool = False,
) -> ListingState:
    """The listing's sync state once the job's outcome for ``item`` is known.

    ``current`` is the listing as ``amazon.listings`` holds it now. Values the job does
    not change come from the listing as it was before the job when the job marked it
    pending (``ItemState.before``; the pending state carries the requested values), else
    from the current listing (automatic jobs do not mark listings). ``as_of``: when
    Amazon received the values (default: the feed's submission time).

    ``issues``: Amazon's errors and warnings for the item, which become the listing's
    current issues (None: made from the item's messages); ``keep_issues`` keeps those of
    ``current`` instead, for an outcome that is not Amazon's word on the listing.
    """
    marked_by_job = bool(state.facts.listings_marked) and (
        current is None or current.last_job_id == state.job_id
    )
    base: Mapping[str, Any]
    if marked_by_job:
        base = item.before or {}
    elif current is not None:
        base = current.model_dump(mode="json")
    else:
        base = item.before or {}
    request = item.request
    applied = item.status in ("accepted", "warning")
    values: dict[str, Any] = {
        "asin": asin or request.get("asin") or base.get("asin"),
        "quantity": base.get("quantity"),
        "price": base.get("price"),
        "currency": base.get("currency"),
    }
    if applied:
        for name in ("quantity", "price", "currency"):
            if name in request:
                values[name] = request[name]
        if state.job_type in ZERO_QUANTITY:
            values["quantity"] = 0
    received = as_of or state.facts.submitted_at
    now = utcnow()
    if keep_issues:
        issue_fields = kept(current)
    else:
        found = issues if issues is not None else from_item(item)
        issue_fields = reported(found, state.job_id, now)
    return ListingState(
        occurred_at=now,
        account_id=state.account_id,
        shop_id=state.shop_id,
        sku=item.key,
        marketplace_id=state.facts.marketplace_id,  # the job's: a feed is for one
        status=APPLIED_STATUS[state.job_type] if applied else "error",
        last_job_id=state.job_id,
        issues=list(item.messages),
        as_of=received if applied else base.get("as_of"),
        **values,
        **issue_fields,
    )
