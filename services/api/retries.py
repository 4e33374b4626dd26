"""Retrying a finished job: which of its items go again, and the request that carries them.

A retry is an ordinary ``JobRequested`` of the original's type, account and shop, with its
parameters and priority, naming the original in ``retry_of`` (docs/design.md §6): the API
decides nothing about the new job, the submitter takes it in like any other. The items
that go again are those that did not succeed (``accepted`` and ``warning`` did); a job
that failed as a whole left its items ``pending`` or ``error``, so all of them go again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from services.api.projection import ITEMS_PER_PAGE, page_id
from services.api.publishing import Publishing
from services.api.store import Database
from shared.chunking import TooLarge, request_parts
from shared.events import JobRequested
from shared.jobs import JobStatus, JobType
from shared.topics import JOB_REQUESTS

SUCCEEDED = frozenset({"accepted", "warning"})
# How many retries one job may have: its document lists them (``retried_by``), and a
# list without a bound is a document without one.
MAX_RETRIES_PER_JOB = 100
Doc = dict[str, Any]


class NotRetryable(Exception):
    """Why a job cannot be retried (a 409, or a bulk action's refusal)."""


def retry_request(job: Doc, rows: list[Doc], new_job_id: str) -> JobRequested:
    """The request that retries ``job`` (its projected document), from its item rows in
    request order; :class:`NotRetryable` says why there is none."""
    status = JobStatus(job["status"])
    if not status.is_terminal:
        raise NotRetryable(
            f"the job is {status.label.lower()}: only a finished job (done, error or "
            "canceled) can be retried"
        )
    if len(job.get("retried_by") or []) >= MAX_RETRIES_PER_JOB:
        raise NotRetryable(f"the job has been retried {MAX_RETRIES_PER_JOB} times already")
    job_type = JobType(job["job_type"])
    items: list[Doc] | None = None
    if job_type.carries_items:
        if not rows:
            raise NotRetryable("the job recorded no items (it was refused on arrival)")
        items = [dict(r["request"]) for r in rows if r["status"] not in SUCCEEDED]
        if not items:
            raise NotRetryable("every item of the job succeeded: nothing to retry")
    elif status is JobStatus.DONE:
        raise NotRetryable("the job is done: nothing to retry")
    data = job.get("data") or {}
    return JobRequested(
        job_id=new_job_id,
        shop_id=job["shop_id"],
        account_id=job["account_id"],
        job_type=job_type,
        items=items,
        params=data.get("params"),
        priority=data.get("priority"),
        retry_of=job["_id"],
        # The original's marketplace alone: without it the retry would go to every one.
        marketplace_id=data.get("marketplace_id"),
    )


async def item_rows(db: Database, job: Doc) -> list[Doc]:
    """A job's item rows in request order, read page by page by ``_id`` (one index lookup
    each: a 25,000-item job is 125 of them)."""
    total = (job.get("counts") or {}).get("total", 0)
    rows: list[Doc] = []
    for n in range(-(-total // ITEMS_PER_PAGE)):
        page = await db.job_item_pages.find_one({"_id": page_id(job["_id"], n)})
        rows += (page or {}).get("items") or []
    return rows


async def retried_by(db: Database, job_id: str) -> list[str]:
    """The jobs that retry ``job_id``, oldest first (the projector's ``job_links``)."""
    link = await db.job_links.find_one({"_id": job_id})
    return list((link or {}).get("retried_by") or [])


async def request_retry(db: Database, publisher: Publishing, job: Doc, new_job_id: str) -> None:
    """Publish the retry of ``job`` (its projected document) as job ``new_job_id``.

    A repeat with the same new id (the caller's retry of the call) sends nothing once the
    new job is projected, and before that the submitter drops the repeated request."""
    existing = await db.jobs.find_one({"_id": new_job_id})
    if existing is not None:
        same = existing["shop_id"] == job["shop_id"]
        if same and (existing.get("data") or {}).get("retry_of") == job["_id"]:
            return
        raise NotRetryable(f"job id {new_job_id!r} is taken")
    links = await retried_by(db, job["_id"])
    rows = await item_rows(db, job) if JobType(job["job_type"]).carries_items else []
    request = retry_request({**job, "retried_by": links}, rows, new_job_id)
    try:
        # Cutting 25,000 items takes a while: in a thread, so the process goes on meanwhile.
        parts = await asyncio.to_thread(request_parts, request)
    except TooLarge as exc:  # the original fitted, so its failed items do: never expected
        raise NotRetryable(f"the retry does not fit the bus: {exc}") from exc
    await publisher.publish_many(JOB_REQUESTS, new_job_id, list(parts))
