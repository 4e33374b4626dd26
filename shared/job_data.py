"""What each job event says in its ``data``, typed (docs/design.md §4).

``JobEvent.data`` is the contract between the stages of a job: the submitter names the
feed or report it handed to Amazon, the poller what Amazon said of it, the applier what
the result came to. Each job event kind declares its payload here; :class:`JobFacts` is
the union of all of them, the view a folded job keeps (``JobState.facts``).

On the wire a payload is a flat JSON object under ``data`` with only the keys its writer
set: a key set to null (an orders import's ``cursor`` at its last page) is said, a key
left out is not. :func:`merge_data` is the one rule by which a job's events add up.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from shared.job_items import JobParams
from shared.limits import (
    MAX_ITEMS,
    ErrorText,
    Identifier,
    JobId,
    LogText,
    Priority,
)

# Why a job failed, in ``JobFailed.data.failure``: one vocabulary for dashboards and
# alerts (shared.failures reads errors into it).
Failure = Literal[
    "rejected",  # the request was refused on arrival (intake)
    "refused",  # Amazon refused the call itself (a bad request, an unknown id, …)
    "credentials",  # the seller's authorisation no longer works
    "unknown_account",  # the job's account is not (or no longer) registered
    "unavailable",  # Amazon or the network kept failing until the attempts ran out
    "fatal",  # Amazon aborted the feed or report
    "cancelled",  # Amazon cancelled the feed
    "timeout",  # Amazon did not finish within the waiting limit
    "no_submission",  # the job's data names no feed or report to poll
    "malformed_result",  # the result document (or the submission data) cannot be read
    "internal",  # a bug on our side; the service's log has the traceback
]

# A feed's or report's processing status as Amazon says it (shared.spapi's
# ProcessingStatus, spelt out so that the events do not depend on the client).
AmazonStatus = Literal["IN_QUEUE", "IN_PROGRESS", "DONE", "CANCELLED", "FATAL"]

# Amazon's ids (feeds, reports, documents: "50012345", "amzn1.tortuga.4.eu.…") and type
# names. Bounded but not held to a pattern: they are recorded after the call that cannot be
# taken back, where a refusal would lose the record of what was sent.
AmazonId = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
# Amazon's pagination tokens are opaque and longer.
Cursor = Annotated[str, Field(max_length=8_192)]
Count = Annotated[int, Field(ge=0, le=2**31 - 1, strict=True)]


class JobData(BaseModel):
    """A job event's payload: every key optional, none but its own allowed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_serializer(mode="wrap")
    def _only_said(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The keys the writer set and no others, so that the wire carries what it always
        # did (readers tell "said null" from "not said").
        out: dict[str, Any] = handler(self)
        return {k: v for k, v in out.items() if k in self.model_fields_set}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The fields' schema, not the serializer's return type (a bare object).
        return handler({k: v for k, v in core_schema.items() if k != "serialization"})


class NoData(JobData):
    """The payload of the job events that carry none."""


class ReservedData(JobData):
    """``JobReserved``: how the job was taken in."""

    marketplace_id: Identifier | None = None  # the marketplace its feed or report is for
    automatic: bool | None = None  # opened by catalog changes (coalescing), not a request
    # An automatic job of urgent changes only (stock to 0): served before the others, by
    # patchListingsItem while it is small (services/submitter/routing.py).
    urgent: bool | None = None
    listings_marked: bool | None = None  # its listings were marked pending on intake
    params: JobParams | None = None  # inventory_report / orders_import parameters
    priority: Priority | None = None  # the caller's priority, when given
    retry_of: JobId | None = None  # the job this one retries (its items that failed)
    schedule_id: Identifier | None = None  # the schedule that asked for it


class SubmittedData(JobData):
    """``JobSubmitted``: the feed or report handed to Amazon (what the poller asks about)."""

    feed_id: AmazonId | None = None
    feed_type: AmazonId | None = None
    input_document_id: AmazonId | None = None  # the uploaded feed document
    report_id: AmazonId | None = None
    report_type: AmazonId | None = None
    marketplace_id: Identifier | None = None
    submitted_at: AwareDatetime | None = None  # orders results against newer ones
    # Written by jobs submitted before feeds numbered their messages by the items'
    # ordinals: messageId → item key, and SKU → matched ASIN. Read, never written.
    messages: dict[str, str] | None = Field(default=None, max_length=MAX_ITEMS)
    asins: dict[str, str | None] | None = Field(default=None, max_length=MAX_ITEMS)


class AmazonOutcome(JobData):
    """How Amazon ended a feed or report, as the poller read it."""

    processing_status: AmazonStatus | None = None
    processing_end_time: AwareDatetime | None = None
    result_document_id: AmazonId | None = None


class ResultReadyData(AmazonOutcome):
    """``JobResultReady``: the result document to apply."""

    no_data: bool | None = None  # a report Amazon cancelled for lack of data: zero rows


class FailedData(AmazonOutcome):
    """``JobFailed``: why, in the vocabulary of :data:`Failure` and in words."""

    failure: Failure | None = None
    error: ErrorText | None = None
    rejected: bool | None = None  # refused on intake
    # A retry refused on intake still names the job it retries, so both show the link.
    retry_of: JobId | None = None
    waited_s: Count | None = None  # a timeout: Amazon seconds waited


class DoneData(JobData):
    """``JobDone``: what the result came to."""

    processed: Count | None = None
    accepted: Count | None = None
    errors: Count | None = None
    warnings: Count | None = None
    rows: Count | None = None  # inventory report rows imported
    removed: Count | None = None  # inventory rows of earlier reports removed
    orders: Count | None = None  # orders imported
    pages: Count | None = None  # pages of orders read


class LoggedData(JobData):
    """``JobLogged``: checkpoints of a job in flight."""

    sending: bool | None = None  # the call that cannot be taken back is on its way
    # An orders import's progress: the next page's token (null after the last page),
    # pages read, orders published.
    cursor: Cursor | None = None
    pages: Count | None = None
    orders: Count | None = None


class CancelRejectedData(JobData):
    """``JobCancelRejected``: why the job could not be canceled any more."""

    cancel_rejected: LogText | None = None


class JobFacts(
    ReservedData,
    SubmittedData,
    ResultReadyData,
    FailedData,
    DoneData,
    LoggedData,
    CancelRejectedData,
):
    """What all of a job's events said, merged (:func:`merge_data`): every key of every
    payload, each as the newest event that set it said it."""


def said(payload: JobData) -> dict[str, Any]:
    """The keys an event set, with their values (a key set to None included)."""
    return {name: getattr(payload, name) for name in payload.model_fields_set}


def merge_data(old: dict[str, Any], payload: JobData, *, json: bool = False) -> dict[str, Any]:
    """The one merge rule of a job's data: the keys ``payload`` set replace those of
    ``old``; the others stay. ``json``: ``old`` and the result are JSON values (the API's
    stored documents), else Python values (the folded :class:`JobFacts`)."""
    if not payload.model_fields_set:
        return old
    new = payload.model_dump(mode="json") if json else said(payload)
    return {**old, **new}


def merge_facts(facts: JobFacts, payload: JobData) -> JobFacts:
    """``facts`` with what one more event said. Values were validated by the payload's
    own model, whose fields ``JobFacts`` shares, so they are taken as they are."""
    if not payload.model_fields_set:
        return facts
    return JobFacts.model_construct(**merge_data(said(facts), payload))
