"""Schedules: recurring orders imports and inventory reports (docs/design.md §20).

A schedule is state owned by the bus like an account: the API publishes
:class:`ScheduleDefined` (a tombstone deletes it) to the compacted ``amazon.schedules``,
the projector shows it, the scheduler service runs it. What the scheduler last ran for a
schedule is on its own compacted topic (:class:`ScheduleRan`).

The pure part: which slot is due and the job a slot makes. Slot *n* of a schedule falls at
``anchor + n * interval`` (Amazon seconds, divided by ``AMAZON_JOBS_TIME_SCALE`` like every
duration); its job id is ``sched-<schedule>-<revision>-<n>``, so publishing a slot twice
(a restart, two instances) makes one job: the submitter drops a repeated job id (§14).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, Field, ValidationError

from shared.events import Event, JobRequested, event
from shared.job_items import PARAMS_MODEL, InvalidJobPayload
from shared.jobs import JobType
from shared.limits import Identifier
from shared.quotas import DEFAULT_QUOTAS, SUBMIT_CLASS

ScheduledType = Literal["orders_import", "inventory_report"]
SCHEDULED_TYPES: tuple[JobType, ...] = (JobType.ORDERS_IMPORT, JobType.INVENTORY_REPORT)

# A schedule may use at most this share of its quota class's sustained rate, so that the
# merchant's own jobs (and other shops on the same seller) still find tokens.
QUOTA_SHARE = 0.2
# The shortest interval per job type, in Amazon seconds. Each is at least what
# QUOTA_SHARE allows (quota_floor_s; tests/unit/test_schedules.py checks it):
# - orders_import: searchOrders restores 0.0056 tokens a second (one per ~3 minutes,
#   burst 20) → 1 / (0.2 * 0.0056/s) ≈ 893 s: every 15 minutes; a run of one page (up to
#   100 orders) costs one token.
# - inventory_report: createReport restores 1 a minute (60 an hour); the floor would be
#   5 minutes, but a listings report takes Amazon minutes to build and a report's rows
#   are all re-applied: every 15 minutes (4 an hour) is the useful minimum.
MIN_INTERVAL_S: dict[JobType, int] = {
    JobType.ORDERS_IMPORT: 15 * 60,
    JobType.INVENTORY_REPORT: 15 * 60,
}
MAX_INTERVAL_S = 31 * 24 * 3600  # a month: longer is not a schedule anyone watches
# An orders import's window starts this long (Amazon seconds) before the previous run's
# slot: Amazon shows an order's update a little late, and an order imported twice is
# the same record (keyed by account and order).
SINCE_OVERLAP_S = 120.0


def quota_floor_s(job_type: JobType) -> float:
    """The shortest interval QUOTA_SHARE of the job's first quota class allows."""
    spec = DEFAULT_QUOTAS[SUBMIT_CLASS[job_type]]
    floor = 1 / (QUOTA_SHARE * spec.rate_per_s)
    if spec.hourly_cap is not None:
        floor = max(floor, 3600 / (QUOTA_SHARE * spec.hourly_cap))
    return floor


def check_interval(job_type: JobType, interval_s: int) -> None:
    """Raise ValueError naming the bound an interval is outside of."""
    minimum = MIN_INTERVAL_S[job_type]
    if interval_s < minimum:
        raise ValueError(
            f"interval_s {interval_s} is below the minimum of {minimum} s for "
            f"{job_type.value} (what the seller's quota allows)"
        )
    if interval_s > MAX_INTERVAL_S:
        raise ValueError(f"interval_s {interval_s} is above the maximum of {MAX_INTERVAL_S} s")


def check_params(job_type: JobType, params: dict[str, Any] | None) -> None:
    """Raise InvalidJobPayload when a schedule's job params do not fit its type. An orders
    import's ``since`` and ``by`` are the scheduler's: each run imports by last update
    since the run before."""
    given = dict(params or {})
    if job_type is JobType.ORDERS_IMPORT:
        for own in ("since", "by"):
            if own in given:
                raise InvalidJobPayload(f"params.{own}: set by the schedule for each run")
        given.update(since="2026-01-01T00:00:00Z", by="last_update")
    try:
        PARAMS_MODEL[job_type].model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidJobPayload(f"params.{where}: {first['msg']}") from exc


# ---------------------------------------------------------------- events


@event
class ScheduleDefined(Event):
    """A schedule as it now is; compacted by ``schedule_id`` (a tombstone deletes it).

    ``revision`` grows when the interval changes: the slots are then counted afresh from
    ``anchor`` and their job ids carry the new revision."""

    event_type: Literal["ScheduleDefined"] = "ScheduleDefined"
    schedule_id: Identifier
    shop_id: Identifier
    account_id: Identifier
    job_type: ScheduledType
    interval_s: int = Field(ge=1, le=MAX_INTERVAL_S)
    paused: bool = False
    params: dict[str, Any] | None = None
    anchor: AwareDatetime  # slot 0
    revision: int = Field(default=1, ge=1)
    created_at: AwareDatetime


@event
class ScheduleRan(Event):
    """The last slot the scheduler published for a schedule; compacted by its id."""

    event_type: Literal["ScheduleRan"] = "ScheduleRan"
    schedule_id: Identifier
    revision: int = Field(ge=1)
    slot: int = Field(ge=0)
    due_at: AwareDatetime  # the slot's time: the next orders import starts from it


# ---------------------------------------------------------------- slots


def slot_at(schedule: ScheduleDefined, now: datetime, time_scale: float) -> int:
    """The newest slot due at ``now`` (-1 before the anchor)."""
    elapsed = (now - schedule.anchor).total_seconds() * time_scale
    return math.floor(elapsed / schedule.interval_s)


def slot_time(schedule: ScheduleDefined, slot: int, time_scale: float) -> datetime:
    return schedule.anchor + timedelta(seconds=slot * schedule.interval_s / time_scale)


def due_slot(
    schedule: ScheduleDefined, last: ScheduleRan | None, now: datetime, time_scale: float
) -> int | None:
    """The slot to run now, if any: only the newest due one, so that a scheduler down for
    hours runs one job per schedule when it is back, not one per slot it missed."""
    if schedule.paused:
        return None
    slot = slot_at(schedule, now, time_scale)
    if slot < 0:
        return None
    if last is not None and last.revision == schedule.revision and last.slot >= slot:
        return None
    return slot


def job_id(schedule: ScheduleDefined, slot: int) -> str:
    return f"sched-{schedule.schedule_id}-{schedule.revision}-{slot}"


def slot_request(
    schedule: ScheduleDefined, slot: int, last: ScheduleRan | None, time_scale: float
) -> tuple[JobRequested, ScheduleRan]:
    """The job of ``slot`` and the record that it ran.

    An orders import takes the orders updated since the previous run's slot (or one
    interval back for a first run), less a small overlap: after an outage or a pause the
    one catch-up run covers the whole gap."""
    due_at = slot_time(schedule, slot, time_scale)
    params = dict(schedule.params or {})
    if schedule.job_type == JobType.ORDERS_IMPORT.value:
        previous = (
            last.due_at
            if last is not None
            else due_at - timedelta(seconds=schedule.interval_s / time_scale)
        )
        since = previous - timedelta(seconds=SINCE_OVERLAP_S / time_scale)
        params.update(since=since.isoformat(), by="last_update")
    request = JobRequested(
        job_id=job_id(schedule, slot),
        shop_id=schedule.shop_id,
        account_id=schedule.account_id,
        job_type=JobType(schedule.job_type),
        params=params or None,
        schedule_id=schedule.schedule_id,
    )
    ran = ScheduleRan(
        schedule_id=schedule.schedule_id, revision=schedule.revision, slot=slot, due_at=due_at
    )
    return request, ran
