"""A job's state as a fold of its events: repeats, annotations, illegal orders."""

from __future__ import annotations

import pytest

from shared.events import (
    ItemState,
    JobCancelRejected,
    JobCreated,
    JobDone,
    JobLogged,
    JobProcessing,
    JobReserved,
    JobResultReady,
    JobSubmitted,
    LogLine,
    next_job_event,
)
from shared.job_data import JobFacts
from shared.job_state import fold
from shared.jobs import JobStatus, JobType
from shared.state_machine import IllegalTransition
from tests.factories import item_state, reserved


def _reserved() -> JobReserved:
    return reserved("j1", [item_state("A")])


def test_fold_follows_the_lifecycle_and_ignores_repeats() -> None:
    state = fold(None, _reserved())
    created = next_job_event(JobCreated, state)
    state = fold(state, created)
    assert (state.status, state.seq) == (JobStatus.CREATED, 2)
    assert fold(state, created) is state  # at-least-once: a repeat changes nothing
    state = fold(state, next_job_event(JobProcessing, state))
    state = fold(state, next_job_event(JobSubmitted, state, data={"feed_id": "F1"}))
    assert state.status is JobStatus.WAITING_FOR_RESULT
    ready = next_job_event(JobResultReady, state, data={"result_document_id": "d1"})
    assert ready.seq == 5 and ready.status is JobStatus.WAITING_FOR_RESULT
    state = fold(state, ready)
    assert state.result_ready and state.facts.result_document_id == "d1"
    done = next_job_event(JobDone, state, items=[ItemState(key="A", status="accepted")])
    state = fold(state, done)
    assert state.status is JobStatus.DONE and state.items["A"].status == "accepted"
    assert state.facts.model_fields_set == {"feed_id", "result_document_id"}


def test_facts_are_the_union_of_what_the_events_said_the_newest_winning() -> None:
    state = fold(None, _reserved())
    state = fold(state, next_job_event(JobCreated, state))
    state = fold(state, next_job_event(JobProcessing, state))
    pages = next_job_event(JobLogged, state, data={"cursor": "p2", "pages": 1, "orders": 5})
    state = fold(state, pages)
    assert (state.facts.cursor, state.facts.pages, state.facts.orders) == ("p2", 1, 5)
    # A key said null replaces what an earlier event said; a key not said keeps it.
    last = next_job_event(JobLogged, state, data={"cursor": None, "pages": 2})
    state = fold(state, last)
    assert (state.facts.cursor, state.facts.pages, state.facts.orders) == (None, 2, 5)
    assert state.facts.model_fields_set == {"cursor", "pages", "orders"}
    # What the fold keeps goes to a changelog and back unchanged.
    assert JobFacts.model_validate_json(state.facts.model_dump_json()) == state.facts


def test_annotations_keep_status_and_seq() -> None:
    state = fold(None, _reserved())
    note = next_job_event(
        JobLogged,
        state,
        log=[LogLine(message="2 changes coalesced")],
        items=[item_state("B", 4)],
    )
    assert note.seq == 1
    state = fold(state, note)
    assert (state.status, state.seq) == (JobStatus.RESERVED, 1)
    assert sorted(state.items) == ["A", "B"]
    rejected = next_job_event(JobCancelRejected, state)
    assert fold(state, rejected).status is JobStatus.RESERVED


def test_an_impossible_order_is_refused() -> None:
    state = fold(None, _reserved())
    with pytest.raises(IllegalTransition):
        fold(state, next_job_event(JobSubmitted, state))
    with pytest.raises(ValueError, match="unknown job"):
        fold(
            None,
            JobLogged(
                job_id="x",
                seq=1,
                shop_id="s",
                account_id="a",
                job_type=JobType.UPDATE_QTY,
                status=JobStatus.RESERVED,
            ),
        )
