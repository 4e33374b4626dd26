"""Jobs as the submitter and poller leave them for the applier: folded from real events."""

from __future__ import annotations

from typing import Any

from shared.events import (
    ItemState,
    JobCreated,
    JobProcessing,
    JobReserved,
    JobResultReady,
    JobSubmitted,
    next_job_event,
)
from shared.job_state import JobState, fold
from shared.jobs import JobStatus, JobType


def ready_job(
    job_type: JobType,
    items: list[ItemState],
    submitted: dict[str, Any],
    *,
    listings_marked: bool = True,
    result: dict[str, Any] | None = None,
    job_id: str = "job-1",
) -> JobState:
    state = fold(
        None,
        JobReserved(
            job_id=job_id,
            seq=1,
            shop_id="shop1",
            account_id="acc1",
            job_type=job_type,
            status=JobStatus.RESERVED,
            data={"marketplace_id": "A1PA6795UKMFR9", "listings_marked": listings_marked},
            items=items,
        ),
    )
    for cls in (JobCreated, JobProcessing):
        state = fold(state, next_job_event(cls, state))
    state = fold(state, next_job_event(JobSubmitted, state, data=submitted))
    ready = result if result is not None else {"result_document_id": "DOC-1"}
    return fold(state, next_job_event(JobResultReady, state, data=ready))
