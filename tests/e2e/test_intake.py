"""Intake at real sizes: a burst of requests for an account nobody registered costs the
other shops nothing, and an account registered just before its first request is found."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest
from aiokafka import AIOKafkaConsumer

from devtools.world import Seller, job_events, open_shop, submit
from shared.codec import decode, encode
from shared.events import JobEvent, JobFailed, JobProcessing, JobRequested
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.topics import JOB_EVENTS, JOB_REQUESTS
from tests.stack import Stack

pytestmark = pytest.mark.integration

BURST = 50_000


async def _job_event_times(
    bootstrap: str, wanted: set[str], until: int
) -> dict[str, list[tuple[JobEvent, int]]]:
    """Every event of the wanted jobs with its record's timestamp (ms), once ``until``
    of them have a terminal or processing event."""
    consumer = AIOKafkaConsumer(
        JOB_EVENTS.name,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    found: dict[str, list[tuple[JobEvent, int]]] = {}
    finished: set[str] = set()
    try:
        async with asyncio.timeout(600):
            while len(finished) < until:
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for records in batches.values():
                    for rec in records:
                        key = rec.key.decode() if rec.key else ""
                        if key not in wanted or rec.value is None:
                            continue
                        event = decode(rec.value)
                        assert isinstance(event, JobEvent)
                        found.setdefault(key, []).append((event, rec.timestamp))
                        if isinstance(event, JobFailed | JobProcessing):
                            finished.add(key)
    finally:
        await consumer.stop()
    return found


async def test_a_burst_for_an_unknown_account_holds_back_no_other_shop(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    good = Seller("intake", shop_id="shop-intake")
    await open_shop(pipeline.sandbox_url, publisher, good)
    run = uuid.uuid4().hex[:6]
    burst = [
        encode(
            JobRequested(
                job_id=f"typo-{run}-{n}",
                shop_id="shop-typo",
                account_id="acc-none",
                job_type=JobType.UPDATE_QTY,
                items=[{"sku": "X", "quantity": 1}],
            )
        )
        for n in range(BURST)
    ]
    producer = publisher.producer
    sent = [
        await producer.send(JOB_REQUESTS.name, value, key=f"typo-{run}-{n}".encode())
        for n, value in enumerate(burst)
    ]
    await asyncio.gather(*sent)
    valid = good.request(JobType.UPDATE_QTY, items=[{"sku": good.sku(0), "quantity": 3}])
    await submit(publisher, valid)

    bad_ids = {f"typo-{run}-{n}" for n in range(BURST)}
    seen = await _job_event_times(pipeline.bootstrap, {*bad_ids, valid.job_id}, BURST + 1)

    outcomes = Counter(events[-1][0].event_type for job, events in seen.items() if job in bad_ids)
    assert outcomes == {"JobFailed": BURST}
    reasons = {events[-1][0].log[-1].message for job, events in seen.items() if job in bad_ids}
    assert reasons == {"request rejected: account 'acc-none' is not registered"}
    valid_at = {e.event_type: ts for e, ts in seen[valid.job_id]}
    assert "JobProcessing" in valid_at
    refused_at = sorted(ts for job, events in seen.items() if job in bad_ids for _, ts in events)
    # The valid request was decided while the burst's refusals were still being written:
    # it did not queue behind them.
    assert valid_at["JobReserved"] < refused_at[-1]
    waited = (valid_at["JobProcessing"] - int(valid.occurred_at.timestamp() * 1000)) / 1000
    written = (refused_at[-1] - refused_at[0]) / 1000
    print(
        f"\nintake: {BURST} refusals written in {written:.1f}s; the other shop's job was "
        f"processing {waited:.2f}s after it was published"
    )


async def test_an_account_registered_just_before_its_first_request_is_found(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    sellers = [Seller(f"fresh{n}", shop_id=f"shop-fresh{n}") for n in range(2)]
    requests = []
    for n, seller in enumerate(sellers):
        await open_shop(pipeline.sandbox_url, publisher, seller)
        if n:
            # The scenario, not a wait: registered 100 ms before (the first one: not at
            # all), the registry may not have read it yet; either way the request is found.
            await asyncio.sleep(0.1)
        request = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 2}])
        await submit(publisher, request)
        requests.append(request)
    events = await job_events(pipeline.bootstrap, {r.job_id for r in requests})
    for request in requests:
        assert [e.event_type for e in events[request.job_id]][:2] == ["JobReserved", "JobCreated"]
        assert events[request.job_id][-1].event_type == "JobDone"
