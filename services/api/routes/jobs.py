"""Jobs: the Amazon Jobs table, one job, its items and log; create and cancel."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.api.auth import Principal
from services.api.bodies import StrictJsonRoute
from services.api.deps import Caller, Db, Publisher, visible_account, visible_job
from services.api.errors import ApiError
from services.api.log_pages import read_log_page
from services.api.models import (
    Accepted,
    AccountRef,
    ErrorBody,
    IsoDateTime,
    ItemCounts,
    JobCreate,
    JobDetail,
    JobItemRow,
    JobRow,
    LogRow,
    Page,
    RetryAccepted,
    RetryCreate,
)
from services.api.pagination import Keyset, decode_cursor, encode_cursor, read_page
from services.api.projection import ITEMS_PER_PAGE, page_id
from services.api.publishing import BusUnavailable
from services.api.retries import NotRetryable, request_retry, retried_by
from services.api.store import Database
from shared.chunking import TooLarge, request_parts
from shared.events import CancelRequested, JobRequested
from shared.job_items import InvalidJobPayload, parse_request_payload
from shared.jobs import JobStatus, JobType
from shared.state_machine import cancel_rejection_reason
from shared.topics import JOB_REQUESTS

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], route_class=StrictJsonRoute)
NEWEST_JOB_FIRST = Keyset((("created_at", datetime), ("_id", str)), descending=True)
# A job's log, oldest first; ties in time go by the job's event order.


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 422, 503)
}
CREATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": ErrorBody, "description": "The job id is another shop's."},
    413: {
        "model": ErrorBody,
        "description": "The body is larger than the API takes (API_MAX_BODY_BYTES, 32 MiB: "
        "all a request can carry on the bus). Final: do not retry it as it is.",
    },
    422: {
        "model": ErrorBody,
        "description": "The request is invalid, names more than 25,000 items, or does not fit "
        "the bus however it is cut; the message names the field or the limit. Final.",
    },
    503: {
        "model": ErrorBody,
        "description": "Kafka or MongoDB did not answer in time: retry with the same job_id "
        "(after Retry-After); a request that did arrive is then not taken twice.",
    },
}


async def _account_names(db: Database, ids: set[str]) -> dict[str, str | None]:
    return {d["_id"]: d.get("name") async for d in db.accounts.find({"_id": {"$in": list(ids)}})}


def _row(doc: dict[str, Any], names: dict[str, str | None]) -> dict[str, Any]:
    status = JobStatus(doc["status"])
    job_type = JobType(doc["job_type"])
    return {
        "id": doc["_id"],
        "shop_id": doc["shop_id"],
        "account": AccountRef(id=doc["account_id"], name=names.get(doc["account_id"])),
        "job_type": job_type,
        "job_type_label": job_type.label,
        "status": status,
        "status_label": status.label,
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "items": ItemCounts(**(doc.get("counts") or {})),
        "cancelable": status.is_cancelable,
    }


def jobs_query(
    who: Principal,
    account_id: str | None,
    job_type: JobType | None,
    status: JobStatus | None,
    created_from: datetime | None,
    created_to: datetime | None,
) -> dict[str, Any]:
    """The MongoDB query of the list's filters, within what the caller may see (the
    list and the bulk actions share it)."""
    query: dict[str, Any] = {}
    if not who.is_admin:
        query["shop_id"] = who.shop_id
    if account_id:
        query["account_id"] = account_id
    if job_type:
        query["job_type"] = job_type.value
    if status:
        query["status"] = status.value
    created: dict[str, Any] = {}
    if created_from:
        created["$gte"] = created_from
    if created_to:
        created["$lte"] = created_to
    if created_from and created_to and created_from > created_to:
        raise ApiError(422, "invalid", "created_from: must not be after created_to")
    if created:
        query["created_at"] = created
    return query


@router.get("", response_model=Page[JobRow], responses=ERRORS)
async def list_jobs(
    db: Db,
    who: Caller,
    account_id: Annotated[str | None, Query(min_length=1)] = None,
    job_type: JobType | None = None,
    status: JobStatus | None = None,
    created_from: IsoDateTime | None = None,
    created_to: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> Page[JobRow]:
    """Jobs, newest first, with the manual's columns and item counts."""
    query = jobs_query(who, account_id, job_type, status, created_from, created_to)
    docs, next_cursor = await read_page(db.jobs, query, NEWEST_JOB_FIRST, limit, cursor)
    names = await _account_names(db, {d["account_id"] for d in docs})
    return Page[JobRow](data=[JobRow(**_row(d, names)) for d in docs], next_cursor=next_cursor)


def _request_parts(body: JobCreate, job_id: str, shop_id: str) -> list[JobRequested]:
    """The request as the messages that carry it, or a 422 saying what is wrong."""
    try:
        parse_request_payload(body.job_type, body.items, body.params, body.priority)
    except InvalidJobPayload as exc:
        raise ApiError(422, "invalid", str(exc)) from exc
    request = JobRequested(
        job_id=job_id,
        shop_id=shop_id,
        account_id=body.account_id,
        job_type=body.job_type,
        items=body.items,
        params=body.params,
        priority=body.priority,
        marketplace_id=body.marketplace_id,
    )
    try:
        return request_parts(request)
    except TooLarge as exc:
        raise ApiError(422, "too_large", f"items: {exc}") from exc


@router.post("", status_code=202, response_model=Accepted, responses=CREATE_ERRORS)
async def create_job(body: JobCreate, db: Db, who: Caller, publisher: Publisher) -> Accepted:
    """Request a job; it appears in the list as the system takes it up (202).

    Up to 25,000 items of any job type. A request too large for one message goes on the
    bus in parts under its job id (docs/design.md §11); a retry with the same ``job_id``
    is never a second job. Without ``marketplace_id`` a listings job or inventory report
    is for every marketplace of the account: one job per marketplace, the first keeping
    ``job_id``, each other ``<job_id>@<marketplace>-<n>`` (each job's first log line
    names them all)."""
    shop_id = body.shop_id or (None if who.is_admin else who.shop_id)
    if shop_id is None:
        raise ApiError(422, "invalid", "shop_id: an admin key must name the shop")
    if not who.sees(shop_id):
        raise ApiError(404, "not_found", f"shop {shop_id!r} not found")
    # The cheap refusals first: a caller retrying until its account is projected must
    # not cost a check of 25,000 items each time.
    account = await visible_account(db, who, body.account_id)
    if account["shop_id"] != shop_id:
        raise ApiError(404, "not_found", f"account {body.account_id!r} not found")
    marketplaces = account.get("marketplace_ids") or []
    if body.marketplace_id is not None and body.marketplace_id not in marketplaces:
        raise ApiError(
            422,
            "invalid",
            f"marketplace_id: {body.marketplace_id!r} is not a marketplace of account "
            f"{body.account_id!r} ({', '.join(marketplaces)})",
        )
    job_id = body.job_id or new_job_id(shop_id)
    existing = await db.jobs.find_one({"_id": job_id}, {"shop_id": 1})
    if existing is not None:
        if existing["shop_id"] != shop_id:
            raise ApiError(409, "conflict", f"job id {job_id!r} is taken")
        # A retry of a request that arrived: the job exists, nothing to send again.
        return Accepted(job_id=job_id, status="requested")
    # Checking and cutting 25,000 items takes the best part of a second: in a thread, so
    # the projector and other callers in this process go on meanwhile.
    parts = await asyncio.to_thread(_request_parts, body, job_id, shop_id)
    try:
        # One key, so every part goes to one partition, in order; the submitter takes
        # the request once all parts are there, and drops the parts of a repeat.
        await publisher.publish_many(JOB_REQUESTS, job_id, list(parts))
    except BusUnavailable as exc:
        # The request may still arrive: a retry with this job id is then a no-op.
        raise BusUnavailable(f"{exc}: retry with job_id {job_id!r}") from exc
    return Accepted(job_id=job_id, status="requested")


@router.get("/{job_id}", response_model=JobDetail, responses=ERRORS)
async def get_job(job_id: str, db: Db, who: Caller) -> JobDetail:
    doc = await visible_job(db, who, job_id)
    names = await _account_names(db, {doc["account_id"]})
    data = doc.get("data") or {}
    return JobDetail(
        **_row(doc, names),
        data=data,
        seq=doc["seq"],
        retry_of=data.get("retry_of"),
        retried_by=await retried_by(db, job_id),
    )


@router.get("/{job_id}/items", response_model=Page[JobItemRow], responses=ERRORS)
async def list_job_items(
    job_id: str,
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
) -> Page[JobItemRow]:
    """The job's items in the order of its request, with each one's status and messages."""
    job = await visible_job(db, who, job_id)
    (start,) = decode_cursor(cursor, (int,)) if cursor else (0,)
    if start < 0:
        raise ApiError(422, "invalid", "cursor: not a cursor of this endpoint")
    rows: list[dict[str, Any]] = []
    place = start
    stored: list[dict[str, Any]] = []  # the last page read, whole
    # Pages by _id (one index lookup each) until the page is full.
    while len(rows) < limit:
        n, at = divmod(place, ITEMS_PER_PAGE)
        page = await db.job_item_pages.find_one({"_id": page_id(job_id, n)})
        stored = list((page or {}).get("items") or [])
        taken = stored[at : at + limit - len(rows)]
        if not taken:
            break
        rows += taken
        place += len(taken)
    return Page[JobItemRow](
        data=[JobItemRow(**r) for r in rows],
        next_cursor=encode_cursor([place])
        if await _more_items(db, job, place, len(rows) == limit, stored)
        else None,
    )


async def _more_items(
    db: Db, job: dict[str, Any], place: int, full: bool, stored: list[dict[str, Any]]
) -> bool:
    """Whether the job has an item at ``place``. Its row's count says so without a read
    when it can: the row is written after the pages (projector.py), so it never counts an
    item that is not stored yet, but may lag one that is: then the page is looked at."""
    if not full:
        return False
    if place < int((job.get("counts") or {}).get("total") or 0):
        return True
    n, at = divmod(place, ITEMS_PER_PAGE)
    if at > 0:  # on the page read last
        return len(stored) > at
    page = await db.job_item_pages.find_one({"_id": page_id(job["_id"], n)}, {"_id": 1})
    return page is not None


@router.get("/{job_id}/log", response_model=Page[LogRow], responses=ERRORS)
async def list_job_log(
    job_id: str,
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: str | None = None,
) -> Page[LogRow]:
    """The job's log, oldest first (ties in time go by the job's event order)."""
    await visible_job(db, who, job_id)
    rows, next_cursor = await read_log_page(db, job_id, limit, cursor)
    return Page[LogRow](data=[LogRow(**r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/{job_id}/cancel",
    status_code=202,
    response_model=Accepted,
    responses={**ERRORS, 409: {"model": ErrorBody}},
)
async def cancel_job(job_id: str, db: Db, who: Caller, publisher: Publisher) -> Any:
    """Cancel a job that is still reserved or created; 409 with the reason otherwise."""
    doc = await visible_job(db, who, job_id)
    reason = cancel_rejection_reason(JobStatus(doc["status"]))
    if reason is not None:
        return JSONResponse(
            {"error": {"code": "not_cancelable", "message": reason}}, status_code=409
        )
    await publisher.publish(
        JOB_REQUESTS, job_id, CancelRequested(job_id=job_id, shop_id=doc["shop_id"])
    )
    return Accepted(job_id=job_id, status="cancel_requested")


@router.post(
    "/{job_id}/retry",
    status_code=202,
    response_model=RetryAccepted,
    responses={
        **ERRORS,
        409: {
            "model": ErrorBody,
            "description": "The job is not finished, nothing of it failed, or the new "
            "job id is another shop's.",
        },
    },
)
async def retry_job(
    job_id: str, db: Db, who: Caller, publisher: Publisher, body: RetryCreate | None = None
) -> Any:
    """Retry a finished job (202 with the new job): a new job of the same type, account
    and parameters with the items that did not succeed — all of them when the job failed
    as a whole. The new job shows ``retry_of``, this one ``retried_by``. 409 when the job
    is not finished (done, error, canceled) or nothing of it failed."""
    doc = await visible_job(db, who, job_id)
    new_id = (body.job_id if body else None) or new_job_id(doc["shop_id"])
    try:
        await request_retry(db, publisher, doc, new_id)
    except NotRetryable as exc:
        return JSONResponse({"error": {"code": "not_retryable", "message": str(exc)}}, 409)
    return RetryAccepted(job_id=new_id, retry_of=job_id, status="requested")


def new_job_id(shop_id: str) -> str:
    return f"api-{shop_id}-{uuid.uuid4().hex[:12]}"
