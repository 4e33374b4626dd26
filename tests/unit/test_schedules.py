"""Schedules' pure part: slots, the job of a slot, the minimum intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.scheduler.book import ScheduleBook
from shared.job_items import InvalidJobPayload, OrdersImportParams
from shared.jobs import JobType
from shared.schedules import (
    MIN_INTERVAL_S,
    SINCE_OVERLAP_S,
    ScheduleDefined,
    ScheduleRan,
    check_interval,
    check_params,
    due_slot,
    job_id,
    quota_floor_s,
    slot_at,
    slot_request,
)

ANCHOR = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def schedule(**changes: object) -> ScheduleDefined:
    fields: dict[str, object] = {
        "schedule_id": "sch-1",
        "shop_id": "shop1",
        "account_id": "acc-de",
        "job_type": "orders_import",
        "interval_s": 900,
        "anchor": ANCHOR,
        "created_at": ANCHOR,
    }
    return ScheduleDefined(**(fields | changes))


def at(seconds: float) -> datetime:
    return ANCHOR + timedelta(seconds=seconds)


def ran(slot: int, revision: int = 1, scale: float = 1.0) -> ScheduleRan:
    s = schedule()
    return ScheduleRan(
        schedule_id="sch-1",
        revision=revision,
        slot=slot,
        due_at=ANCHOR + timedelta(seconds=slot * s.interval_s / scale),
    )


@pytest.mark.parametrize(
    ("seconds", "slot"), [(-1, -1), (0, 0), (899.9, 0), (900, 1), (1799, 1), (9000, 10)]
)
def test_slot_is_the_floor_of_elapsed_intervals(seconds: float, slot: int) -> None:
    assert slot_at(schedule(), at(seconds), 1.0) == slot


def test_time_scale_shortens_the_interval() -> None:
    # 900 Amazon seconds at a time scale of 60 are 15 real seconds.
    assert slot_at(schedule(), at(14.9), 60.0) == 0
    assert slot_at(schedule(), at(15), 60.0) == 1


def test_a_new_schedule_runs_at_once_and_then_each_slot_once() -> None:
    s = schedule()
    assert due_slot(s, None, at(0), 1.0) == 0
    assert due_slot(s, ran(0), at(899), 1.0) is None
    assert due_slot(s, ran(0), at(900), 1.0) == 1
    assert due_slot(s, ran(1), at(900), 1.0) is None


def test_after_an_outage_only_the_newest_missed_slot_runs() -> None:
    assert due_slot(schedule(), ran(2), at(900 * 7 + 5), 1.0) == 7


def test_a_paused_schedule_runs_nothing_and_catches_up_once_resumed() -> None:
    assert due_slot(schedule(paused=True), ran(0), at(900 * 3), 1.0) is None
    assert due_slot(schedule(), ran(0), at(900 * 3), 1.0) == 3


def test_a_new_revision_counts_slots_afresh() -> None:
    later = schedule(revision=2, anchor=at(5000), interval_s=1800)
    assert due_slot(later, ran(5, revision=1), at(5000), 1.0) == 0
    assert due_slot(later, ran(0, revision=2), at(5000 + 1799), 1.0) is None


def test_the_job_id_names_schedule_revision_and_slot() -> None:
    assert job_id(schedule(revision=3), 17) == "sched-sch-1-3-17"


def test_an_orders_import_takes_orders_updated_since_the_run_before() -> None:
    request, record = slot_request(schedule(), 7, ran(2), 1.0)
    params = OrdersImportParams.model_validate(request.params)
    assert params.by == "last_update"
    # The run before was slot 2: the gap of the outage is covered, with a little overlap.
    assert params.since == at(900 * 2 - SINCE_OVERLAP_S)
    assert request.schedule_id == "sch-1" and request.job_id == "sched-sch-1-1-7"
    assert record.slot == 7 and record.due_at == at(900 * 7)


def test_a_first_orders_import_reaches_one_interval_back() -> None:
    request, _ = slot_request(schedule(), 0, None, 60.0)
    params = OrdersImportParams.model_validate(request.params)
    assert params.since == at(-(900 + SINCE_OVERLAP_S) / 60.0)


def test_an_inventory_report_keeps_its_params() -> None:
    s = schedule(
        job_type="inventory_report", params={"report_type": "GET_MERCHANT_LISTINGS_ALL_DATA"}
    )
    request, _ = slot_request(s, 0, None, 1.0)
    assert request.job_type is JobType.INVENTORY_REPORT
    assert request.params == {"report_type": "GET_MERCHANT_LISTINGS_ALL_DATA"}


@pytest.mark.parametrize("job_type", list(MIN_INTERVAL_S))
def test_minimum_intervals_leave_most_of_the_quota_to_other_jobs(job_type: JobType) -> None:
    assert MIN_INTERVAL_S[job_type] >= quota_floor_s(job_type)
    with pytest.raises(ValueError, match=f"minimum of {MIN_INTERVAL_S[job_type]} s"):
        check_interval(job_type, MIN_INTERVAL_S[job_type] - 1)
    check_interval(job_type, MIN_INTERVAL_S[job_type])


def test_schedule_params_are_checked_and_since_is_the_schedules() -> None:
    check_params(JobType.ORDERS_IMPORT, {"page_size": 50})
    with pytest.raises(InvalidJobPayload, match="since"):
        check_params(JobType.ORDERS_IMPORT, {"since": "2026-01-01T00:00:00Z"})
    with pytest.raises(InvalidJobPayload, match="report_type"):
        check_params(JobType.INVENTORY_REPORT, {"report_type": "NOPE"})


def test_the_book_runs_nothing_of_a_partition_still_being_read() -> None:
    book = ScheduleBook()
    book.assigned(3, end_offset=2)
    book.on_schedule(3, 0, "sch-1", schedule())
    assert book.due(at(0), 1.0) == []  # a newer version (paused, deleted) may follow
    book.on_schedule(3, 1, "sch-1", schedule(paused=True))
    assert book.due(at(0), 1.0) == []
    book.on_schedule(3, 2, "sch-1", schedule())
    assert [r.job_id for r, _ in book.due(at(0), 1.0)] == ["sched-sch-1-1-0"]


def test_the_book_keeps_the_newest_run_and_forgets_deleted_schedules() -> None:
    book = ScheduleBook()
    book.assigned(0, end_offset=0)
    book.on_schedule(0, 0, "sch-1", schedule())
    book.on_run("sch-1", ran(4))
    book.on_run("sch-1", ran(3))  # read back after this instance recorded 4
    assert book.runs["sch-1"].slot == 4
    assert book.on_schedule(0, 1, "sch-1", None) is True  # its run record is owed a tombstone
    assert book.due(at(900 * 9), 1.0) == []
    book.revoked(0)
    assert 0 not in book.schedules
