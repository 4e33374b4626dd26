"""The charts' counts and samples as pure functions (services/api/stats.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.api import stats
from shared.events import JobCreated, JobDone, JobLogged, JobProcessing, JobReserved
from shared.quotas import QuotaClass
from shared.throttle.messages import BucketSnapshot, QuotaKey
from tests.factories import job_event

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_each_status_event_counts_once_in_its_hour_and_partition() -> None:
    placed = [
        (0, 10, job_event(JobReserved, job_id="a", occurred_at=T0 + timedelta(minutes=5))),
        (0, 11, job_event(JobCreated, job_id="a", seq=2, occurred_at=T0 + timedelta(minutes=6))),
        # an annotation changes no status; a repeat of seq 2 is the same change
        (0, 12, job_event(JobLogged, job_id="a", seq=2, status=JobCreated.TARGET)),
        (0, 13, job_event(JobCreated, job_id="a", seq=2, occurred_at=T0 + timedelta(minutes=7))),
        (0, 14, job_event(JobProcessing, job_id="a", seq=3, occurred_at=T0 + timedelta(hours=1))),
        # a job stored at seq 4 already: its seq 4 is a repeat, its seq 5 counts
        (1, 20, job_event(JobProcessing, job_id="b", seq=4, occurred_at=T0)),
        (1, 21, job_event(JobDone, job_id="b", seq=5, occurred_at=T0)),
    ]
    counts = stats.hour_counts(placed, {"b": 4})
    by_id = {doc_id: c.events for doc_id, c in counts.items()}
    account = placed[0][2].account_id
    assert by_id == {
        f"{account}|2026-12-03T10|0": [(10, "reserved"), (11, "created")],
        f"{account}|2026-12-03T11|0": [(14, "processing")],
        f"{account}|2026-12-03T10|1": [(21, "done")],
    }


def test_a_batch_folded_again_adds_only_what_is_past_the_offset_counted() -> None:
    hour = stats.HourCounts("shop1", "acc", T0, 0, [(10, "created"), (11, "done"), (12, "done")])
    update = hour.update(counted_through=10)
    assert update is not None
    assert update["$inc"] == {"counts.done": 2}
    assert update["$max"] == {"offset": 12}
    assert hour.update(counted_through=12) is None


def test_a_new_document_holds_what_the_update_would_add_to_nothing() -> None:
    # Inserted whole when the projector presumes the hour new: it must equal the upsert's
    # result, or a chart would count differently by which path wrote its hour.
    hour = stats.HourCounts("shop1", "acc", T0, 3, [(10, "created"), (11, "done"), (12, "done")])
    update = hour.update(counted_through=-1)
    assert update is not None
    doc = hour.document()
    assert doc["counts"] == {k.removeprefix("counts."): n for k, n in update["$inc"].items()}
    assert doc["offset"] == update["$max"]["offset"] == 12
    assert {k: doc[k] for k in update["$setOnInsert"]} == update["$setOnInsert"]
    assert doc["_id"] == hour.id


def test_hours_are_zero_filled_and_summed_over_partitions() -> None:
    docs = [
        {"hour": T0.replace(tzinfo=None), "counts": {"done": 2}},  # as MongoDB returns it
        {"hour": T0, "counts": {"done": 1, "error": 1}},
        {"hour": T0 - timedelta(hours=5), "counts": {"done": 7}},  # before the range
    ]
    series = stats.hour_series(docs, T0 - timedelta(hours=1), 3)
    assert [(s["hour"], s["counts"]) for s in series] == [
        (T0 - timedelta(hours=1), {}),
        (T0, {"done": 3, "error": 1}),
        (T0 + timedelta(hours=1), {}),
    ]


def test_a_bucket_keeps_one_sample_a_minute_grouped_by_class_in_time_order() -> None:
    key = QuotaKey(seller_id="S1", region="EU", quota_class=QuotaClass.FEED_SUBMIT)

    def snapshot(at: datetime, tokens: float) -> BucketSnapshot:
        return BucketSnapshot(
            quota_key=key, tokens=tokens, burst=15, rate_per_s=0.01, queue_depth=2, occurred_at=at
        )

    first = stats.quota_sample(snapshot(T0 + timedelta(seconds=5), 3.0))
    later = stats.quota_sample(snapshot(T0 + timedelta(seconds=50), 2.0))
    assert first["_id"] == later["_id"] and first["at"] == T0
    other = stats.quota_sample(snapshot(T0 - timedelta(minutes=1), 4.0))
    series = stats.quota_series([later, other])
    assert [p["tokens"] for p in series[0]["points"]] == [4.0, 2.0]
    assert (series[0]["quota_class"], series[0]["burst"]) == ("feed_submit", 15)
