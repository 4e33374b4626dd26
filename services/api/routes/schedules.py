"""Schedules: recurring orders imports and inventory reports (docs/design.md §20).

The API validates and publishes each schedule to ``amazon.schedules`` (deletion: a
tombstone); reads come from the projection. A shop key sees and changes only its own
shop's schedules, another's is a 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from services.api.bodies import StrictJsonRoute
from services.api.deps import Caller, Db, Publisher, visible, visible_account
from services.api.errors import ApiError
from services.api.models import ErrorBody, Page, ScheduleCreate, SchedulePatch, ScheduleRow
from services.api.pagination import Keyset, read_page
from services.api.projection import schedule_doc
from shared.events import utcnow
from shared.job_items import InvalidJobPayload
from shared.jobs import JobType
from shared.schedules import ScheduleDefined, check_interval, check_params
from shared.topics import SCHEDULES

router = APIRouter(prefix="/v1/schedules", tags=["schedules"], route_class=StrictJsonRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 422, 503)
}
BY_ID = Keyset((("_id", str),))


def _row(doc: dict[str, Any]) -> ScheduleRow:
    return ScheduleRow(
        id=doc["_id"],
        shop_id=doc["shop_id"],
        account_id=doc["account_id"],
        job_type=doc["job_type"],
        interval_s=doc["interval_s"],
        paused=doc["paused"],
        params=doc.get("params"),
        anchor=doc["anchor"],
        revision=doc["revision"],
        created_at=doc["created_at"],
        updated_at=doc.get("updated_at"),
    )


def _event_row(event: ScheduleDefined) -> ScheduleRow:
    """What the API answers for a schedule it just published (before its projection)."""
    return _row(schedule_doc(event))


def _check(job_type: JobType, interval_s: int, params: dict[str, Any] | None) -> None:
    try:
        check_interval(job_type, interval_s)
    except ValueError as exc:
        raise ApiError(422, "invalid", f"interval_s: {exc}") from None
    try:
        check_params(job_type, params)
    except InvalidJobPayload as exc:
        raise ApiError(422, "invalid", str(exc)) from None


async def _visible(db: Db, who: Caller, schedule_id: str) -> dict[str, Any]:
    return await visible(db.schedules, "schedule", who, schedule_id)


@router.get("", response_model=Page[ScheduleRow], responses=ERRORS)
async def list_schedules(
    db: Db,
    who: Caller,
    account_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Page[ScheduleRow]:
    query: dict[str, Any] = {} if who.is_admin else {"shop_id": who.shop_id}
    if account_id is not None:
        query["account_id"] = account_id
    docs, next_cursor = await read_page(db.schedules, query, BY_ID, limit, cursor)
    return Page[ScheduleRow](data=[_row(d) for d in docs], next_cursor=next_cursor)


@router.post("", status_code=202, response_model=ScheduleRow, responses=ERRORS)
async def create_schedule(
    body: ScheduleCreate, db: Db, who: Caller, publisher: Publisher
) -> ScheduleRow:
    """Run an orders import (orders updated since the run before) or an inventory report
    of one account every ``interval_s`` seconds, the first run at once. Each run is an
    ordinary job whose log names the schedule."""
    job_type = JobType(body.job_type)
    _check(job_type, body.interval_s, body.params)
    account = await visible_account(db, who, body.account_id)
    now = utcnow()
    event = ScheduleDefined(
        # Chosen here, never by the caller: a schedule deleted and made again must not
        # meet its predecessor's job ids.
        schedule_id=f"sch-{uuid.uuid4().hex[:12]}",
        shop_id=account["shop_id"],
        account_id=body.account_id,
        job_type=body.job_type,
        interval_s=body.interval_s,
        paused=body.paused,
        params=body.params,
        anchor=now,
        created_at=now,
        occurred_at=now,
    )
    await publisher.publish(SCHEDULES, event.schedule_id, event)
    return _event_row(event)


@router.get("/{schedule_id}", response_model=ScheduleRow, responses=ERRORS)
async def get_schedule(schedule_id: str, db: Db, who: Caller) -> ScheduleRow:
    return _row(await _visible(db, who, schedule_id))


@router.patch("/{schedule_id}", status_code=202, response_model=ScheduleRow, responses=ERRORS)
async def update_schedule(
    schedule_id: str, body: SchedulePatch, db: Db, who: Caller, publisher: Publisher
) -> ScheduleRow:
    """Pause or resume (a resumed schedule runs at once if a run fell in the pause),
    change the interval (runs are counted afresh from now), or the jobs' params (from
    the next run on)."""
    doc = await _visible(db, who, schedule_id)
    current = _row(doc)
    now = utcnow()
    anchor, revision, interval_s = current.anchor, current.revision, current.interval_s
    params = body.params if "params" in body.model_fields_set else current.params
    if body.interval_s is not None and body.interval_s != current.interval_s:
        anchor, revision, interval_s = now, current.revision + 1, body.interval_s
    _check(JobType(current.job_type), interval_s, params)
    event = ScheduleDefined(
        schedule_id=schedule_id,
        shop_id=current.shop_id,
        account_id=current.account_id,
        job_type=current.job_type,
        interval_s=interval_s,
        paused=current.paused if body.paused is None else body.paused,
        params=params,
        anchor=anchor,
        revision=revision,
        created_at=current.created_at,
        occurred_at=now,
    )
    await publisher.publish(SCHEDULES, schedule_id, event)
    return _event_row(event)


@router.delete("/{schedule_id}", status_code=204, response_class=Response, responses=ERRORS)
async def delete_schedule(schedule_id: str, db: Db, who: Caller, publisher: Publisher) -> Response:
    """Delete a schedule: no further runs; its jobs stay in the list."""
    await _visible(db, who, schedule_id)
    await publisher.publish_raw(SCHEDULES.name, schedule_id.encode(), None)
    return Response(status_code=204)
