"""The registry of job ids: repeats of any age found, in a few bytes a job."""

from __future__ import annotations

from shared.events import Event
from shared.job_ids import SEGMENT_SIZE, JobIdSegment, PartitionIds, shop_hash
from shared.limits import MAX_MESSAGE_BYTES


def restore(records: list[tuple[str, Event | None]]) -> PartitionIds:
    ids = PartitionIds(3)
    for key, value in records:
        ids.load(key, value)
    return ids


def test_an_added_id_is_known_with_its_shop_before_and_after_a_restore() -> None:
    ids = PartitionIds(3)
    assert ids.shop_of("job-1") is None
    ids.add("job-1", "shop-a")
    assert ids.shop_of("job-1") == shop_hash("shop-a")
    assert ids.shop_of("job-2") is None
    records = ids.flush()
    assert ids.flush() == []  # nothing new
    again = restore(records)
    assert again.shop_of("job-1") == shop_hash("shop-a")
    assert again.shop_of("job-2") is None


def test_deltas_merge_into_segments_that_fit_the_bound_and_are_tombstoned() -> None:
    ids = PartitionIds(0)
    written: list[tuple[str, Event | None]] = []
    total = SEGMENT_SIZE + 10
    for n in range(total):
        ids.add(f"job-{n}", f"shop-{n % 7}")
        if n % 1000 == 999:
            written += ids.flush()
    written += ids.flush()
    segments = [v for _, v in written if isinstance(v, JobIdSegment) and v.kind == "segment"]
    assert segments, "a full set of deltas becomes a segment"
    assert all(len(s.model_dump_json()) <= MAX_MESSAGE_BYTES for s in segments)
    tombstoned = {k for k, v in written if v is None}
    assert tombstoned and all(k.startswith("d:") for k in tombstoned)
    # Compaction keeps the latest record per key; a restore reads what is left.
    latest = dict(written)
    again = restore([(k, v) for k, v in latest.items() if v is not None])
    assert len(again) == total
    assert all(again.shop_of(f"job-{n}") == shop_hash(f"shop-{n % 7}") for n in range(total))
    assert again.shop_of("job-never") is None


def test_a_crash_between_segment_and_tombstones_leaves_ids_twice_never_none() -> None:
    ids = PartitionIds(0)
    written: list[tuple[str, Event | None]] = []
    for n in range(SEGMENT_SIZE):
        ids.add(f"j{n}", "s")
    written += ids.flush()
    cut = next(i for i, (_, v) in enumerate(written) if v is None)
    again = restore(written[:cut])  # the tombstones never made it
    assert all(again.shop_of(f"j{n}") is not None for n in range(0, SEGMENT_SIZE, 97))


def test_an_uncompacted_history_restores_every_id_once_its_tombstones_are_read() -> None:
    # Before compaction a restore reads deltas, then their segment and tombstones, then
    # newer deltas, in that order; every id must come out known, with its shop.
    ids = PartitionIds(0)
    written: list[tuple[str, Event | None]] = []
    total = 2 * SEGMENT_SIZE + 500
    for n in range(total):
        ids.add(f"job-{n}", f"shop-{n % 5}")
        if n % 250 == 249:
            written += ids.flush()
    written += ids.flush()
    assert any(v is None for _, v in written), "the history has merges"
    again = restore(written)
    assert len(again) == total
    assert all(again.shop_of(f"job-{n}") == shop_hash(f"shop-{n % 5}") for n in range(total))
    again.add("job-new", "shop-x")
    assert again.shop_of("job-new") == shop_hash("shop-x")
    assert again.shop_of("job-never") is None
