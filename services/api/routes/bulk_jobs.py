"""Bulk actions: cancel or retry many jobs at once, by ids or by the list's filters.

Each job gets the answer its own action would have had, as a result of its own: a job
that cannot be canceled or retried is a refusal with the reason, never a failure of the
call. At most ``MAX_BULK_JOBS`` jobs per call (docs/design.md §6).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter

from services.api.auth import Principal
from services.api.bodies import StrictJsonRoute
from services.api.deps import Caller, Db, Publisher
from services.api.errors import ApiError
from services.api.models import MAX_BULK_JOBS, BulkAction, BulkResult, BulkResults, ErrorBody
from services.api.retries import NotRetryable, request_retry
from services.api.routes.jobs import jobs_query, new_job_id
from services.api.store import Database
from shared.events import CancelRequested
from shared.jobs import JobStatus
from shared.state_machine import cancel_rejection_reason
from shared.topics import JOB_REQUESTS

router = APIRouter(prefix="/v1/jobs/bulk", tags=["jobs"], route_class=StrictJsonRoute)
# Jobs acted on at once: their messages go out together, each still confirmed.
CONCURRENCY = 32
RESPONSES: dict[int | str, dict[str, Any]] = {
    **{code: {"model": ErrorBody} for code in (401, 503)},
    422: {
        "model": ErrorBody,
        "description": f"Neither or both of job_ids and filter, more than {MAX_BULK_JOBS} "
        "ids, or a filter matching more than that: narrow it (a created range) and call "
        "again.",
    },
}
Doc = dict[str, Any]


async def _jobs(db: Database, who: Principal, body: BulkAction) -> tuple[list[str], dict[str, Doc]]:
    """The ids the call names, in order, and those of them the caller may see."""
    if body.job_ids is not None:
        ids = list(dict.fromkeys(body.job_ids))
        found = db.jobs.find({"_id": {"$in": ids}})
        docs = {d["_id"]: d async for d in found if who.sees(d["shop_id"])}
        return ids, docs
    f = body.filter
    assert f is not None  # BulkAction holds one or the other
    query = jobs_query(who, f.account_id, f.job_type, f.status, f.created_from, f.created_to)
    cursor = db.jobs.find(query).sort([("created_at", -1), ("_id", -1)]).limit(MAX_BULK_JOBS + 1)
    matched = [d async for d in cursor]
    if len(matched) > MAX_BULK_JOBS:
        raise ApiError(
            422,
            "too_many",
            f"filter: matches more than {MAX_BULK_JOBS} jobs, the most one call acts on; "
            "narrow it (created_from, created_to) and call again",
        )
    return [d["_id"] for d in matched], {d["_id"]: d for d in matched}


async def _each(
    ids: list[str], docs: dict[str, Doc], act: Callable[[Doc], Awaitable[BulkResult]]
) -> BulkResults:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(job_id: str) -> BulkResult:
        doc = docs.get(job_id)
        if doc is None:  # another shop's job is as unknown as a missing one
            return BulkResult(job_id=job_id, outcome="refused", reason="job not found")
        async with gate:
            return await act(doc)

    results = await asyncio.gather(*(one(j) for j in ids))
    return BulkResults(matched=len(ids), results=list(results))


@router.post("/cancel", response_model=BulkResults, responses=RESPONSES)
async def bulk_cancel(body: BulkAction, db: Db, who: Caller, publisher: Publisher) -> BulkResults:
    """Cancel many jobs: by ``job_ids`` or every job the ``filter`` matches (at most
    1,000). A result per job: ``requested``, or ``refused`` with the reason (a job no
    longer reserved or created)."""
    ids, docs = await _jobs(db, who, body)

    async def cancel(doc: Doc) -> BulkResult:
        reason = cancel_rejection_reason(JobStatus(doc["status"]))
        if reason is not None:
            return BulkResult(job_id=doc["_id"], outcome="refused", reason=reason)
        cancel = CancelRequested(job_id=doc["_id"], shop_id=doc["shop_id"])
        await publisher.publish(JOB_REQUESTS, doc["_id"], cancel)
        return BulkResult(job_id=doc["_id"], outcome="requested")

    return await _each(ids, docs, cancel)


@router.post("/retry", response_model=BulkResults, responses=RESPONSES)
async def bulk_retry(body: BulkAction, db: Db, who: Caller, publisher: Publisher) -> BulkResults:
    """Retry many finished jobs: by ``job_ids`` or every job the ``filter`` matches (at
    most 1,000). A result per job: ``requested`` with its ``new_job_id``, or ``refused``
    with the reason (not finished, nothing failed). With a ``request_id`` the call can be
    sent again safely: the same new job ids, no second retry."""
    ids, docs = await _jobs(db, who, body)

    async def retry(doc: Doc) -> BulkResult:
        if body.request_id is None:
            new_id = new_job_id(doc["shop_id"])
        else:  # the same call again names the same new jobs: each is one retry
            digest = hashlib.blake2b(f"{doc['_id']}|{body.request_id}".encode(), digest_size=8)
            new_id = f"api-{doc['shop_id']}-r{digest.hexdigest()}"
        try:
            await request_retry(db, publisher, doc, new_id)
        except NotRetryable as exc:
            return BulkResult(job_id=doc["_id"], outcome="refused", reason=str(exc))
        return BulkResult(job_id=doc["_id"], outcome="requested", new_job_id=new_id)

    return await _each(ids, docs, retry)
