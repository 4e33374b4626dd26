"""SIGKILL the throttle process in the middle of a stream of requests and restart it:
no queued request is lost, no token is granted twice, no more tokens than the bucket."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from shared.jobs import JobType
from tests.throttle.conftest import (
    Received,
    assert_grants_within_bucket,
    feed_key,
    grants_on_topic,
    unique,
)
from tests.waiting import eventually

# Tokens per real second (time scale 1). The throttle is down for less than the 4 s a
# drained bucket needs to fill again, so a restart from a fresh bucket would show.
BURST, RATE = 8, 2.0
REQUESTS = 24


async def test_sigkill_and_restart_lose_no_request_and_grant_nothing_twice(
    throttle_process: Any, client_factory: Any, topics: str
) -> None:
    key = feed_key(unique("acc"))
    throttle = throttle_process(
        {
            "THROTTLE_QUOTA_OVERRIDES": json.dumps(
                {key.account_id: {"feed_submit": {"burst": BURST, "rate_per_s": RATE}}}
            ),
            "THROTTLE_RESEND_ON_RECOVERY_S": "60",
        }
    )
    throttle.start()
    await throttle.wait_ready()
    received = Received()
    since = time.time()
    async with client_factory(resend_interval_s=1.0) as client:

        async def one(i: int) -> None:
            rid = f"r{i:02d}"
            grant = await client.acquire(
                key,
                request_id=rid,
                job_id=f"job-{rid}",
                job_type=JobType.UPDATE_QTY,
                shop_id=f"shop{i % 3}",
                timeout=60,
            )
            received.add(grant, grant.request_id)

        down: list[float] = []

        async def kill_and_restart() -> None:
            # the burst, then some refills
            await eventually(lambda: len(received.grants) >= BURST + 2, 30, "first grants")
            # Kill just before the next refill, while grants are being decided.
            await asyncio.sleep(0.95 / RATE)
            throttle.kill()
            down.append(time.monotonic() - received.t0)
            await asyncio.sleep(0.5)
            throttle.start()

        killer = asyncio.create_task(kill_and_restart())
        # A stream of requests, one every 0.15 s, so some arrive while the throttle is down.
        tasks: list[asyncio.Task[None]] = []
        for i in range(REQUESTS):
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(0.15)
        await killer
        await asyncio.gather(*tasks)
        await throttle.wait_ready()  # the restart did rebuild the queue

    # Every request was granted.
    assert sorted(g.request_id for _, g, _ in received.grants) == [
        f"r{i:02d}" for i in range(REQUESTS)
    ]
    # What the throttle published, including grants nobody waited for any more: one token
    # per request, never more than the bucket allows, across the restart (the restarted
    # process went on from the recorded bucket, not from a fresh full one).
    published = await grants_on_topic(topics, key)
    assert_grants_within_bucket(published, since, BURST, RATE)
    assert sorted({g.grant_seq for _, g in published}) == list(range(1, REQUESTS + 1))
    ready = [line for line in throttle.log_lines() if line.get("msg") == "partitions ready"]
    assert len(ready) == 2 and ready[1]["queued"] >= 1, ready
    # requests were still coming while it was down, and were granted after the restart
    assert down[0] < 0.15 * REQUESTS
    assert sum(1 for t, _, _ in received.grants if t > down[0]) >= REQUESTS - BURST - 3
