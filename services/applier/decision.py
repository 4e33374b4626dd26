"""From a job with its result ready to the job's last event: pure.

``apply_result`` picks the reader for the job type; ``done_event`` / ``failed_event`` build
the applier's status event (seq + 1, the applier owns the job after ``JobResultReady``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

from services.applier.applied import Applied, ResultError
from services.applier.fulfillment import apply_fulfillment_report
from services.applier.inventory import apply_inventory_report
from services.applier.listings import apply_listings_report
from shared.events import JobDone, JobFailed, ListingState, LogLine, next_job_event
from shared.failures import Failure, failure_of
from shared.job_data import DoneData, FailedData
from shared.job_state import JobState
from shared.jobs import JobType
from shared.listing_sync import APPLIED_STATUS
from shared.spapi.documents import DOWNLOAD
from shared.spapi.errors import (
    DocumentTooLarge,
    MalformedResponse,
    PermanentError,
    SpApiError,
)

Kind = Literal["feed", "report"]


def result_kind(state: JobState) -> Kind:
    return "report" if state.job_type is JobType.INVENTORY_REPORT else "feed"


def result_document_id(state: JobState) -> str | None:
    """The document to download; None when Amazon produced none (a report without data)."""
    document_id = state.facts.result_document_id
    if document_id:
        return document_id
    if result_kind(state) == "report" and state.facts.no_data:
        return None
    raise ResultError("the job's result names no result document to download")


def apply_result(
    state: JobState,
    document: bytes | None,
    *,
    listings: Mapping[str, ListingState] | None = None,
    inventory: Collection[str] = (),
) -> Applied:
    """The outcome of one result document for every item of the job; ``ResultError`` if
    it cannot be applied. ``listings``: the account's listings by SKU as amazon.listings
    holds them; ``inventory``: the account's SKUs on amazon.inventory."""
    if state.job_type is JobType.INVENTORY_REPORT:
        return apply_inventory_report(state, document, inventory)
    if document is None:
        raise ResultError("Amazon produced no processing report for the feed")
    if state.job_type in APPLIED_STATUS:
        return apply_listings_report(state, document, listings or {})
    if state.job_type is JobType.ORDERS_FULFILLMENT:
        return apply_fulfillment_report(state, document)
    raise ResultError(f"{state.job_type.value} jobs have no result document to apply")


def exc_operation(exc: Exception) -> str | None:
    return exc.operation if isinstance(exc, SpApiError) else None


def error_failure(exc: Exception) -> tuple[Failure, str] | None:
    """A download error that fails the job at once, or None when it is worth retrying."""
    if isinstance(exc, ResultError):
        return "malformed_result", str(exc)
    if exc_operation(exc) == DOWNLOAD:
        if isinstance(exc, DocumentTooLarge):  # a report too big to hold, or a GZIP bomb
            return (
                "malformed_result",
                f"the result document was not read: {exc} (the applier reads at most "
                "APPLIER_MAX_DOCUMENT_BYTES)",
            )
        if isinstance(exc, MalformedResponse):  # e.g. a truncated GZIP
            return "malformed_result", f"the result document cannot be read: {exc}"
        if isinstance(exc, PermanentError):
            return None  # the 5-minute URL expired: the retry asks for a new one
    return failure_of(exc, "download the result")


def done_event(state: JobState, applied: Applied) -> JobDone:
    return next_job_event(
        JobDone,
        state,
        data=DoneData(**applied.counts),
        log=applied.log,
        items=applied.items or None,
    )


def failed_event(state: JobState, failure: Failure, message: str) -> JobFailed:
    """JobFailed; items still pending get the reason, items already decided keep theirs."""
    items = [
        item.model_copy(update={"status": "error", "messages": [*item.messages, message]})
        for item in state.items.values()
        if item.status == "pending"
    ]
    return next_job_event(
        JobFailed,
        state,
        data=FailedData(failure=failure, error=message),
        log=[LogLine(level="error", message=message)],
        items=items or None,
    )
