"""Crash recovery: SIGKILL the submitter, the poller and the applier at random moments
during a run of 200 jobs; every job still ends exactly once, none lost."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

from devtools.world import TERMINAL, Seller, job_events, open_shop, sandbox_stats, submit
from shared.events import JobEvent
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

JOBS = 200
SELLERS = 4
VICTIMS = ("submitter", "poller", "applier")


async def chaos(stack: Stack, stop: asyncio.Event, log: list[str], rng: random.Random) -> None:
    """Kill one worker at a random moment, restart it, repeat; each of them at least once."""
    order = [*VICTIMS, *rng.sample(VICTIMS, len(VICTIMS))]
    for victim in order:
        # Random moments are the point here (no race is guarded): a random wait before
        # each kill, and a random downtime before the restart.
        try:
            await asyncio.wait_for(stop.wait(), timeout=rng.uniform(1.0, 4.0))
            return
        except TimeoutError:
            pass
        stack.kill(victim)
        log.append(f"{time.monotonic():.1f} killed {victim}")
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        stack.services[victim].start()


async def test_sigkill_during_a_run_loses_and_repeats_nothing(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    rng = random.Random(2026)
    sellers = [
        Seller(f"crash{n}", shop_id=f"shop-crash{n}", catalog_size=30, listed=30, orders=0)
        for n in range(SELLERS)
    ]
    for seller in sellers:
        await open_shop(pipeline.sandbox_url, publisher, seller)
    jobs = [
        sellers[i % SELLERS].request(
            JobType.UPDATE_QTY if i % 3 else JobType.UPDATE_QTY_PRICE,
            job_id=f"crash-{i:03d}",
            items=[
                {"sku": sellers[i % SELLERS].sku(rng.randrange(30)), "quantity": rng.randrange(50)}
                | ({} if i % 3 else {"price": "9.90", "currency": "EUR"})
            ],
        )
        for i in range(JOBS)
    ]
    stop = asyncio.Event()
    kills: list[str] = []
    chaos_task = asyncio.create_task(chaos(pipeline, stop, kills, rng))
    try:
        for start in range(0, JOBS - 20, 20):  # a steady stream, so the kills land mid-flight
            await submit(publisher, *jobs[start : start + 20])
            await asyncio.sleep(0.3)  # load pacing, not a wait for anything
        # Each worker dies at least once while jobs are still to come: the last batch waits.
        await eventually(lambda: len(kills) >= len(VICTIMS), "each worker killed once")
        await submit(publisher, *jobs[JOBS - 20 :])
        events = await job_events(pipeline.bootstrap, {j.job_id for j in jobs}, timeout_s=240)
    finally:
        stop.set()
        await chaos_task

    endings = Counter(
        e.event_type for seen in events.values() for e in seen if e.event_type in TERMINAL
    )
    twice = [j for j, seen in events.items() if sum(e.event_type in TERMINAL for e in seen) != 1]
    assert not twice, f"jobs with more than one ending: {twice[:5]}"
    failed = {
        j: [(e.event_type, e.seq, [line.message for line in e.log]) for e in seen]
        for j, seen in events.items()
        if seen and seen[-1].event_type != "JobDone"
    }
    assert endings == {"JobDone": JOBS}, (endings, failed)
    for job_id, seen in events.items():
        status_events = [e for e in seen if isinstance(e, JobEvent) and not e.IS_ANNOTATION]
        seqs = [e.seq for e in status_events]
        assert sorted(set(seqs)) == list(range(1, len(set(seqs)) + 1)), (job_id, seqs)
    # Every job reached Amazon: by a feed, or (a stock going to 0, three of these jobs) by
    # patchListingsItem; a job resent after a kill counts twice.
    sent = 0
    for seller in sellers:
        stats = await sandbox_stats(pipeline.sandbox_url, seller)
        for operation in ("createFeed", "patchListingsItem"):
            calls = stats.get(operation, {})
            sent += calls.get("accepted", 0)
    print(
        f"\ncrash test: {JOBS} jobs, kills: {kills}; {sent} feeds and patches accepted by "
        f"Amazon, {sent - JOBS} sent twice"
    )
    assert len(kills) >= len(VICTIMS)
    assert sent >= JOBS
