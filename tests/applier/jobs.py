"""Jobs as the submitter and poller leave them for the applier: folded from real events."""

from __future__ import annotations

from typing import Any

from shared.events import (
    ItemState,
    JobCreated,
    JobProcessing,
    JobResultReady,
    JobSubmitted,
    next_job_event,
)
from shared.job_state import JobState, fold
from shared.jobs import JobType
from tests.factories import MARKETPLACE, job_state, reserved


def ready_job(
    job_type: JobType,
    items: list[ItemState],
    submitted: dict[str, Any],
    *,
    listings_marked: bool = True,
    result: dict[str, Any] | None = None,
    job_id: str = "job-1",
) -> JobState:
    first = reserved(
        job_id,
        items,
        job_type=job_type,
        account_id="acc1",
        data={"marketplace_id": MARKETPLACE, "listings_marked": listings_marked},
    )
    state = job_state(first, JobCreated, JobProcessing)
    state = fold(state, next_job_event(JobSubmitted, state, data=submitted))
    ready = result if result is not None else {"result_document_id": "DOC-1"}
    return fold(state, next_job_event(JobResultReady, state, data=ready))
