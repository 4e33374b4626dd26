"""Schedules end to end: the API takes them, the scheduler runs each slot once as an
ordinary job, also through a kill and restart of the scheduler (docs/design.md §20)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.topics_read import read_to_end
from devtools.world import Seller, open_shop
from shared.events import Event, JobReserved
from shared.kafka.producer import EventPublisher
from shared.topics import JOB_EVENTS
from tests.e2e.conftest import make_stack
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

# 900 Amazon seconds (the shortest orders import interval) are 2 real seconds.
TIME_SCALE = 450.0
INTERVAL_S = 900
SLOT_REAL_S = INTERVAL_S / TIME_SCALE
ONE = Seller("sched1", shop_id="shop1")
TWO = Seller("sched2", shop_id="shop2")


@pytest.fixture(scope="module")
def system(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    db_url = mongo_url.rsplit("/", 1)[0] + f"/sched_{uuid.uuid4().hex[:8]}"
    stack = make_stack(topics, db_url, test_output_dir / "e2e")
    stack.time_scale = TIME_SCALE
    try:
        stack.start(["amazon_sandbox", "throttle", "submitter", "scheduler", "api"])
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
async def shops(system: Stack, publisher: EventPublisher) -> AsyncIterator[dict[str, Any]]:
    for seller in (ONE, TWO):
        await open_shop(system.sandbox_url, publisher, seller)
    clients = {
        shop: httpx.AsyncClient(
            base_url=system.api_url, timeout=30, headers={"Authorization": f"Bearer {key}"}
        )
        for shop, key in (("shop1", "shop1-key"), ("shop2", "shop2-key"))
    }
    for shop, seller in (("shop1", ONE), ("shop2", TWO)):
        await until_ok(clients[shop], f"/v1/accounts/{seller.account_id}/orders")
    yield clients
    for client in clients.values():
        await client.aclose()


async def until_ok(client: httpx.AsyncClient, path: str) -> dict[str, Any]:
    """GET ``path`` until it answers 200 (the projection has caught up)."""
    answer: dict[str, Any] = {}

    async def fetch() -> bool:
        r = await client.get(path)
        answer["body"] = r.json()
        return r.status_code == 200

    await eventually(fetch, f"{path} to answer 200")
    return dict(answer["body"])


async def reserved_of(system: Stack, schedule_id: str) -> list[JobReserved]:
    prefix = f"sched-{schedule_id}-"

    def mine(e: Event) -> bool:
        return isinstance(e, JobReserved) and e.job_id.startswith(prefix)

    found = await read_to_end(system.bootstrap, JOB_EVENTS.name, where=mine)
    return [e for e in found if isinstance(e, JobReserved)]


def slot_of(job_id: str) -> int:
    return int(job_id.rsplit("-", 1)[1])


async def wait_for_slots(system: Stack, schedule_id: str, at_least: int) -> list[JobReserved]:
    found: list[JobReserved] = []

    async def enough() -> bool:
        found[:] = await reserved_of(system, schedule_id)
        return len({e.job_id for e in found}) >= at_least

    await eventually(enough, f"{at_least} jobs of schedule {schedule_id}")
    return found


async def test_a_schedule_runs_each_slot_once_through_a_scheduler_restart(
    system: Stack, shops: dict[str, httpx.AsyncClient]
) -> None:
    created = await shops["shop1"].post(
        "/v1/schedules",
        json={"account_id": ONE.account_id, "job_type": "orders_import", "interval_s": INTERVAL_S},
    )
    assert created.status_code == 202, created.text
    schedule = created.json()
    sid, anchor = schedule["id"], datetime.fromisoformat(schedule["anchor"])

    def slot_time(n: int) -> datetime:
        return anchor + timedelta(seconds=n * SLOT_REAL_S)

    await wait_for_slots(system, sid, 3)
    system.kill("scheduler")
    before = sorted(slot_of(e.job_id) for e in await reserved_of(system, sid))
    last = before[-1]
    assert before == list(range(last + 1)), "a slot was skipped while the scheduler ran"

    # Let at least two slots fall due while no scheduler runs, then start it again.
    await eventually(
        lambda: datetime.now(UTC) >= slot_time(last + 3), timeout_s=30, what="two missed slots"
    )
    system.start(["scheduler"])
    restarted = await wait_for_slots(system, sid, len(before) + 2)
    # A second instance joins: the two divide the partitions, and a slot still makes one job.
    system.scale("scheduler", 2)
    found = await wait_for_slots(system, sid, len({e.job_id for e in restarted}) + 3)

    counts = Counter(e.job_id for e in found)
    assert [j for j, n in counts.items() if n > 1] == [], "a slot made two jobs"
    slots = sorted(slot_of(j) for j in counts)
    after = [s for s in slots if s > last]
    first_after = after[0]
    assert after == list(range(first_after, after[-1] + 1)), "a slot was skipped after restart"
    # Skipped by design: only the slots that fell due while no scheduler ran, of which
    # the newest ran once it was back.
    assert first_after >= last + 3
    catch_up = next(e for e in found if slot_of(e.job_id) == first_after)
    for skipped in range(last + 1, first_after):
        assert slot_time(skipped) < catch_up.occurred_at
    # The catch-up import reaches back to the last run before the outage: nothing missed.
    params = catch_up.data.params
    assert params is not None and getattr(params, "by", None) == "last_update"
    assert getattr(params, "since", None) is not None
    assert params.since <= slot_time(last)  # type: ignore[union-attr]
    assert f"from schedule {sid}" in catch_up.log[0].message
    assert catch_up.data.schedule_id == sid

    # Each run is an ordinary job: listed with the others, and done.
    async def listed_and_done() -> bool:
        r = await shops["shop1"].get("/v1/jobs/" + f"sched-{sid}-1-0")
        return r.status_code == 200 and r.json()["status"] == "done"

    await eventually(listed_and_done, "the first run to be done")
    assert (await shops["shop1"].delete(f"/v1/schedules/{sid}")).status_code == 204


async def test_schedules_are_validated_and_each_shop_sees_only_its_own(
    system: Stack, shops: dict[str, httpx.AsyncClient]
) -> None:
    one, two = shops["shop1"], shops["shop2"]
    too_often = await one.post(
        "/v1/schedules",
        json={"account_id": ONE.account_id, "job_type": "inventory_report", "interval_s": 600},
    )
    assert too_often.status_code == 422
    assert too_often.json()["error"]["message"] == (
        "interval_s: Input should be greater than or equal to 900"
    )
    own_since = await one.post(
        "/v1/schedules",
        json={
            "account_id": ONE.account_id,
            "job_type": "orders_import",
            "interval_s": 1800,
            "params": {"since": "2026-01-01T00:00:00Z"},
        },
    )
    assert own_since.status_code == 422 and "since" in own_since.text
    wrong_type = await one.post(
        "/v1/schedules",
        json={"account_id": ONE.account_id, "job_type": "update_qty", "interval_s": 1800},
    )
    assert wrong_type.status_code == 422
    others_account = await one.post(
        "/v1/schedules",
        json={"account_id": TWO.account_id, "job_type": "orders_import", "interval_s": 1800},
    )
    assert others_account.status_code == 404

    created = await two.post(
        "/v1/schedules",
        json={
            "account_id": TWO.account_id,
            "job_type": "inventory_report",
            "interval_s": 3600,
            "paused": True,
        },
    )
    assert created.status_code == 202, created.text
    sid = created.json()["id"]
    row = await until_ok(two, f"/v1/schedules/{sid}")
    assert row["paused"] is True and row["shop_id"] == "shop2"
    assert sid not in {r["id"] for r in (await one.get("/v1/schedules")).json()["data"]}
    assert sid in {r["id"] for r in (await two.get("/v1/schedules")).json()["data"]}
    assert (await one.get(f"/v1/schedules/{sid}")).status_code == 404
    assert (await one.patch(f"/v1/schedules/{sid}", json={"paused": False})).status_code == 404
    assert (await one.delete(f"/v1/schedules/{sid}")).status_code == 404

    resumed = await two.patch(f"/v1/schedules/{sid}", json={"paused": False})
    assert resumed.status_code == 202 and resumed.json()["paused"] is False
    slower = await two.patch(f"/v1/schedules/{sid}", json={"interval_s": 60})
    assert slower.status_code == 422
    open_only = {"report_type": "GET_FLAT_FILE_OPEN_LISTINGS_DATA"}
    changed = await two.patch(f"/v1/schedules/{sid}", json={"params": open_only})
    assert changed.status_code == 202, changed.text
    assert changed.json()["params"] == open_only and changed.json()["interval_s"] == 3600
    unknown = await two.patch(f"/v1/schedules/{sid}", json={"params": {"report_type": "NOPE"}})
    assert unknown.status_code == 422 and "report_type" in unknown.text
    # Resumed, it runs at once (its first slot): a report job naming the schedule.
    jobs = await wait_for_slots(system, sid, 1)
    assert jobs[0].job_type.value == "inventory_report"
    assert (await two.delete(f"/v1/schedules/{sid}")).status_code == 204

    async def gone() -> bool:
        return (await two.get(f"/v1/schedules/{sid}")).status_code == 404

    await eventually(gone, "the deleted schedule to leave the list")
