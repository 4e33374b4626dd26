"""A second throttle instance joins while six keys are saturated: partitions move between
live instances, and no key gets more than its bucket allows or loses a waiting request."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from shared.jobs import JobType
from shared.quotas import QuotaClass
from shared.throttle.client import ThrottleClient
from shared.throttle.messages import QuotaKey
from tests.throttle.conftest import (
    Received,
    assert_grants_within_bucket,
    grants_on_topic,
    unique,
)
from tests.waiting import HUNG_S, eventually

TIME_SCALE = 600.0
RATE = TIME_SCALE / 120  # feed_submit: 15 burst, then 5 tokens per real second


async def test_a_rebalance_between_live_instances_grants_nothing_extra(
    run_inprocess: Any, client_factory: Any, topics: str
) -> None:
    group = unique("throttle-rebalance")
    keys = [
        QuotaKey(seller_id=unique("acc"), region="EU", quota_class=QuotaClass.FEED_SUBMIT)
        for _ in range(6)  # spread over both instances' partitions
    ]
    # "earliest": the joining instance must read what the first one had not committed
    # for partitions it never saw traffic on.
    same = {"consumer_group": group, "time_scale": TIME_SCALE, "new_group_from": "earliest"}
    first = await run_inprocess(**same)
    since = time.time()
    received = Received()
    stop = asyncio.Event()

    def granted(key: QuotaKey) -> int:
        return sum(1 for _, g, _ in received.grants if g.quota_key == key)

    async def requester(client: ThrottleClient, key: QuotaKey, shop_id: str) -> None:
        # Asks again as soon as it has its token; a request lost in the move would not
        # be granted and ends the test here.
        while not stop.is_set():
            rid = unique(shop_id)
            grant = await client.acquire(
                key,
                request_id=rid,
                job_id=f"job-{rid}",
                job_type=JobType.UPDATE_QTY,
                shop_id=shop_id,
                timeout=HUNG_S,
            )
            received.add(grant, shop_id)

    async with client_factory(resend_interval_s=1.0) as client:
        loops = [
            asyncio.create_task(requester(client, key, f"shop{i % 3}"))
            for key in keys
            for i in range(4)
        ]
        await eventually(lambda: all(granted(key) > 15 for key in keys), "every key past its burst")
        second = await run_inprocess(**same)
        joined = {key: granted(key) for key in keys}
        await eventually(
            lambda: all(granted(key) >= joined[key] + 5 for key in keys),
            "five more grants of every key once the second instance is in",
        )
        stop.set()
        await asyncio.gather(*loops)

    # Both instances own part of the keys now, none twice.
    mine, theirs = first.engine.active_partitions, second.engine.active_partitions
    assert mine and theirs and not mine & theirs
    for key in keys:
        published = await grants_on_topic(topics, key)
        assert_grants_within_bucket(published, since, 15, RATE)
        # one number per token, none skipped: every request waiting at the move was granted
        seqs = sorted({g.grant_seq for _, g in published})
        assert seqs == list(range(1, len(seqs) + 1))
