"""The throttle service in this process on the real broker: the bucket bound under
concurrent requesters, fairness, idempotent requests, releases, 429 feedback, snapshots."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from prometheus_client import REGISTRY

from devtools.topics_read import collect
from shared.events import DeadLettered
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.throttle.messages import BucketSnapshot, TokenRequested
from shared.topics import DEAD_LETTERS, THROTTLE_REQUESTS, THROTTLE_SNAPSHOTS
from tests.throttle.conftest import (
    Received,
    assert_grants_within_bucket,
    closed_loop,
    feed_key,
    grants_on_topic,
    unique,
)
from tests.waiting import eventually

TIME_SCALE = 600.0  # feed_submit: 15 burst, then 0.0083 tokens/s x 600 (about every 0.2 s)
RATE = TIME_SCALE * 0.0083
# The bucket alone: these tests are about granting, not about feed_submit's own caps.
NO_CAPS = {"hourly_cap": None, "window_cap": None}


async def test_concurrent_requesters_never_get_more_than_the_bucket_allows(
    run_inprocess: Any, client_factory: Any, topics: str
) -> None:
    account = unique("acc")
    key = feed_key(account)
    service = await run_inprocess(
        time_scale=TIME_SCALE, quota_overrides={key.seller_id: {"feed_submit": NO_CAPS}}
    )
    since = time.time()
    received = Received()
    until = received.t0 + 6.0
    async with client_factory() as one, client_factory() as two, client_factory() as three:
        # Three shops of one seller; the big one keeps five times as many requests open.
        loops = [closed_loop(one, key, received, shop_id="big", until=until) for _ in range(15)]
        loops += [closed_loop(two, key, received, shop_id="mid", until=until) for _ in range(3)]
        loops += [closed_loop(three, key, received, shop_id="small", until=until)]
        await asyncio.gather(*loops)

    received.assert_within_bucket(burst=15, rate_per_s=RATE)
    published = await grants_on_topic(topics, key)
    assert_grants_within_bucket(published, since, 15, RATE)
    grants = received.distinct()
    assert len(grants) == len(received.grants)  # every grant a new token, no repeats here
    assert sorted(g.grant_seq for _, g, _ in grants) == list(range(1, len(grants) + 1))
    # ... and the bucket was used: between the first grant and the last, by the throttle's
    # own send times, every token that existed was granted (a late timer grants the
    # tokens that refilled meanwhile at once), give or take one refill interval.
    sent: dict[int, float] = {}
    for at, grant in published:  # a repeat reuses its number: the first send counts
        sent.setdefault(grant.grant_seq, at)
    span = max(sent.values()) - min(sent.values())
    assert len(sent) >= 15 + RATE * span - 2, (len(sent), span)
    # After the burst, each shop gets a third whatever it keeps open.
    after_burst = Counter(shop for _, _, shop in grants[15:])
    total = sum(after_burst.values())
    assert min(after_burst.values()) >= total / 3 - 2, after_burst
    # Requests still queued when the requesters stopped are withdrawn, or granted in the
    # same instant; once that settles, the key's counter matches every grant published.
    state = service.engine.key_state(key)
    assert state is not None
    await eventually(lambda: len(state.queue) == 0, "the stopped requesters' requests withdrawn")
    seqs = {g.grant_seq for _, g in await grants_on_topic(topics, key)}
    assert state.grant_seq == len(seqs) >= len(grants)


async def test_a_repeated_request_gets_the_same_grant_and_a_release_gives_the_token_back(
    run_inprocess: Any, client_factory: Any
) -> None:
    key = feed_key(unique("acc"))
    service = await run_inprocess(
        quota_overrides={
            key.seller_id: {"feed_submit": {"burst": 1, "rate_per_s": 0.01, **NO_CAPS}}
        }
    )
    async with client_factory() as client, client_factory() as restarted:
        ask: dict[str, Any] = dict(job_id="j1", job_type=JobType.UPDATE_QTY, shop_id="s1")
        first = await client.acquire(key, request_id="r1", timeout=60, **ask)
        # A requester that restarted (new reply_to) asks again with the same id.
        again = await restarted.acquire(key, request_id="r1", timeout=60, **ask)
        assert again.grant_seq == first.grant_seq == 1
        assert again.reply_to == restarted.reply_to
        # The bucket (1 token, 100 s to refill) is empty: r2 waits ...
        waiting = asyncio.create_task(client.acquire(key, request_id="r2", timeout=60, **ask))
        state = service.engine.key_state(key)
        assert state is not None
        await eventually(lambda: "r2" in state.queue, "r2 queued at the throttle")
        assert not waiting.done()
        # ... until r1's token comes back unused.
        await client.release(first)
        second = await waiting
        assert second.grant_seq == 2


async def test_a_released_token_is_granted_again(run_inprocess: Any, client_factory: Any) -> None:
    key = feed_key(unique("acc"))
    await run_inprocess(
        time_scale=1.0,  # one token per 120 s of real time: none refills during this test
        quota_overrides={key.seller_id: {"feed_submit": {"burst": 1, **NO_CAPS}}},
    )
    ask: dict[str, Any] = dict(job_id="j", job_type=JobType.UPDATE_QTY, shop_id="s1")
    async with client_factory() as client:
        unused = await client.acquire(key, request_id="used-not", timeout=60, **ask)
        await client.release(unused)  # not sent to Amazon after all: the token goes back
        # Granted within 60 s, half a refill: it can only be the released token.
        again = await client.acquire(key, request_id="next", timeout=60, **ask)
        assert again.grant_seq == unused.grant_seq + 1


async def test_a_429_empties_the_bucket(run_inprocess: Any, client_factory: Any) -> None:
    key = feed_key(unique("acc"))
    await run_inprocess(
        time_scale=100.0,  # one token per 1.2 s of real time
        quota_overrides={key.seller_id: {"feed_submit": {"burst": 1, **NO_CAPS}}},
    )
    ask: dict[str, Any] = dict(job_id="j", job_type=JobType.UPDATE_QTY, shop_id="s1")
    async with client_factory() as client:
        taken = time.monotonic()
        await client.acquire(key, request_id="first", timeout=60, **ask)
        # Near the next refill (1.2 s after the token was taken), Amazon says 429: the
        # bucket restores one whole interval from the 429, not at the refill it was due.
        # The pause places the 429 in the refill cycle (the scenario); it awaits nothing.
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - taken)))
        await client.report_throttled(key)
        started = time.monotonic()
        await client.acquire(key, request_id="after-429", timeout=60, **ask)
        waited = time.monotonic() - started
        assert waited >= 0.6, waited  # the due refill was ~0.2 s away


async def test_timeout_withdraws_and_asking_again_keeps_the_place(
    run_inprocess: Any, client_factory: Any
) -> None:
    key = feed_key(unique("acc"))
    service = await run_inprocess(
        time_scale=60.0,  # one token per 2 s
        quota_overrides={key.seller_id: {"feed_submit": {"burst": 1, **NO_CAPS}}},
    )
    ask: dict[str, Any] = dict(job_type=JobType.UPDATE_QTY, shop_id="s1")
    async with client_factory() as client:
        await client.acquire(key, request_id="first", job_id="j0", timeout=60, **ask)
        try:
            await client.acquire(key, request_id="old", job_id="j1", timeout=0.3, **ask)
        except TimeoutError as exc:
            assert "old" in str(exc)
        else:  # pragma: no cover
            raise AssertionError("expected a timeout")
        newer = asyncio.create_task(
            client.acquire(key, request_id="newer", job_id="j2", timeout=60, **ask)
        )
        state = service.engine.key_state(key)
        assert state is not None
        await eventually(lambda: "newer" in state.queue, "the newer request queued")
        old = await client.acquire(key, request_id="old", job_id="j1", timeout=60, **ask)
        assert not newer.done()  # "old" got its place back ahead of "newer"
        assert (await newer).grant_seq == old.grant_seq + 1
    state = service.engine.key_state(key)
    assert state is not None and len(state.queue) == 0


async def test_snapshots_and_dead_letters(
    run_inprocess: Any, client_factory: Any, topics: str, publisher: EventPublisher
) -> None:
    key = feed_key(unique("acc"))
    await run_inprocess(snapshot_interval_s=0.2)
    async with client_factory() as client:
        await client.acquire(
            key, request_id="r", job_id="j", job_type=JobType.SEND_PRODUCTS, shop_id="s", timeout=60
        )
    snapshots = await collect(
        topics,
        THROTTLE_SNAPSHOTS.name,
        lambda found: bool(found),
        where=lambda e: isinstance(e, BucketSnapshot) and e.quota_key == key,
    )
    snap = snapshots[-1]
    assert isinstance(snap, BucketSnapshot)
    assert (snap.burst, snap.queue_depth) == (15, 0) and 13.9 < snap.tokens <= 14.01

    # A request under the wrong key would be owned by another partition's instance.
    wrong = TokenRequested(
        request_id="x",
        quota_key=key,
        shop_id="s",
        job_id="j",
        job_type=JobType.UPDATE_QTY,
        reply_to="nobody",
    )
    await publisher.publish(THROTTLE_REQUESTS, "not-the-quota-key", wrong)
    letters = await collect(
        topics,
        DEAD_LETTERS.name,
        lambda found: bool(found),
        where=lambda e: isinstance(e, DeadLettered) and e.key == "not-the-quota-key",
    )
    assert isinstance(letters[0], DeadLettered) and "quota key" in letters[0].error
    # Counted with every other path's letters in the one shared metric.
    counted = [
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == "dead_letters_total" and sample.labels["topic"] == THROTTLE_REQUESTS.name
    ]
    assert sum(counted) >= 1
