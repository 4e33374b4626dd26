"""Every pair of statuses, for every job type, against the lifecycle of docs/design.md §2."""

from __future__ import annotations

import itertools

import pytest

from shared.jobs import JobStatus, JobType
from shared.state_machine import IllegalTransition, cancel_rejection_reason, transition

S = JobStatus
# The diagram, written out by hand so the test does not restate the code's table.
EXPECTED = {
    (None, S.RESERVED),
    (None, S.ERROR),
    (S.RESERVED, S.CREATED),
    (S.RESERVED, S.CANCELED),
    (S.CREATED, S.PROCESSING),
    (S.CREATED, S.CANCELED),
    (S.PROCESSING, S.WAITING_FOR_RESULT),
    (S.PROCESSING, S.ERROR),
    (S.WAITING_FOR_RESULT, S.DONE),
    (S.WAITING_FOR_RESULT, S.ERROR),
}
SYNC_ONLY = {(S.PROCESSING, S.DONE)}  # orders_import has no asynchronous result ...
ASYNC_ONLY = {p for p in EXPECTED if S.WAITING_FOR_RESULT in p}  # ... so it never waits
# A small stock-to-zero job goes by patchListingsItem (done with its calls) or by a feed.
EITHER_WAY = {JobType.UPDATE_QTY, JobType.STOP_PRODUCTS}

PAIRS = list(itertools.product([None, *JobStatus], list(JobStatus)))


@pytest.mark.parametrize("job_type", list(JobType))
@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_every_pair(job_type: JobType, current: JobStatus | None, target: JobStatus) -> None:
    if job_type is JobType.ORDERS_IMPORT:
        allowed = (EXPECTED - ASYNC_ONLY) | SYNC_ONLY
    elif job_type in EITHER_WAY:
        allowed = EXPECTED | SYNC_ONLY
    else:
        allowed = EXPECTED
    if (current, target) in allowed:
        assert transition(job_type, current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            transition(job_type, current, target)


def test_terminal_statuses_have_no_way_out() -> None:
    for status in (S.DONE, S.ERROR, S.CANCELED):
        for target in JobStatus:
            with pytest.raises(IllegalTransition):
                transition(JobType.UPDATE_QTY, status, target)


def test_cancel_reasons_follow_the_manual() -> None:
    assert cancel_rejection_reason(S.RESERVED) is None
    assert cancel_rejection_reason(S.CREATED) is None
    assert "can no longer be canceled" in (cancel_rejection_reason(S.PROCESSING) or "")
    assert "waiting for result" in (cancel_rejection_reason(S.WAITING_FOR_RESULT) or "")
    assert cancel_rejection_reason(S.DONE) == "the job is already done"
    assert cancel_rejection_reason(None) == "unknown job"


def test_labels_are_the_manuals_wording() -> None:
    assert [s.label for s in JobStatus] == [
        "Reserved",
        "Created",
        "Processing",
        "Waiting for result",
        "Done",
        "Error",
        "Canceled",
    ]
    assert JobType.UPDATE_QTY_PRICE.label == "Update Products QTY & Price"
    assert JobType.STOP_REMOVE_PRODUCTS.label == "Stop & Remove Products"
