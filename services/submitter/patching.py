"""A job sent by ``patchListingsItem``: each item's request and what Amazon's answer makes
of the item and its listing. Pure; the calls are in ``amazon.py``.

The patch is the one a JSON_LISTINGS_FEED message of the same item carries
(``shared.formats.listings_feed.listing_message``), so both routes send the same change.
An item ends ``accepted`` (ACCEPTED), ``warning`` (ACCEPTED with warnings) or ``error``
(INVALID, or a call Amazon refused) with Amazon's issues; its listing as the applier
would set it after a feed result (``shared.listing_sync``), ``as_of`` the call's time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from shared.events import ItemState, ItemStatus, ListingIssue, ListingState
from shared.formats import listings_feed
from shared.job_data import DoneData
from shared.job_items import ITEM_MODEL
from shared.job_state import JobState
from shared.jobs import JobType
from shared.listing_sync import listing_after, newer_than
from shared.spapi.models.listings import (
    IssueSeverity,
    ListingsItemSubmissionResponse,
    SubmissionStatus,
)


@dataclass(frozen=True, slots=True)
class PatchRequest:
    sku: str
    product_type: str
    patches: list[dict[str, Any]]


def patch_request(job_type: JobType, item: ItemState, marketplace_id: str) -> PatchRequest:
    """The body of the item's patchListingsItem call: its feed message's patches."""
    parsed = ITEM_MODEL[job_type].model_validate(item.request)
    message = listings_feed.listing_message(
        job_type, cast(listings_feed.ListingItem, parsed), marketplace_id, 1
    )
    return PatchRequest(item.key, message["productType"], message["patches"])


def item_after(item: ItemState, answer: ListingsItemSubmissionResponse) -> ItemState:
    """The item once Amazon answered its patch."""
    issues = [i for i in answer.issues if i.severity is not IssueSeverity.INFO]
    status: ItemStatus
    if answer.status is SubmissionStatus.ACCEPTED:
        warned = any(i.severity is IssueSeverity.WARNING for i in issues)
        status = "warning" if warned else "accepted"
        messages = [i.describe() for i in issues]
    else:
        status = "error"
        messages = [i.describe() for i in issues] or [
            f"Amazon answered {answer.status.value} without saying why"
        ]
    return item.model_copy(update={"status": status, "messages": messages})


def listing_issues(answer: ListingsItemSubmissionResponse) -> list[ListingIssue] | None:
    """The answer's errors and warnings as the listing keeps them; None when it gave
    none for an item it refused (the item's message says why)."""
    kept = [
        ListingIssue(
            severity="error" if i.severity is IssueSeverity.ERROR else "warning",
            code=i.code,
            message=i.message,
            attribute_names=i.attribute_names or [],
        )
        for i in answer.issues
        if i.severity is not IssueSeverity.INFO
    ]
    if not kept and answer.status is not SubmissionStatus.ACCEPTED:
        return None
    return kept


def item_refused(item: ItemState, reason: str) -> ItemState:
    """The item when Amazon refused the call itself (a 400 for this SKU)."""
    return item.model_copy(update={"status": "error", "messages": [reason]})


def listing_of(
    state: JobState,
    item: ItemState,
    current: ListingState | None,
    at: datetime,
    issues: list[ListingIssue] | None = None,
) -> ListingState | None:
    """The item's listing after its answer at ``at``; None when a newer one is set.
    ``issues``: Amazon's (None: made from the item's messages)."""
    if not newer_than(state, current, at):
        return None
    return listing_after(state, item, current, as_of=at, issues=issues)


def done_data(items: Iterable[ItemState]) -> DoneData:
    """A patched job's counts, as a feed's processing report would give them."""
    statuses = [i.status for i in items]
    return DoneData(
        processed=len(statuses),
        accepted=sum(1 for s in statuses if s in ("accepted", "warning")),
        errors=sum(1 for s in statuses if s == "error"),
        warnings=sum(1 for s in statuses if s == "warning"),
    )
