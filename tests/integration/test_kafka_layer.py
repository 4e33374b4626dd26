"""The Kafka layer on the real broker: topics, round trips, dead letters."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from devtools.topics_read import collect
from shared.events import DeadLettered, Event, StockChanged
from shared.jobs import JobType
from shared.kafka.consumer import ConsumerLoop, Message, RejectMessage
from shared.kafka.producer import EventPublisher
from shared.topics import (
    ACCOUNTS,
    ALL_TOPICS,
    CATALOG_EVENTS,
    DEAD_LETTERS,
    JOB_EVENTS,
    JOB_REQUESTS,
    LISTINGS,
)
from tests.factories import job_requested, stock_changed
from tests.integration.consumers import group_consumer
from tests.waiting import eventually


async def test_topics_exist_with_declared_layout(topics: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=topics)
    await admin.start()
    try:
        described = await admin.describe_topics([t.name for t in ALL_TOPICS])
        partitions = {d["topic"]: len(d["partitions"]) for d in described}
        assert partitions == {t.name: t.partitions for t in ALL_TOPICS}
        configs = await admin.describe_configs(
            [
                ConfigResource(ConfigResourceType.TOPIC, t.name)
                for t in (LISTINGS, JOB_EVENTS, ACCOUNTS)
            ]
        )
        policy: dict[str, str] = {}
        for response in configs:
            for resource in response.resources:
                for entry in resource[4]:
                    if entry[0] == "cleanup.policy":
                        policy[resource[3]] = entry[1]
        assert policy == {
            LISTINGS.name: "compact",
            JOB_EVENTS.name: "delete",
            ACCOUNTS.name: "compact",
        }
    finally:
        await admin.close()


async def _run_loop(
    bootstrap: str,
    publisher: EventPublisher,
    topic_specs: list[Any],
    handler: Any,
    group: str,
) -> tuple[ConsumerLoop, asyncio.Task[None]]:
    consumer = group_consumer(bootstrap, group, topic_specs)
    await consumer.start()
    loop = ConsumerLoop(
        consumer=consumer,
        publisher=publisher,
        group_id=group,
        handler=handler,
        retry_delay_s=0.01,
    )
    return loop, asyncio.create_task(loop.run())


async def _stop(loop: ConsumerLoop, task: asyncio.Task[None]) -> None:
    loop.stop()
    await asyncio.wait_for(task, 10)
    await loop.consumer.stop()


async def test_malformed_messages_are_dead_lettered_and_the_consumer_keeps_going(
    topics: str, publisher: EventPublisher
) -> None:
    marker = uuid.uuid4().hex
    shop = f"shop-{marker}"
    bad_values: list[tuple[bytes, str]] = [
        (b"{this is not json", "malformed JSON"),
        (json.dumps({"event_type": "Bogus", "schema_version": 1}).encode(), "unknown event_type"),
        (
            stock_changed("A", 1, shop_id=shop).model_dump_json().encode(),
            "does not belong on this topic",
        ),
        (
            json.dumps(
                {
                    "event_id": str(uuid.uuid4()),
                    "event_type": "JobRequested",
                    "schema_version": 1,
                    "occurred_at": "2026-11-27T10:00:00Z",
                    "job_id": f"j-{marker}",
                    "shop_id": shop,
                    "account_id": "a",
                    "job_type": "teleport",
                }
            ).encode(),
            "job_type",
        ),
    ]
    for value, _ in bad_values:
        await publisher.publish_raw(JOB_REQUESTS.name, marker.encode(), value)
    good = job_requested(
        JobType.UPDATE_QTY, [{"sku": "A", "quantity": 1}], job_id=f"ok-{marker}", shop_id=shop
    )
    await publisher.publish(JOB_REQUESTS, marker, good)

    seen: list[Event] = []

    async def handle(msg: Message) -> None:
        assert msg.event is not None
        seen.append(msg.event)

    loop, task = await _run_loop(topics, publisher, [JOB_REQUESTS], handle, f"g-{marker}")
    try:
        letters = await collect(
            topics,
            DEAD_LETTERS.name,
            lambda f: len(f) >= len(bad_values),
            where=lambda e: isinstance(e, DeadLettered) and e.key == marker,
        )
        await eventually(
            lambda: any(getattr(e, "job_id", None) == good.job_id for e in seen),
            "the good request handled",
        )
    finally:
        await _stop(loop, task)

    assert [e for e in seen if getattr(e, "shop_id", None) == shop] == [good]
    reasons = [d.error for d in letters if isinstance(d, DeadLettered)]
    for (value, why), letter, reason in zip(bad_values, letters, reasons, strict=True):
        assert why in reason
        assert isinstance(letter, DeadLettered)
        assert letter.original_topic == JOB_REQUESTS.name
        assert letter.raw_value == value.decode()  # replayable as it came
        assert letter.consumer_group == f"g-{marker}"


async def test_handler_rejection_and_retry(topics: str, publisher: EventPublisher) -> None:
    marker = uuid.uuid4().hex
    events = [stock_changed(f"S{i}", i, shop_id=marker) for i in range(3)]
    for e in events:
        await publisher.publish(CATALOG_EVENTS, marker, e)
    attempts: dict[str, int] = {}
    done: list[str] = []

    async def handle(msg: Message) -> None:
        assert isinstance(msg.event, StockChanged)
        if msg.event.shop_id != marker:
            return
        sku = msg.event.sku
        attempts[sku] = attempts.get(sku, 0) + 1
        if sku == "S0":
            raise RejectMessage("SKU S0 is not synced")
        if sku == "S1" and attempts[sku] < 3:
            raise ConnectionError("database blinked")
        done.append(sku)

    loop, task = await _run_loop(topics, publisher, [CATALOG_EVENTS], handle, f"g-{marker}")
    try:
        letters = await collect(
            topics,
            DEAD_LETTERS.name,
            lambda f: len(f) >= 1,
            where=lambda e: isinstance(e, DeadLettered) and e.key == marker,
        )
        await eventually(lambda: len(done) >= 2, "S1 and S2 done")
    finally:
        await _stop(loop, task)
    assert done == ["S1", "S2"]  # order kept; S1 made it on its third try
    assert attempts["S1"] == 3
    assert isinstance(letters[0], DeadLettered) and letters[0].error == "SKU S0 is not synced"


async def test_committed_offsets_resume_where_the_group_stopped(
    topics: str, publisher: EventPublisher
) -> None:
    marker = uuid.uuid4().hex
    group = f"g-{marker}"
    first = [stock_changed(f"A{i}", i, shop_id=marker) for i in range(5)]
    for e in first:
        await publisher.publish(CATALOG_EVENTS, marker, e)
    seen: list[str] = []

    async def handle(msg: Message) -> None:
        if isinstance(msg.event, StockChanged) and msg.event.shop_id == marker:
            seen.append(msg.event.sku)

    loop, task = await _run_loop(topics, publisher, [CATALOG_EVENTS], handle, group)
    await eventually(lambda: len(seen) >= 5, "the first five handled")
    await _stop(loop, task)
    second = [stock_changed(f"B{i}", i, shop_id=marker) for i in range(3)]
    for e in second:
        await publisher.publish(CATALOG_EVENTS, marker, e)
    loop, task = await _run_loop(topics, publisher, [CATALOG_EVENTS], handle, group)
    # Same key, same partition: a replay of the first five would be handled before B2.
    await eventually(lambda: second[-1].sku in seen, "the last of the second batch handled")
    await _stop(loop, task)
    assert seen == [e.sku for e in first + second]


async def test_raw_consumer_sees_contract_json(topics: str, publisher: EventPublisher) -> None:
    """What PrestaShop reads: flat JSON with the envelope beside the fields."""
    marker = uuid.uuid4().hex
    await publisher.publish(CATALOG_EVENTS, marker, stock_changed("Z", 2, shop_id=marker))
    consumer = AIOKafkaConsumer(
        CATALOG_EVENTS.name,
        bootstrap_servers=topics,
        auto_offset_reset="earliest",
        group_id=f"raw-{marker}",
    )
    await consumer.start()
    try:
        async with asyncio.timeout(20):
            async for rec in consumer:
                if rec.key == marker.encode():
                    payload = json.loads(rec.value)
                    break
    finally:
        await consumer.stop()
    assert {
        k: payload[k] for k in ("event_type", "schema_version", "shop_id", "sku", "quantity")
    } == {
        "event_type": "StockChanged",
        "schema_version": 1,
        "shop_id": marker,
        "sku": "Z",
        "quantity": 2,
    }
    uuid.UUID(payload["event_id"])
