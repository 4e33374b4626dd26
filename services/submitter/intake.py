"""What a ``JobRequested`` becomes: a reserved-then-created job per marketplace, or a
visible failure.

A request names one marketplace of the account, or none: then it is for every marketplace
of the account, and becomes one job per marketplace (``split``; docs/design.md §2). Pure:
the caller supplies the account and listing states it knows of.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
from shared.kafka.partitions import colocated_id
from shared.limits import MAX_LOG_MESSAGE, clip
from shared.listing_issues import kept

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


# Jobs that are about the account, not one marketplace: an orders import asks
# searchOrders for every marketplace at once, and Amazon finds an order by its id.
ACCOUNT_JOBS = frozenset({JobType.ORDERS_IMPORT, JobType.ORDERS_FULFILLMENT})
MAX_JOB_ID = 128  # shared.limits.JobId

# The listing of a SKU on a marketplace as the caller knows it: (marketplace, sku).
ListingOf = Callable[[str, str], ListingState | None]


@dataclass(frozen=True)
class Intake:
    events: list[JobEvent]
    listings: list[ListingState]  # listings marked pending by the new jobs
    job_ids: list[str] = field(default_factory=list)  # the new jobs, the request's first


def marketplaces_for(request: JobRequested, account: AccountRegistered) -> list[str] | str:
    """The marketplaces the request's jobs are for, or why it is refused: the one it names
    (the account must sell there), else every one of the account (one for jobs about the
    account as a whole)."""
    if request.marketplace_id is not None:
        if request.marketplace_id not in account.marketplace_ids:
            return (
                f"marketplace {request.marketplace_id!r} is not a marketplace of account "
                f"{account.account_id!r} ({', '.join(account.marketplace_ids)})"
            )
        return [request.marketplace_id]
    if request.job_type in ACCOUNT_JOBS:
        return account.marketplace_ids[:1]
    return list(account.marketplace_ids)


def split(job_id: str, marketplaces: list[str], partitions: int) -> list[str] | str:
    """One job id per marketplace, or why they cannot be made. The first marketplace's job
    keeps the request's id (what its caller was told and looks for); each other one is
    ``<id>@<marketplace>-<n>``, ``n`` the smallest that puts it on the request's partition,
    so the submitter instance that owns the request owns every job of it."""
    ids = [job_id]
    for marketplace in marketplaces[1:]:
        sibling = colocated_id(f"{job_id}@{marketplace}", job_id, partitions)
        if len(sibling) > MAX_JOB_ID:
            return (
                f"job id {job_id!r} is too long to name one job per marketplace "
                f"({sibling!r} is over {MAX_JOB_ID} characters): name a marketplace, or "
                "use a shorter id"
            )
        ids.append(sibling)
    return ids


def listing_snapshot(listing: ListingState | None) -> dict[str, Any] | None:
    if listing is None:
        return None
    return listing.model_dump(mode="json", include=_LISTING_FIELDS)


def _made_by(request: JobRequested) -> str:
    return f", from schedule {request.schedule_id}" if request.schedule_id else ""


def _rejected_data(request: JobRequested) -> FailedData:
    data = FailedData.model_construct(rejected=True, failure="rejected")
    if request.retry_of is not None:
        # Set only when there is one: an unset field is not said on the bus.
        data = FailedData.model_construct(
            rejected=True, failure="rejected", retry_of=request.retry_of
        )
    return data


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
        data=_rejected_data(request),
        log=[line],
        items=None,
    )


def accept(
    request: JobRequested,
    account: AccountRegistered | None,
    listings: ListingOf,
    patch_max_items: int = 0,
    partitions: int = 1,
) -> Intake | JobFailed:
    """Validate a request and make its jobs, one per marketplace; ``listings``: the
    account's current state of a SKU on a marketplace; ``patch_max_items``: the largest
    urgent job sent by patchListingsItem (the quota class its log names);
    ``partitions``: of the job topics (where the jobs of a split land)."""
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
    marketplaces = marketplaces_for(request, account)
    if isinstance(marketplaces, str):
        return reject(request, marketplaces)
    job_ids = split(request.job_id, marketplaces, partitions)
    if isinstance(job_ids, str):
        return reject(request, job_ids)
    requested = [(item_key(i), i.model_dump(mode="json", exclude_none=True)) for i in items]
    notes: list[LogLine] = []
    if len(job_ids) > 1:
        said = ", ".join(f"{m}: {j}" for j, m in zip(job_ids, marketplaces, strict=True))
        notes.append(LogLine(message=f"one job per marketplace of the account ({said})"))
    intake = Intake([], [], job_ids)
    for job_id, marketplace in zip(job_ids, marketplaces, strict=True):
        one = _one_job(
            request, account, job_id, marketplace, requested, listings, params, patch_max_items
        )
        if notes:
            reserved = one.events[0]
            one.events[0] = reserved.model_copy(update={"log": [*reserved.log, *notes]})
        intake.events.extend(one.events)
        intake.listings.extend(one.listings)
    return intake


def _one_job(
    request: JobRequested,
    account: AccountRegistered,
    job_id: str,
    marketplace: str,
    requested: list[tuple[str, dict[str, Any]]],
    listings: ListingOf,
    params: Any,
    patch_max_items: int,
) -> Intake:
    marks_listings = request.job_type in LISTING_JOBS
    before = {key: listings(marketplace, key) if marks_listings else None for key, _ in requested}
    states = [
        ItemState(key=key, request=item, before=listing_snapshot(before[key]))
        for key, item in requested
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
        marketplace_id=marketplace,
        automatic=False,
        listings_marked=marks_listings,
        **given,
    )
    what = f"{len(states)} item(s)" if states else "its parameters"
    job: dict[str, Any] = {
        "job_id": job_id,
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
            pending_listing(
                job_id, request.shop_id, account.account_id, marketplace, s, before[s.key]
            )
            for s in states
        ]
        if marks_listings
        else []
    )
    return Intake([reserved, created], marked, [job_id])


def pending_listing(
    job_id: str,
    shop_id: str,
    account_id: str,
    marketplace_id: str,
    item: ItemState,
    before: ListingState | None,
) -> ListingState:
    """The listing as the merchant should see it while the job is on its way."""
    req = item.request
    return ListingState(
        account_id=account_id,
        shop_id=shop_id,
        sku=item.key,
        marketplace_id=marketplace_id,
        asin=req.get("asin") or (before.asin if before else None),
        status="pending",
        quantity=req.get("quantity", before.quantity if before else None),
        price=req.get("price", before.price if before else None),
        currency=req.get("currency", before.currency if before else None),
        last_job_id=job_id,
        issues=[],
        as_of=before.as_of if before else None,  # pending: Amazon has not taken it yet
        **kept(before),  # the latest result's issues stay until the job's result replaces them
    )
