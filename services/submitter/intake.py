"""What a ``JobRequested`` becomes: a reserved-then-created job, or a visible failure.

Pure: the caller supplies the account and listing states it knows of.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from services.submitter.routing import first_class
from shared.events import (
    AccountRegistered,
    ItemState,
    JobCreated,
    JobEvent,
    JobFailed,
    JobRequested,
    JobReserved,
    ListingState,
    LogLine,
    utcnow,
)
from shared.job_data import FailedData, ReservedData
from shared.job_items import InvalidJobPayload, item_key, parse_request_payload
from shared.jobs import JobStatus, JobType
from shared.limits import MAX_LOG_MESSAGE, clip

LISTING_JOBS = frozenset(
    {
        JobType.SEND_PRODUCTS,
        JobType.UPDATE_QTY,
        JobType.UPDATE_PRICE,
        JobType.UPDATE_QTY_PRICE,
        JobType.STOP_PRODUCTS,
        JobType.STOP_REMOVE_PRODUCTS,
    }
)
_LISTING_FIELDS = {
    "asin",
    "status",
    "quantity",
    "price",
    "currency",
    "last_job_id",
    "issues",
    "as_of",
}


@dataclass(frozen=True)
class Intake:
    events: list[JobEvent]
    listings: list[ListingState]  # listings marked pending by the new job


def listing_snapshot(listing: ListingState | None) -> dict[str, Any] | None:
    if listing is None:
        return None
    return listing.model_dump(mode="json", include=_LISTING_FIELDS)


def _made_by(request: JobRequested) -> str:
    return f", from schedule {request.schedule_id}" if request.schedule_id else ""


def reject(request: JobRequested, reason: str) -> JobFailed:
    # Built without validation: every value comes from a request that was validated on
    # arrival (the reason is our own text, cut to fit), and a burst of refusals is the
    # submitter's busiest path (docs/design.md §13).
    text = f"request rejected{_made_by(request)}: {reason}"
    line = LogLine.model_construct(level="error", message=clip(text, MAX_LOG_MESSAGE), at=utcnow())
    return JobFailed.model_construct(
        event_id=uuid4(),
        event_type="JobFailed",
        schema_version=JobFailed.SCHEMA_VERSION,
        occurred_at=line.at,
        job_id=request.job_id,
        seq=1,
        shop_id=request.shop_id,
        account_id=request.account_id,
        job_type=request.job_type,
        status=JobStatus.ERROR,
        data=FailedData.model_construct(rejected=True, failure="rejected"),
        log=[line],
        items=None,
    )


def accept(
    request: JobRequested,
    account: AccountRegistered | None,
    listings: dict[str, ListingState],
    patch_max_items: int = 0,
) -> Intake | JobFailed:
    """Validate a request; ``listings`` are the account's current states of its SKUs;
    ``patch_max_items``: the largest urgent job sent by patchListingsItem (the quota
    class its log names)."""
    if account is None:
        return reject(request, f"account {request.account_id!r} is not registered")
    if account.shop_id != request.shop_id:
        return reject(
            request, f"account {request.account_id!r} does not belong to shop {request.shop_id!r}"
        )
    try:
        items, params = parse_request_payload(
            request.job_type, request.items, request.params, request.priority
        )
    except InvalidJobPayload as exc:
        return reject(request, str(exc))
    marks_listings = request.job_type in LISTING_JOBS
    states = [
        ItemState(
            key=item_key(i),
            request=i.model_dump(mode="json", exclude_none=True),
            before=listing_snapshot(listings.get(item_key(i))) if marks_listings else None,
        )
        for i in items
    ]
    given: dict[str, Any] = {}  # only what the request gave: a key not set is not said
    if params is not None:
        given["params"] = params
    if request.priority is not None:
        given["priority"] = request.priority
    if request.retry_of is not None:
        given["retry_of"] = request.retry_of
    if request.schedule_id is not None:
        given["schedule_id"] = request.schedule_id
    data = ReservedData(
        marketplace_id=account.marketplace_ids[0],
        automatic=False,
        listings_marked=marks_listings,
        **given,
    )
    what = f"{len(states)} item(s)" if states else "its parameters"
    job: dict[str, Any] = {
        "job_id": request.job_id,
        "shop_id": request.shop_id,
        "account_id": request.account_id,
        "job_type": request.job_type,
    }
    reserved = JobReserved(
        **job,
        seq=1,
        status=JobStatus.RESERVED,
        data=data,
        items=states,
        log=[
            LogLine(message=f"job received with {what}{_made_by(request)}"),
            *([LogLine(message=f"retry of job {request.retry_of}")] if request.retry_of else []),
        ],
    )
    quota_class = first_class(request.job_type, states, patch_max_items)
    created = JobCreated(
        **job,
        seq=2,
        status=JobStatus.CREATED,
        log=[LogLine(message=f"queued for a {quota_class.value} quota token")],
    )
    marked = (
        [
            pending_listing(request.job_id, request.shop_id, account.account_id, s, listings)
            for s in states
        ]
        if marks_listings
        else []
    )
    return Intake([reserved, created], marked)


def pending_listing(
    job_id: str,
    shop_id: str,
    account_id: str,
    item: ItemState,
    listings: dict[str, ListingState],
) -> ListingState:
    """The listing as the merchant should see it while the job is on its way."""
    before = listings.get(item.key)
    req = item.request
    return ListingState(
        account_id=account_id,
        shop_id=shop_id,
        sku=item.key,
        asin=req.get("asin") or (before.asin if before else None),
        status="pending",
        quantity=req.get("quantity", before.quantity if before else None),
        price=req.get("price", before.price if before else None),
        currency=req.get("currency", before.currency if before else None),
        last_job_id=job_id,
        issues=[],
        as_of=before.as_of if before else None,  # pending: Amazon has not taken it yet
    )
