"""SIGKILL the throttle process in the middle of a stream of requests and restart it:
no queued request is lost, no token is granted twice, no more tokens than the bucket."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from devtools.topics_read import read_to_end
from shared.jobs import JobType
from shared.throttle.messages import TokenRequested
from shared.topics import THROTTLE_REQUESTS
from tests.throttle.conftest import (
    Received,
    assert_grants_within_bucket,
    feed_key,
    grants_on_topic,
    unique,
)
from tests.waiting import eventually

# Tokens per real second (time scale 1). A restart from a fresh bucket would show as too
# many grants when the throttle is down for less than the 4 s a drained bucket needs to
# fill again.
BURST, RATE = 8, 2.0
REQUESTS = 24


async def test_sigkill_and_restart_lose_no_request_and_grant_nothing_twice(
    throttle_process: Any, client_factory: Any, topics: str
) -> None:
    key = feed_key(unique("acc"))
    throttle = throttle_process(
        {
            "THROTTLE_QUOTA_OVERRIDES": json.dumps(
                {
                    key.seller_id: {
                        "feed_submit": {
                            "burst": BURST,
                            "rate_per_s": RATE,
                            "hourly_cap": None,
                            "window_cap": None,
                        }
                    }
                }
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

        async def requests_sent() -> bool:
            on_topic = await read_to_end(
                topics,
                THROTTLE_REQUESTS.name,
                where=lambda e: isinstance(e, TokenRequested) and e.quota_key == key,
            )
            return (
                len({e.request_id for e in on_topic if isinstance(e, TokenRequested)}) == REQUESTS
            )

        # A stream of requests: the first ones until the burst and some refills are
        # granted, then the throttle is killed, the rest arrive while it is down, and it
        # is started again.
        tasks = [asyncio.create_task(one(i)) for i in range(REQUESTS // 2)]
        await eventually(lambda: len(received.grants) >= BURST + 2, "the burst and two refills")
        throttle.kill()
        down = time.monotonic() - received.t0
        tasks += [asyncio.create_task(one(i)) for i in range(REQUESTS // 2, REQUESTS)]
        await eventually(requests_sent, "every request on the topic while it is down")
        throttle.start()
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
    # the requests sent while it was down were granted after the restart
    late = {f"r{i:02d}" for i in range(REQUESTS // 2, REQUESTS)}
    assert {g.request_id for t, g, _ in received.grants if t > down} >= late
