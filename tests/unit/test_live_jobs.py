"""The live jobs of a worker and its changelog: what is written, what a restore finds."""

from __future__ import annotations

from shared.chunking import split_items
from shared.events import (
    Event,
    JobCreated,
    JobDone,
    JobEvent,
    JobLogged,
    JobProcessing,
    JobReserved,
    JobSubmitted,
    LogLine,
    next_job_event,
)
from shared.job_snapshot import JobItemsSnapshot, JobSnapshot
from shared.job_state import JobState
from shared.jobs import JobStatus, JobType
from shared.limits import MAX_MESSAGE_BYTES
from shared.live_jobs import LiveJobs
from tests import factories
from tests.factories import item_states, job_event, request_item


def reserved(job_id: str, n_items: int = 2) -> JobReserved:
    return factories.reserved(job_id, n_items)


def logged(job_id: str, keys: range | list[int], quantity: int) -> JobEvent:
    """An annotation of a reserved job that changes the quantity of these items."""
    items = [request_item(JobType.UPDATE_QTY, n, quantity=quantity) for n in keys]
    return job_event(JobLogged, job_id=job_id, items=item_states(JobType.UPDATE_QTY, items))


def record(book: LiveJobs, event: JobEvent, offset: int | None = None) -> JobState:
    state = book.record(0, event, offset)
    assert state is not None
    return state


def compacted(records: list[tuple[str, Event | None]]) -> list[tuple[str, Event | None]]:
    """What a compacted topic keeps: the latest record per key, tombstones gone."""
    latest: dict[str, Event | None] = {}
    for key, value in records:
        latest.pop(key, None)
        latest[key] = value
    return [(k, v) for k, v in latest.items() if v is not None]


def test_a_restore_finds_the_live_jobs_as_folded_and_not_the_finished() -> None:
    book = LiveJobs()
    written: list[tuple[str, Event | None]] = []
    live = record(book, reserved("live"), offset=0)
    live = record(book, next_job_event(JobCreated, live), offset=1)
    gone = record(book, reserved("gone"), offset=2)
    written += book.changelog(0)
    for cls in (JobCreated, JobProcessing, JobSubmitted):
        gone = record(book, next_job_event(cls, gone), offset=gone.offset + 1)
    gone = record(book, next_job_event(JobDone, gone), offset=9)
    assert "gone" not in book.states, "a finished job leaves memory"
    written += book.changelog(0)
    assert ("gone", None) in written, "and the changelog gets its tombstone"

    again = LiveJobs()
    assert again.load(0, compacted(written)) == 1
    state = again.states["live"]
    assert state == book.states["live"]
    assert state.status is JobStatus.CREATED and state.offset == 1
    assert list(state.items) == ["SKU-000000", "SKU-000001"]


def test_events_already_in_the_changelog_change_nothing_when_read_again() -> None:
    book = LiveJobs()
    state = book.record(0, reserved("j"), offset=10)
    older_items = logged("j", [0], 99)
    state = book.record(0, older_items, offset=11)
    state = book.record(0, next_job_event(JobCreated, state), offset=12)
    again = LiveJobs()
    again.load(0, compacted(book.changelog(0)))
    # After a crash before the commit, the events after the committed offset come again.
    for offset, event in ((11, older_items),):
        again.record(0, event, offset=offset)
    assert again.states["j"] == book.states["j"]


def test_a_job_of_25000_items_goes_to_the_changelog_in_chunks_within_the_bound() -> None:
    book = LiveJobs()
    big = reserved("big", 25_000)
    for event in split_items(big, None):
        book.record(0, event, offset=None)
    records = book.changelog(0)
    assert all(len(v.model_dump_json()) <= MAX_MESSAGE_BYTES for _, v in records if v)
    chunks = [v for _, v in records if isinstance(v, JobItemsSnapshot)]
    header = records[-1][1]
    assert isinstance(header, JobSnapshot) and header.item_chunks == len(chunks) > 1
    again = LiveJobs()
    again.load(0, records)
    assert list(again.states["big"].items) == list(book.states["big"].items)
    # Only what changed is written again: a status change rewrites the header alone.
    book.record(0, next_job_event(JobCreated, book.states["big"]), offset=None)
    assert [type(v) for _, v in book.changelog(0)] == [JobSnapshot]


def test_a_worker_that_needs_no_items_keeps_none() -> None:
    book = LiveJobs(keep_items=False)
    state = record(book, reserved("j", 3))
    assert state.items == {}
    assert [type(v) for _, v in book.changelog(0)] == [JobSnapshot]


def test_a_revoked_partition_leaves_memory() -> None:
    book = LiveJobs()
    book.record(1, reserved("a"))
    book.record(2, reserved("b"))
    dropped = book.revoke({1})
    assert [s.job_id for s in dropped] == ["a"]
    assert set(book.states) == {"b"}
    assert not book.pending_changes(1)


def test_a_job_finished_before_it_was_ever_written_costs_no_tombstone() -> None:
    book = LiveJobs()
    state = book.record(0, reserved("quick"))
    for cls in (JobCreated, JobProcessing, JobSubmitted, JobDone):
        event: JobEvent = next_job_event(cls, state, log=[LogLine(message="x")])
        state = book.record(0, event)
    assert book.changelog(0) == []


def test_a_job_this_worker_finished_stays_finished_while_its_own_events_come_back() -> None:
    book = LiveJobs()
    written: list[JobEvent] = []
    state = book.record(0, reserved("mine"))
    assert state is not None
    written.append(reserved("mine"))
    for cls in (JobCreated, JobProcessing, JobSubmitted, JobDone):
        event: JobEvent = next_job_event(cls, state)
        written.append(event)
        state = book.record(0, event)
        assert state is not None
    assert "mine" not in book.states
    # Read back in topic order: nothing of it comes back to life, and once its last event
    # is back the book forgets it entirely.
    for offset, event in enumerate(written):
        back = book.record(0, event, offset)
        assert back is not None and back.status is JobStatus.DONE
        assert "mine" not in book.states
    late = job_event(
        JobLogged,
        job_id="mine",
        seq=5,
        status=JobStatus.DONE,
        log=[LogLine(message="cancel rejected: the job is done")],
    )
    assert book.record(0, late, 99) is None
    assert "mine" not in book.states


def test_reading_back_its_own_older_change_does_not_undo_a_newer_one() -> None:
    book = LiveJobs()
    state = book.record(0, reserved("auto", 1), offset=0)
    assert state is not None

    first, second = logged("auto", [0], 5), logged("auto", [0], 9)
    book.record(0, first)
    book.record(0, second)
    back = book.record(0, first, offset=1)
    assert back is not None and back.items["SKU-000000"].request["quantity"] == 9
    back = book.record(0, second, offset=2)
    assert back is not None and back.items["SKU-000000"].request["quantity"] == 9
    assert back.offset == 2


def test_a_growing_job_rewrites_only_the_chunks_its_changes_touch() -> None:
    book = LiveJobs()
    record(book, reserved("grow", 6_000))
    written = book.changelog(0)
    chunk_count = sum(isinstance(v, JobItemsSnapshot) for _, v in written)
    assert chunk_count > 2

    def add(keys: range, quantity: int) -> list[int]:
        record(book, logged("grow", keys, quantity))
        records = book.changelog(0)
        written.extend(records)
        return [v.chunk for _, v in records if isinstance(v, JobItemsSnapshot)]

    assert add(range(6_000, 6_010), 1) == [chunk_count - 1]  # new items go at the end
    assert add(range(0, 3), 7) == [0]  # an update of the first items

    # What the topic holds after all of it restores the same items, in the same order.
    again = LiveJobs()
    again.load(0, compacted(written))
    restored = again.states["grow"].items
    assert list(restored) == list(book.states["grow"].items)
    assert restored["SKU-000001"].request["quantity"] == 7
    assert restored["SKU-006009"].request["quantity"] == 1
    # And the restored layout goes on being written incrementally.
    record(again, logged("grow", [2], 9))
    assert [v.chunk for _, v in again.changelog(0) if isinstance(v, JobItemsSnapshot)] == [0]
