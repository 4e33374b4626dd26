"""Amazon's status → the poller's next event, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.poller.decision import (
    FailJob,
    NothingToPoll,
    RemoteStatus,
    ResultReady,
    StillWaiting,
    Submission,
    decide,
    error_decision,
    failed_event,
    result_ready_event,
    retry_logged_event,
    submission_of,
    waited_s,
)
from shared.accounts import UnknownAccount
from shared.events import (
    JobCreated,
    JobFailed,
    JobProcessing,
    JobResultReady,
    JobSubmitted,
    next_job_event,
)
from shared.job_data import FailedData, ResultReadyData, said
from shared.job_state import JobState, fold
from shared.jobs import JobStatus, JobType
from shared.spapi.errors import (
    AuthError,
    MalformedResponse,
    PermanentError,
    Throttled,
    TransientError,
)
from shared.spapi.models.feeds import Feed, ProcessingStatus
from shared.spapi.models.reports import Report
from tests.factories import item_state, job_state, reserved

DAY = 24 * 3600.0
SUBMITTED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
ENDED = SUBMITTED + timedelta(minutes=2)


def _waiting(
    job_type: JobType = JobType.UPDATE_QTY, data: dict[str, object] | None = None
) -> JobState:
    items = [
        item_state("A"),
        item_state("B", request={}, status="error", messages=["no Amazon item found"]),
    ]
    # The lifecycle up to waiting, as the submitter writes it.
    state = job_state(
        reserved("j1", items, job_type=job_type, account_id="acc1"), JobCreated, JobProcessing
    )
    feed = {
        "feed_id": "F1",
        "feed_type": "JSON_LISTINGS_FEED",
        "submitted_at": SUBMITTED.isoformat(),
    }
    return fold(state, next_job_event(JobSubmitted, state, data=data if data is not None else feed))


def _report_job() -> JobState:
    return _waiting(
        JobType.INVENTORY_REPORT,
        {
            "report_id": "R1",
            "report_type": "GET_MERCHANT_LISTINGS_ALL_DATA",
            "submitted_at": "2026-11-27T10:00:00Z",
        },
    )


def _remote(status: ProcessingStatus, document: str | None = None) -> RemoteStatus:
    ended = ENDED if status.is_final else None
    return RemoteStatus(status, document, ended)


def test_submission_names_the_feed_or_report_and_when() -> None:
    feed = submission_of(_waiting())
    assert (feed.kind, feed.remote_id, feed.remote_type) == ("feed", "F1", "JSON_LISTINGS_FEED")
    assert feed.submitted_at == SUBMITTED
    report = submission_of(_report_job())
    assert (report.kind, report.remote_id) == ("report", "R1")
    assert report.submitted_at == SUBMITTED  # "Z" is read as UTC


def test_submission_without_a_time_falls_back_to_the_event() -> None:
    state = _waiting(data={"feed_id": "F1"})
    assert submission_of(state).submitted_at == state.updated_at


def test_a_job_with_nothing_to_poll_is_reported() -> None:
    with pytest.raises(NothingToPoll, match="no feed_id or report_id"):
        submission_of(_waiting(data={"marketplace_id": "M"}))


def test_waited_is_in_amazon_seconds() -> None:
    sub = submission_of(_waiting())
    assert waited_s(sub, SUBMITTED + timedelta(seconds=2), time_scale=600) == 1200
    assert waited_s(sub, SUBMITTED - timedelta(seconds=5), time_scale=1) == 0


@pytest.mark.parametrize("status", [ProcessingStatus.IN_QUEUE, ProcessingStatus.IN_PROGRESS])
def test_unfinished_keeps_waiting_until_the_limit(status: ProcessingStatus) -> None:
    sub = submission_of(_waiting())
    assert decide(sub, _remote(status), 600, DAY) == StillWaiting(status)
    late = decide(sub, _remote(status), DAY, DAY)
    assert isinstance(late, FailJob) and late.failure == "timeout"
    assert "24.0 h" in late.message and f"still {status.value}" in late.message


def test_done_names_the_result_document() -> None:
    decision = decide(submission_of(_waiting()), _remote(ProcessingStatus.DONE, "D1"), 120, DAY)
    assert isinstance(decision, ResultReady)
    assert said(decision.data) == {
        "processing_status": "DONE",
        "processing_end_time": ENDED,
        "result_document_id": "D1",
    }
    assert "feed F1" in decision.message and "D1" in decision.message


def test_done_without_a_document_fails() -> None:
    decision = decide(submission_of(_waiting()), _remote(ProcessingStatus.DONE), 120, DAY)
    assert isinstance(decision, FailJob) and "no result document" in decision.message


def test_fatal_feed_fails_saying_what_may_have_happened() -> None:
    decision = decide(submission_of(_waiting()), _remote(ProcessingStatus.FATAL, "D9"), 120, DAY)
    assert isinstance(decision, FailJob) and decision.failure == "fatal"
    assert "some, none or all" in decision.message and "D9" in decision.message
    assert decision.data.processing_status == "FATAL"


def test_cancelled_feed_fails() -> None:
    decision = decide(submission_of(_waiting()), _remote(ProcessingStatus.CANCELLED), 120, DAY)
    assert isinstance(decision, FailJob) and decision.failure == "cancelled"
    assert "nothing was applied" in decision.message


def test_cancelled_report_is_a_result_without_data() -> None:
    decision = decide(submission_of(_report_job()), _remote(ProcessingStatus.CANCELLED), 90, DAY)
    assert isinstance(decision, ResultReady)
    assert decision.data.no_data is True and decision.data.result_document_id is None
    # Said as null, not left out: the job's data then shows Amazon named no document.
    assert "result_document_id" in decision.data.model_fields_set
    assert "zero rows" in decision.message


def test_fatal_report_fails() -> None:
    decision = decide(submission_of(_report_job()), _remote(ProcessingStatus.FATAL), 90, DAY)
    assert isinstance(decision, FailJob) and "Request a new report" in decision.message


def test_a_finished_status_wins_over_the_limit() -> None:
    late = decide(submission_of(_waiting()), _remote(ProcessingStatus.DONE, "D1"), 2 * DAY, DAY)
    assert isinstance(late, ResultReady)


def test_statuses_of_amazon_models() -> None:
    feed = Feed.model_validate(
        {
            "feedId": "F1",
            "feedType": "JSON_LISTINGS_FEED",
            "createdTime": "2026-11-27T10:00:00Z",
            "processingStatus": "DONE",
            "processingEndTime": "2026-11-27T10:02:00Z",
            "resultFeedDocumentId": "D1",
        }
    )
    assert RemoteStatus.of_feed(feed) == _remote(ProcessingStatus.DONE, "D1")
    report = Report.model_validate(
        {
            "reportId": "R1",
            "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
            "createdTime": "2026-11-27T10:00:00Z",
            "processingStatus": "IN_PROGRESS",
        }
    )
    assert RemoteStatus.of_report(report) == RemoteStatus(ProcessingStatus.IN_PROGRESS)


def test_errors_that_fail_the_job_and_errors_worth_a_retry() -> None:
    sub = submission_of(_waiting())
    auth = error_decision(sub, AuthError("S1", "invalid_grant", operation="getFeed"))
    assert auth is not None and auth.failure == "credentials"
    assert "re-authorise" in auth.message
    refused = error_decision(sub, PermanentError("not found", operation="getFeed", status=404))
    assert refused is not None and refused.failure == "refused"
    gone = error_decision(sub, UnknownAccount("account 'acc1' is not registered"))
    assert gone is not None and gone.failure == "unknown_account"
    for retried in (
        Throttled("getFeed", None),
        TransientError("503", operation="getFeed", attempts=4),
        MalformedResponse("garbled", operation="getFeed"),
        TimeoutError(),
    ):
        assert error_decision(sub, retried) is None


def test_events_take_the_next_seq_and_keep_decided_items() -> None:
    state = _waiting()
    ready = result_ready_event(
        state, ResultReady(ResultReadyData(result_document_id="D1"), "ready")
    )
    assert isinstance(ready, JobResultReady)
    assert (ready.seq, ready.status) == (state.seq + 1, JobStatus.WAITING_FOR_RESULT)
    assert fold(state, ready).result_ready

    fails = FailJob("fatal", "Amazon aborted feed F1", FailedData(processing_status="FATAL"))
    failed = failed_event(state, fails)
    assert isinstance(failed, JobFailed)
    assert (failed.seq, failed.status) == (state.seq + 1, JobStatus.ERROR)
    assert said(failed.data) == {
        "failure": "fatal",
        "error": "Amazon aborted feed F1",
        "processing_status": "FATAL",
    }
    assert failed.log[0].level == "error" and failed.log[0].message == "Amazon aborted feed F1"
    # The pending item gets the reason; the item the submitter already failed keeps its own.
    assert failed.items is not None
    assert [(i.key, i.status, i.messages) for i in failed.items] == [
        ("A", "error", ["Amazon aborted feed F1"])
    ]

    note = retry_logged_event(state, "retrying")
    assert note.seq == state.seq and note.status is JobStatus.WAITING_FOR_RESULT


def test_submission_is_hashable_plain_data() -> None:
    sub = Submission("j", "a", "feed", "F", "T", SUBMITTED)
    assert sub.label == "feed F" and {sub: 1}[sub] == 1
