"""A second throttle instance joins while six keys are saturated: partitions move between
live instances, and no key gets more than its bucket allows or loses a waiting request."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from shared.quotas import QuotaClass
from shared.throttle.messages import QuotaKey
from tests.throttle.conftest import (
    Received,
    assert_grants_within_bucket,
    closed_loop,
    grants_on_topic,
    unique,
)

TIME_SCALE = 600.0
RATE = TIME_SCALE / 120  # feed_submit: 15 burst, then 5 tokens per real second


async def test_a_rebalance_between_live_instances_grants_nothing_extra(
    run_inprocess: Any, client_factory: Any, topics: str
) -> None:
    group = unique("throttle-rebalance")
    keys = [
        QuotaKey(account_id=unique("acc"), region="EU", quota_class=QuotaClass.FEED_SUBMIT)
        for _ in range(6)  # spread over both instances' partitions
    ]
    # "earliest": the joining instance must read what the first one had not committed
    # for partitions it never saw traffic on.
    same = {"consumer_group": group, "time_scale": TIME_SCALE, "new_group_from": "earliest"}
    first = await run_inprocess(**same)
    since = time.time()
    received = Received()
    until = received.t0 + 10.0
    async with client_factory(resend_interval_s=1.0) as client:
        loops = [
            asyncio.create_task(
                closed_loop(client, key, received, shop_id=f"shop{i % 3}", until=until)
            )
            for key in keys
            for i in range(4)
        ]
        await asyncio.sleep(3.0)
        second = await run_inprocess(**same)
        await asyncio.gather(*loops)

    # Both instances own part of the keys now, none twice.
    mine, theirs = first.engine.active_partitions, second.engine.active_partitions
    assert mine and theirs and not mine & theirs
    for key in keys:
        published = await grants_on_topic(topics, key)
        assert_grants_within_bucket(published, since, 15, RATE)
        # the rebalance pauses granting for a moment; tokens are not lost meanwhile
        assert len({g.grant_seq for _, g in published}) >= 15 + RATE * 10.0 - 8
