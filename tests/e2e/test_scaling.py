"""Scaling every worker 1 → 3 → 1 while 300 jobs run: nothing lost, stuck or applied
twice, no crash loop, the projection never goes back, and a feed is sent twice only where a
stopping instance left its createFeed unanswered (docs/design.md §15)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from devtools.topics_read import read_to_end
from devtools.world import TERMINAL, Seller, job_events, open_shop, sandbox_stats, submit
from shared.events import JobEvent, ListingState
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.topics import LISTINGS
from tests.e2e.conftest import make_stack
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

JOBS = 300
SELLERS = 6
SCALED = ("submitter", "poller", "applier", "projector")


@pytest.fixture(scope="module")
def scaling(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    stack = make_stack(topics, mongo_url, test_output_dir / "e2e", API_RUN_PROJECTOR="false")
    try:
        stack.start(["amazon_sandbox", "throttle", *SCALED])
        yield stack
    finally:
        stack.stop()


async def watch_projection(
    mongo_url: str,
    job_ids: set[str],
    stop: asyncio.Event,
    latest: dict[str, tuple[int, str]],
    regressions: list[str],
) -> None:
    """Poll the projected jobs until ``stop``; note every job whose seq went back."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        db = client.get_default_database()
        wanted = sorted(job_ids)
        while not stop.is_set():
            async for doc in db.jobs.find({"_id": {"$in": wanted}}, {"seq": 1, "status": 1}):
                seen = latest.get(doc["_id"])
                if seen is not None and doc["seq"] < seen[0]:
                    regressions.append(f"{doc['_id']}: seq {seen[0]} then {doc['seq']}")
                latest[doc["_id"]] = (doc["seq"], doc["status"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.3)
    finally:
        await client.close()


def logged(stack: Stack, name: str) -> list[dict[str, Any]]:
    """The JSON records of the instance's log."""
    text = stack.services[name].log_path.read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def started(stack: Stack, name: str) -> bool:
    """The instance has taken partitions (a worker) or is running (the projector)."""
    text = stack.services[name].log_path.read_text(errors="replace")
    marker = "partitions restored" if not name.startswith("projector") else "service starting"
    return marker in text


async def test_scaling_every_worker_one_three_one_loses_and_repeats_nothing(
    scaling: Stack, publisher: EventPublisher, mongo_url: str
) -> None:
    sellers = [
        Seller(f"scale{n}", shop_id=f"shop-scale{n}", catalog_size=20, listed=20, orders=0)
        for n in range(SELLERS)
    ]
    for seller in sellers:
        await open_shop(scaling.sandbox_url, publisher, seller, synced_skus=range(20))

    def item(i: int) -> dict[str, object]:
        price: dict[str, object] = {} if i % 2 else {"price": "9.90", "currency": "EUR"}
        return {"sku": sellers[i % SELLERS].sku(i % 20), "quantity": i % 50, **price}

    jobs = [
        sellers[i % SELLERS].request(
            JobType.UPDATE_QTY if i % 2 else JobType.UPDATE_QTY_PRICE,
            job_id=f"scale-{scaling.run_id}-{i:03d}",
            items=[item(i)],
        )
        for i in range(JOBS)
    ]
    job_ids = {j.job_id for j in jobs}
    stop = asyncio.Event()
    regressions: list[str] = []
    latest: dict[str, tuple[int, str]] = {}
    watcher = asyncio.create_task(watch_projection(mongo_url, job_ids, stop, latest, regressions))
    stopped: list[str] = []
    try:
        for start in range(0, JOBS, 20):
            if start == 100:
                for service in SCALED:
                    scaling.scale(service, 3)
            if start == 140:
                # The new instances have taken their share before any of them is stopped.
                for name in [f"{s}.{n}" for s in SCALED for n in (2, 3)]:
                    await eventually(partial(started, scaling, name), f"{name} running")
            if start == 200:
                for service in SCALED:
                    stopped += scaling.scale(service, 1)
            await submit(publisher, *jobs[start : start + 20])
            # Load pacing (a steady stream, so the rebalances land mid-flight), not a wait.
            await asyncio.sleep(0.4)
        events = await job_events(scaling.bootstrap, job_ids, timeout_s=300)
        try:
            await eventually(
                lambda: {j for j, (_, status) in latest.items() if status == "done"} >= job_ids,
                "every job projected as done",
            )
        except AssertionError as exc:
            statuses = Counter(status for _, status in latest.values())
            raise AssertionError(
                f"{exc}; projected: {dict(statuses)}, missing {len(job_ids - set(latest))}"
            ) from None
    finally:
        stop.set()
        await watcher

    endings = Counter(
        e.event_type for seen in events.values() for e in seen if e.event_type in TERMINAL
    )
    assert endings == {"JobDone": JOBS}, endings
    for job_id, seen in events.items():
        seqs = [e.seq for e in seen if isinstance(e, JobEvent) and not e.IS_ANNOTATION]
        assert seqs == list(range(1, len(seqs) + 1)), (job_id, seqs)

    # Applied once: one result per job and SKU on amazon.listings (pending marks aside).
    listings = await read_to_end(
        scaling.bootstrap,
        LISTINGS.name,
        where=lambda e: isinstance(e, ListingState) and e.last_job_id in job_ids,
    )
    applied = Counter(
        (e.last_job_id, e.sku)
        for e in listings
        if isinstance(e, ListingState) and e.status != "pending"
    )
    assert applied and max(applied.values()) == 1, applied.most_common(3)

    # No crash loop: every instance started once; the stopped ones stopped cleanly.
    for name, process in scaling.services.items():
        assert process.starts == 1, f"{name} was started {process.starts} times"
        if name in stopped:
            assert process.proc is not None and process.proc.returncode == 0, name
        else:
            assert process.alive(), f"{name} died:\n{process.log_tail()}"
    assert len(stopped) == 2 * len(SCALED)

    # A feed sent twice only where a stopping instance left a createFeed unanswered (or
    # an answer was lost), and counted.
    accepted = 0
    for seller in sellers:
        stats = (await sandbox_stats(scaling.sandbox_url, seller))["createFeed"]
        accepted += stats["calls"] - stats["throttled"] - stats["errors"]
    records = [r for n in scaling.services if n.startswith("submitter") for r in logged(scaling, n)]
    by_next_owner = [r for r in records if str(r.get("msg")).startswith("the last owner may")]
    after_lost_answer = [r for r in records if "sending it again in" in str(r.get("msg"))]
    unanswered = sum(int(str(r.get("unanswered", 0))) for r in records)
    print(
        f"\nscaling: {JOBS} jobs, stopped {stopped}; {accepted} feeds accepted "
        f"({accepted - JOBS} twice; sent again: {len(by_next_owner)} by a next owner, "
        f"{len(after_lost_answer)} after a lost answer; {unanswered} left unanswered on stop)"
    )
    assert accepted - JOBS <= len(by_next_owner) + len(after_lost_answer)
    assert len(by_next_owner) <= unanswered, by_next_owner[:3]

    # The projection got every job to its end and never went back.
    assert not regressions, regressions[:5]
    assert {j for j, (_, status) in latest.items() if status == "done"} == job_ids
