"""The projection as pure functions: job folds, idempotency, and what each record writes."""

from __future__ import annotations

import copy
import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from services.api.projection import (
    Delete,
    Merge,
    Upsert,
    fold_job_events,
    join_job,
    log_lines,
    record_write,
    replay_write,
    split_job,
)
from services.api.replays import DeadLetterReplayed
from shared.events import (
    DeadLettered,
    ItemState,
    JobCreated,
    JobDone,
    JobEvent,
    JobItemsRecorded,
    JobLogged,
    JobProcessing,
    JobReserved,
    JobSubmitted,
    LogLine,
)
from shared.job_state import fold
from shared.jobs import JobStatus, JobType
from shared.kafka.dead_letters import dead_letter_for
from tests.factories import account_registered, item_state, item_states, job_event, listing_state

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def lifecycle(job_id: str = "j1") -> list[JobEvent]:
    """A whole update_qty job, with an annotation while it waits."""
    pending = [item_state("A.1", 1), item_state("$B", 2)]
    return [
        job_event(
            JobReserved,
            job_id=job_id,
            occurred_at=T0,
            items=pending,
            log=[LogLine(message="job received with 2 items", at=T0)],
        ),
        job_event(JobCreated, job_id=job_id, seq=2, occurred_at=T0 + timedelta(1)),
        job_event(JobProcessing, job_id=job_id, seq=3, occurred_at=T0 + timedelta(2)),
        job_event(
            JobSubmitted,
            job_id=job_id,
            seq=4,
            occurred_at=T0 + timedelta(3),
            data={"feed_id": "50012345"},
        ),
        job_event(
            JobLogged,
            job_id=job_id,
            seq=4,
            status=JobStatus.WAITING_FOR_RESULT,
            occurred_at=T0 + timedelta(4),
            log=[LogLine(level="warning", message="still waiting", at=T0 + timedelta(4))],
        ),
        job_event(
            JobDone,
            job_id=job_id,
            seq=5,
            occurred_at=T0 + timedelta(5),
            data={"processed": 2, "accepted": 1, "errors": 1},
            items=[
                pending[0].model_copy(update={"status": "accepted"}),
                pending[1].model_copy(update={"status": "error", "messages": ["bad SKU"]}),
            ],
        ),
    ]


def fold_in_batches(events: list[JobEvent], cuts: list[int]) -> dict[str, Any]:
    """Fold ``events`` batch by batch (split at ``cuts``), as the projector writes them:
    a page of items the batch does not rewrite whole is read back first."""
    store: dict[str, dict[str, Any]] = {"jobs": {}, "pages": {}, "log": {}}
    bounds = [0, *cuts, len(events)]
    for start, end in itertools.pairwise(bounds):
        out = fold_job_events(events[start:end], copy.deepcopy(store["jobs"]))
        store["jobs"].update(out.jobs)
        for pid, page in out.pages.items():
            kept = [] if page.covers_stored else store["pages"][pid]["items"]
            store["pages"][pid] = page.document(copy.deepcopy(kept))
        store["log"].update(out.log)
    return store


def items_of(store: dict[str, Any], job_id: str) -> list[dict[str, Any]]:
    pages = sorted(
        (p for p in store["pages"].values() if p["job_id"] == job_id), key=lambda p: p["n"]
    )
    return [row for page in pages for row in page["items"]]


def test_a_job_is_the_fold_of_its_events() -> None:
    store = fold_in_batches(lifecycle(), [])
    job = store["jobs"]["j1"]
    assert (job["status"], job["seq"], job["last_event"]) == ("done", 5, "JobDone")
    assert job["created_at"] == T0 and job["updated_at"] == T0 + timedelta(5)
    assert job["data"] == {"feed_id": "50012345", "processed": 2, "accepted": 1, "errors": 1}
    assert job["counts"] == {
        "total": 2,
        "pending": 0,
        "accepted": 1,
        "warning": 0,
        "error": 1,
        "canceled": 0,
    }
    assert job["item_states"] == [
        {"key": "A.1", "status": "accepted"},
        {"key": "$B", "status": "error"},
    ]
    assert [row["key"] for row in items_of(store, "j1")] == ["A.1", "$B"]
    assert items_of(store, "j1")[1]["messages"] == ["bad SKU"]
    assert items_of(store, "j1")[1]["request"] == {"sku": "$B", "quantity": 2}
    assert [line["message"] for doc in store["log"].values() for line in log_lines(doc)] == [
        "job received with 2 items",
        "still waiting",
    ]


@pytest.mark.parametrize("cuts", [[1], [2], [3], [4], [5], [1, 2, 3, 4, 5], [2, 5]])
def test_any_batching_gives_the_same_documents(cuts: list[int]) -> None:
    events = lifecycle()
    assert fold_in_batches(events, cuts) == fold_in_batches(events, [])


def test_a_jobs_data_is_what_the_workers_fold_keeps_as_json() -> None:
    events = lifecycle()
    processing = [e for e in events if e.seq <= 3]
    marks = [
        job_event(JobLogged, job_id="j1", seq=3, status=JobStatus.PROCESSING, data=data)
        for data in (
            {"cursor": "p2", "pages": 1, "orders": 5},
            {"cursor": None, "pages": 2},  # said null: replaces the cursor
        )
    ]
    submitted = job_event(
        JobSubmitted, job_id="j1", seq=4, data={"feed_id": "F1", "submitted_at": T0}
    )
    folded = [*processing, *marks, submitted]
    state = None
    for event in folded:
        state = fold(state, event)
    assert state is not None
    job = fold_in_batches(folded, [])["jobs"]["j1"]
    assert job["data"] == state.facts.model_dump(mode="json")
    assert job["data"] == {
        "cursor": None,
        "pages": 2,
        "orders": 5,
        "feed_id": "F1",
        "submitted_at": "2026-11-27T10:00:00Z",
    }


def test_a_job_is_stored_as_its_row_and_its_item_states() -> None:
    job = fold_in_batches(lifecycle(), [])["jobs"]["j1"]
    row, state = split_job(job)
    assert "item_states" not in row and row["counts"]["total"] == 2
    assert state == {
        "_id": "j1",
        "shop_id": "shop1",
        "seq": 5,
        "item_states": job["item_states"],
    }
    assert join_job(row, state) == job
    assert join_job(row, None)["item_states"] == []


def test_redelivered_events_change_nothing() -> None:
    events = lifecycle()
    once = fold_in_batches(events, [])
    again = fold_job_events(events, copy.deepcopy(once["jobs"]))
    assert again.jobs["j1"] == once["jobs"]["j1"]  # the annotation only touches updated_at
    assert not again.pages and not again.new_jobs
    assert set(again.log) == set(once["log"])  # the same ids: inserting them is a no-op


def test_an_older_event_than_the_stored_one_is_skipped() -> None:
    events = lifecycle()
    done = fold_in_batches(events, [])["jobs"]
    out = fold_job_events([events[1]], copy.deepcopy(done))  # JobCreated after JobDone
    assert out.jobs == {} and out.pages == {}


def test_an_annotation_touches_items_only_in_its_own_status() -> None:
    events = lifecycle()
    done = fold_in_batches(events, [])["jobs"]
    late = job_event(
        JobLogged,
        job_id="j1",
        seq=5,
        status=JobStatus.WAITING_FOR_RESULT,  # written before the job was done
        items=[ItemState(key="A.1", status="warning")],
        occurred_at=T0 + timedelta(9),
    )
    out = fold_job_events([late], copy.deepcopy(done))
    assert out.pages == {}
    assert out.jobs["j1"]["counts"] == done["j1"]["counts"]
    assert out.jobs["j1"]["updated_at"] == T0 + timedelta(9)


def test_new_documents_are_named_so_they_can_be_inserted() -> None:
    events = lifecycle()
    first = fold_job_events(events[:1], {})
    assert first.new_jobs == {"j1"} and [p.stored for p in first.pages.values()] == [0]
    rest = fold_job_events(events[1:], first.jobs)
    assert rest.new_jobs == set() and [p.stored for p in rest.pages.values()] == [2]


def big_job(n: int, result_cuts: list[int]) -> list[JobEvent]:
    """A job of ``n`` items whose results come in chunks ending at ``result_cuts``."""
    common: dict[str, Any] = {"job_id": "big", "occurred_at": T0}
    pending = item_states(JobType.UPDATE_QTY, [{"sku": f"SKU-{n - i}"} for i in range(n)])
    events: list[JobEvent] = [
        job_event(JobReserved, **common, items=pending),
        job_event(JobProcessing, **common, seq=2),
    ]
    for start, end in itertools.pairwise([0, *result_cuts]):
        events.append(
            job_event(
                JobItemsRecorded,
                **common,
                seq=3,
                status=JobStatus.DONE,
                items=[i.model_copy(update={"status": "accepted"}) for i in pending[start:end]],
            )
        )
    events.insert(2, job_event(JobDone, **common, seq=3))
    return events


@pytest.mark.parametrize("cuts", [[], [1], [2], [3], [1, 2, 3, 4], [2, 4]])
def test_a_large_job_is_paged_in_request_order_whatever_the_batches(cuts: list[int]) -> None:
    """Results that cut pages in the middle: each page keeps the rows it is not sent."""
    events = big_job(450, [150, 320, 450])
    store = fold_in_batches(events, cuts)
    rows = items_of(store, "big")
    assert [r["key"] for r in rows] == [f"SKU-{450 - i}" for i in range(450)]
    assert {r["status"] for r in rows} == {"accepted"}
    assert [len(p["items"]) for p in store["pages"].values()] == [200, 200, 50]
    assert store["jobs"]["big"]["counts"]["accepted"] == 450


def test_an_events_log_is_stored_in_chunks_whose_ids_sort_in_line_order() -> None:
    """450 lines of one event, all at one time: three documents of up to 200 lines. They
    tie on time and seq, so their ids must sort as text in line order. Each starts with
    the job's id, so a job's chunks sit together in the ``_id`` index."""
    at = T0
    event = lifecycle()[4].model_copy(
        update={"log": [LogLine(message=f"line {n}", at=at) for n in range(450)]}
    )
    out = fold_job_events([event], {})
    docs = sorted(out.log.values(), key=lambda d: (d["at"], d["seq"], d["_id"]))
    assert [d["_id"] for d in docs] == [
        f"{event.job_id}/{event.event_id}:0000000",
        f"{event.job_id}/{event.event_id}:0000200",
        f"{event.job_id}/{event.event_id}:0000400",
    ]
    lines = [line["message"] for d in docs for line in log_lines(d)]
    assert lines == [f"line {n}" for n in range(450)]
    assert {d["event_type"] for d in docs} == {event.event_type}


def test_a_log_document_of_one_line_written_before_chunks_reads_as_one_line() -> None:
    old = {"_id": "e:3", "at": T0, "level": "warning", "message": "m", "seq": 2}
    assert log_lines(old) == [{"at": T0, "level": "warning", "message": "m"}]


def test_an_annotation_for_an_unknown_job_is_kept_only_as_log() -> None:
    out = fold_job_events([lifecycle()[4]], {})
    assert out.jobs == {} and len(out.log) == 1


def test_a_tombstone_deletes_and_a_record_is_stored_whole() -> None:
    listing = listing_state("A.1", price=Decimal("9.99"), currency=None)
    upsert = record_write("amazon.listings", "acc-de:A.1", listing, 0, 1)
    assert isinstance(upsert, Upsert) and upsert.doc["_id"] == "acc-de:A.1"
    assert upsert.doc["price"] == "9.99"
    assert record_write("amazon.listings", "acc-de:A.1", None, 0, 2) == Delete(
        "listings", "acc-de:A.1"
    )
    assert record_write("amazon.accounts", "acc-de", None, 0, 3) == Delete("accounts", "acc-de")
    assert record_write("amazon.orders", "acc-de:x", None, 0, 4) is None  # not compacted


def test_an_account_is_stored_without_its_credentials() -> None:
    account = account_registered("acc-de")
    write = record_write("amazon.accounts", "acc-de", account, 0, 1)
    assert isinstance(write, Upsert) and write.doc["name"] == account.name
    sealed = account.credentials.ciphertext
    assert "credentials" not in write.doc and sealed not in str(write.doc)


def test_a_dead_letter_and_its_replays_merge_in_either_order() -> None:
    letter = DeadLettered(
        original_topic="prestashop.catalog-events",
        partition=3,
        offset=7,
        key="shop1",
        raw_value='{"event_type": ',
        error="malformed JSON",
        consumer_group="amazon-jobs-submitter",
    )
    stored = record_write("amazon.dead-letters", "shop1", letter, 0, 9)
    assert isinstance(stored, Merge) and stored.doc_id == str(letter.event_id)
    assert stored.update["$set"]["error"] == "malformed JSON"
    replayed = DeadLetterReplayed(
        letter_id=str(letter.event_id), topic=letter.original_topic, partition=3, offset=8
    )
    merge = replay_write(replayed)
    assert merge.doc_id == str(letter.event_id)
    assert merge.update["$addToSet"]["replays"]["offset"] == 8
    assert set(merge.update) == {"$addToSet", "$max"}  # never overwrites the letter's fields


def test_a_letter_by_reference_is_stored_with_how_its_value_is_kept() -> None:
    value = b'{"event_type": "JobRequested", "items": [' + b"{}," * 200_000
    letter = dead_letter_for(
        topic="amazon.job-requests",
        partition=5,
        offset=11,
        key=b"job-1",
        value=value,
        error="malformed JSON",
        consumer_group="amazon-jobs-submitter",
    )
    stored = record_write("amazon.dead-letters", "job-1", letter, 0, 12)
    assert isinstance(stored, Merge)
    fields = stored.update["$set"]
    assert (fields["raw_stored"], fields["raw_value"]) == ("reference", None)
    assert fields["raw_size"] == len(value)
    assert fields["raw_sha256"] == hashlib.sha256(value).hexdigest()
    assert fields["raw_head"] == value[:2048].decode()
    assert (fields["original_topic"], fields["partition"], fields["offset"]) == (
        "amazon.job-requests",
        5,
        11,
    )
