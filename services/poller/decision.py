"""What the poller does with what Amazon says: pure functions from a job's state and a
feed's or report's status to the next job event.

- DONE → ``JobResultReady`` naming the result document (the applier's turn);
- FATAL, or a feed CANCELLED → ``JobFailed``: nothing to apply, the log says why;
- a report CANCELLED → ``JobResultReady`` without a document. Amazon cancels a report by
  itself only when there is no data to return (the system never cancels a report it
  requested: cancel is possible only before the request is sent), so an inventory report
  CANCELLED by Amazon means "the account has no listings": the applier imports it as zero
  rows, which is true, rather than failing a job that asked a question and got an answer;
- IN_QUEUE / IN_PROGRESS → keep waiting, unless the job has waited longer than the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from shared.events import JobFailed, JobLogged, JobResultReady, LogLine, next_job_event
from shared.failures import Failure, failure_of
from shared.job_data import AmazonOutcome, FailedData, ResultReadyData, said
from shared.job_state import JobState
from shared.spapi.models.feeds import Feed, ProcessingStatus
from shared.spapi.models.reports import Report

Kind = Literal["feed", "report"]


class NothingToPoll(ValueError):
    """The job waits for a result but its data names no feed or report."""


@dataclass(frozen=True, slots=True)
class Submission:
    """What the submitter handed to Amazon, from ``JobSubmitted.data`` (the job's facts)."""

    job_id: str
    account_id: str
    kind: Kind
    remote_id: str  # feed id or report id
    remote_type: str  # feed type or report type
    submitted_at: datetime

    @property
    def label(self) -> str:
        return f"{self.kind} {self.remote_id}"


@dataclass(frozen=True, slots=True)
class RemoteStatus:
    """A feed's or report's processing status, as getFeed(s) / getReport answer it."""

    processing_status: ProcessingStatus
    result_document_id: str | None = None
    processing_end_time: datetime | None = None

    @classmethod
    def of_feed(cls, feed: Feed) -> RemoteStatus:
        return cls(feed.processing_status, feed.result_feed_document_id, feed.processing_end_time)

    @classmethod
    def of_report(cls, report: Report) -> RemoteStatus:
        return cls(report.processing_status, report.report_document_id, report.processing_end_time)


@dataclass(frozen=True, slots=True)
class StillWaiting:
    processing_status: ProcessingStatus | None = None


@dataclass(frozen=True, slots=True)
class ResultReady:
    data: ResultReadyData
    message: str


@dataclass(frozen=True, slots=True)
class FailJob:
    failure: Failure
    message: str
    # What Amazon said of the feed or report, or how long the job waited.
    data: FailedData = field(default_factory=FailedData)


Decision = StillWaiting | ResultReady | FailJob


def submission_of(state: JobState) -> Submission:
    """The feed or report a waiting job waits for; :class:`NothingToPoll` if none."""
    facts = state.facts
    if facts.feed_id:
        kind: Kind = "feed"
        remote_id, remote_type = facts.feed_id, facts.feed_type or ""
    elif facts.report_id:
        kind = "report"
        remote_id, remote_type = facts.report_id, facts.report_type or ""
    else:
        raise NothingToPoll(
            "the job waits for a result but its submission names no feed_id or report_id; "
            "there is nothing to ask Amazon about"
        )
    return Submission(
        job_id=state.job_id,
        account_id=state.account_id,
        kind=kind,
        remote_id=remote_id,
        remote_type=remote_type,
        submitted_at=facts.submitted_at or state.updated_at,
    )


def waited_s(submission: Submission, now: datetime, time_scale: float) -> float:
    """Amazon seconds the job has waited since its submission."""
    return max(0.0, (now - submission.submitted_at).total_seconds() * time_scale)


def decide(
    submission: Submission, remote: RemoteStatus, waited: float, max_wait_s: float
) -> Decision:
    status = remote.processing_status
    what = submission.label
    amazon = _amazon_said(remote)
    if status is ProcessingStatus.DONE:
        if remote.result_document_id is None:
            return FailJob(
                "fatal",
                f"Amazon reports {what} DONE but names no result document; nothing can be "
                "applied. Send the job again.",
                FailedData(**amazon),
            )
        return ResultReady(
            ResultReadyData(**amazon),
            f"{what} processed by Amazon{_at(remote)}; result document "
            f"{remote.result_document_id} is ready to apply",
        )
    if status is ProcessingStatus.CANCELLED:
        if submission.kind == "report":
            return ResultReady(
                ResultReadyData(**amazon, no_data=True),
                f"Amazon cancelled {what}{_at(remote)} because it had no data to return "
                "(no listings): imported as zero rows",
            )
        return FailJob(
            "cancelled",
            f"Amazon cancelled {what} before processing it{_at(remote)}: nothing was applied. "
            "Send the job again if it is still wanted.",
            FailedData(**amazon),
        )
    if status is ProcessingStatus.FATAL:
        if submission.kind == "report":
            message = (
                f"Amazon could not produce {what} ({submission.remote_type}): it ended FATAL"
                f"{_at(remote)}. Request a new report."
            )
        else:
            where = (
                f"; its processing report {remote.result_document_id} gives Amazon's reason"
                if remote.result_document_id
                else ""
            )
            message = (
                f"Amazon aborted {what} ({submission.remote_type}): it ended FATAL{_at(remote)}, "
                f"and some, none or all of its messages may have been applied{where}. Check "
                "the items at Amazon before sending the job again."
            )
        return FailJob("fatal", message, FailedData(**amazon))
    if waited >= max_wait_s:
        return timed_out(submission, waited, max_wait_s, f"still {status.value}")
    return StillWaiting(status)


def timed_out(submission: Submission, waited: float, max_wait_s: float, last: str) -> FailJob:
    """The job has waited longer than the limit; ``last`` says what Amazon said last."""
    return FailJob(
        "timeout",
        f"gave up on {submission.label} after waiting {_hours(waited)} for Amazon "
        f"(limit {_hours(max_wait_s)}; {last}). Amazon may still process it: check the items "
        "at Amazon before sending the job again.",
        FailedData(waited_s=round(waited)),
    )


def error_decision(submission: Submission, exc: Exception) -> FailJob | None:
    """A call error that fails the job at once, or None when it is worth retrying."""
    failed = failure_of(exc, f"ask Amazon about {submission.label}")
    return FailJob(*failed) if failed is not None else None


# ---- events ----------------------------------------------------------------------------


def result_ready_event(state: JobState, ready: ResultReady) -> JobResultReady:
    return next_job_event(
        JobResultReady, state, data=ready.data, log=[LogLine(level="info", message=ready.message)]
    )


def failed_event(state: JobState, fails: FailJob) -> JobFailed:
    """JobFailed; items still pending get the reason, items already decided keep theirs."""
    items = [
        item.model_copy(update={"status": "error", "messages": [*item.messages, fails.message]})
        for item in state.items.values()
        if item.status == "pending"
    ]
    return next_job_event(
        JobFailed,
        state,
        data=FailedData(failure=fails.failure, error=fails.message, **said(fails.data)),
        log=[LogLine(level="error", message=fails.message)],
        items=items or None,
    )


def retry_logged_event(state: JobState, message: str) -> JobLogged:
    return next_job_event(JobLogged, state, log=[LogLine(level="warning", message=message)])


# ---- helpers ---------------------------------------------------------------------------


def _amazon_said(remote: RemoteStatus) -> dict[str, Any]:
    """What Amazon said of the feed or report, for a payload (all three keys, null ones
    too: the job's data then says Amazon named no end time or document)."""
    return said(
        AmazonOutcome(
            processing_status=remote.processing_status.value,
            processing_end_time=(
                remote.processing_end_time.astimezone(UTC) if remote.processing_end_time else None
            ),
            result_document_id=remote.result_document_id,
        )
    )


def _at(remote: RemoteStatus) -> str:
    end = remote.processing_end_time
    return f" at {end.astimezone(UTC).isoformat(timespec='seconds')}" if end else ""


def _hours(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
