"""No input stops a ConsumerLoop (docs/design.md §12), on the real broker.

A message that can never be processed is dead-lettered at once, one whose failure may pass
is retried a bounded number of times first; a letter that cannot be written is skipped and
committed; a large message's letter refers to it and fits; a rebalance's commit failure is
counted, not raised."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from prometheus_client import REGISTRY
from pydantic import BaseModel

from shared.events import StockChanged
from shared.kafka.admin import ensure_topics
from shared.kafka.consumer import ConsumerLoop, Message, RejectMessage, may_pass
from shared.kafka.dead_letters import fetch_original
from shared.kafka.producer import EventPublisher, MessageTooLarge
from shared.limits import MAX_MESSAGE_BYTES
from shared.topics import CATALOG_EVENTS, TopicSpec
from tests.integration.consumers import group_consumer
from tests.kafka_helpers import dead_letters_of
from tests.waiting import eventually

Handler = Callable[[Message], Awaitable[None]]


async def start_loop(
    bootstrap: str,
    publisher: EventPublisher,
    handler: Handler,
    group: str,
    topics: list[TopicSpec] | None = None,
    **options: Any,
) -> tuple[ConsumerLoop, asyncio.Task[None]]:
    consumer = group_consumer(bootstrap, group, topics or [CATALOG_EVENTS])
    await consumer.start()
    loop = ConsumerLoop(
        consumer=consumer,
        publisher=publisher,
        group_id=group,
        handler=handler,
        retry_delay_s=0.01,
        **options,
    )
    return loop, asyncio.create_task(loop.run())


async def stop_loop(loop: ConsumerLoop, task: asyncio.Task[None]) -> None:
    loop.stop()
    await asyncio.wait_for(task, 30)
    await loop.consumer.stop()


async def own_topic(bootstrap: str, marker: str) -> TopicSpec:
    """A topic of the test's own: no other test's messages in the group's way."""
    topic = TopicSpec(f"test.loop-{marker}", 1)
    await ensure_topics(bootstrap, [topic])
    return topic


def metric(name: str, group: str, topic: str) -> float:
    return REGISTRY.get_sample_value(name, {"consumer_group": group, "topic": topic}) or 0.0


def change(shop: str, sku: str) -> StockChanged:
    return StockChanged(shop_id=shop, sku=sku, quantity=1)


def test_what_may_pass_is_kafka_or_the_network_only() -> None:
    from aiokafka.errors import (
        KafkaConnectionError,
        KafkaTimeoutError,
        MessageSizeTooLargeError,
        RequestTimedOutError,
    )

    class Model(BaseModel):
        n: int

    try:
        Model(n="x")
    except ValueError as exc:
        invalid = exc
    for passing in (
        KafkaConnectionError(),
        RequestTimedOutError(),
        KafkaTimeoutError(),
        ConnectionResetError(),
        TimeoutError(),
        OSError("disk"),
    ):
        assert may_pass(passing), passing
    for lasting in (
        RejectMessage("no"),
        invalid,
        MessageSizeTooLargeError(),
        ValueError(),
        TypeError(),
        KeyError("k"),
        OverflowError(),
        AttributeError(),
        RecursionError(),
        ZeroDivisionError(),
    ):
        assert not may_pass(lasting), lasting


async def test_failures_that_cannot_pass_are_dead_lettered_on_the_first_try(
    topics: str, publisher: EventPublisher
) -> None:
    marker = uuid.uuid4().hex
    topic = await own_topic(topics, marker)
    too_large = MessageTooLarge("amazon.job-events", change(marker, "x"), 600_000)
    failures: dict[str, Exception] = {
        "value": ValueError("quantity went negative"),
        "type": TypeError("unsupported operand"),
        "key": KeyError("acc-de"),
        "overflow": OverflowError("int too large"),
        "attribute": AttributeError("'NoneType' object has no attribute 'sku'"),
        "too-large": too_large,
        "reject": RejectMessage("SKU is not synced"),
        "flaky": ConnectionResetError("peer reset"),
    }
    for sku in [*failures, "good"]:
        await publisher.publish(topic, marker, change(marker, sku))
    attempts: dict[str, int] = {}
    done: list[str] = []

    async def handle(msg: Message) -> None:
        assert isinstance(msg.event, StockChanged)
        if msg.event.shop_id != marker:
            return
        sku = msg.event.sku
        attempts[sku] = attempts.get(sku, 0) + 1
        if sku in failures:
            raise failures[sku]
        done.append(sku)

    group = f"g-{marker}"
    loop, task = await start_loop(topics, publisher, handle, group, [topic], max_attempts=3)
    try:
        letters = await dead_letters_of(topics, marker, len(failures))
        await eventually(lambda: done == ["good"], "the good message handled")
    finally:
        await stop_loop(loop, task)
    assert task.exception() is None
    assert attempts == {**dict.fromkeys(failures, 1), "flaky": 3, "good": 1}
    reasons = [d.error for _, d in letters]
    assert reasons[0] == "ValueError: quantity went negative"
    assert reasons[2] == "KeyError: 'acc-de'"
    assert reasons[5] == f"MessageTooLarge: {too_large}"
    assert reasons[6] == "SKU is not synced"
    assert reasons[7] == "handler failed 3 times: ConnectionResetError: peer reset"
    assert metric("dead_letters_total", group, topic.name) == len(failures)


async def test_a_letter_that_cannot_be_written_is_skipped_and_its_offset_committed(
    topics: str, publisher: EventPublisher
) -> None:
    marker = uuid.uuid4().hex
    group = f"g-{marker}"
    topic = await own_topic(topics, marker)
    for sku in ("refused", "after"):
        await publisher.publish(topic, marker, change(marker, sku))
    # A real producer that refuses anything larger than 64 bytes: every letter fails to
    # be written, as it would with Kafka refusing it.
    refusing = AIOKafkaProducer(bootstrap_servers=topics, max_request_size=64)
    await refusing.start()
    seen: list[str] = []

    async def handle(msg: Message) -> None:
        assert isinstance(msg.event, StockChanged)
        seen.append(msg.event.sku)
        if msg.event.sku == "refused":
            raise RejectMessage("never")

    try:
        loop, task = await start_loop(topics, EventPublisher(refusing), handle, group, [topic])
        await eventually(lambda: seen == ["refused", "after"], "both messages seen")
        await eventually(
            lambda: metric("dead_letters_failed_total", group, topic.name) == 1,
            "the failed dead letter counted",
        )
        assert (loop.processed, loop.dead_lettered, loop.skipped) == (1, 0, 1)
        await stop_loop(loop, task)
        assert task.exception() is None
    finally:
        await refusing.stop()

    # Restarted, the group starts after both: nothing is repeated, nothing crashes again.
    await publisher.publish(topic, marker, change(marker, "later"))
    loop, task = await start_loop(topics, publisher, handle, group, [topic])
    try:
        await eventually(lambda: "later" in seen, "the later message seen")
    finally:
        await stop_loop(loop, task)
    assert seen == ["refused", "after", "later"]
    assert metric("dead_letters_total", group, topic.name) == 0


async def test_a_large_refused_message_is_dead_lettered_by_reference_and_read_back(
    topics: str, publisher: EventPublisher
) -> None:
    marker = uuid.uuid4().hex
    big = change(marker, "big").model_dump_json().encode()
    big = big[:-1] + b', "padding": "' + b"x" * (1_000_000 - len(big) - 16) + b'"}'
    assert 999_000 < len(big) <= 1_000_000
    await publisher.publish_raw(CATALOG_EVENTS.name, marker.encode(), big)
    await publisher.publish(CATALOG_EVENTS, marker, change(marker, "next"))
    handled: list[str] = []

    async def handle(msg: Message) -> None:
        assert isinstance(msg.event, StockChanged)
        if msg.event.shop_id == marker:
            handled.append(msg.event.sku)

    loop, task = await start_loop(topics, publisher, handle, f"g-{marker}")
    try:
        [(size, letter)] = await dead_letters_of(topics, marker, 1)
        await eventually(lambda: handled == ["next"], "the next message handled")
    finally:
        await stop_loop(loop, task)
    assert size <= MAX_MESSAGE_BYTES
    assert letter.raw_stored == "reference" and letter.raw_value is None
    assert "padding" in letter.error  # the codec refused the unknown field
    assert letter.raw_size == len(big)
    assert letter.raw_sha256 == hashlib.sha256(big).hexdigest()
    assert letter.raw_head is not None and big.startswith(letter.raw_head.encode())
    original = await fetch_original(topics, letter)
    assert original.value == big and original.key == marker.encode()
    assert hashlib.sha256(original.value).hexdigest() == letter.raw_sha256


async def test_a_commit_refused_by_a_rebalance_is_counted_and_the_loop_goes_on(
    topics: str, publisher: EventPublisher
) -> None:
    """Another member joins while the loop's handler is busy and the loop cannot give its
    partition up in time (its revocation waits for the handler, as OwnedJobsConsumer's
    does), so the group goes on without it: the loop's commit is refused. It says so,
    counts it, rejoins and keeps consuming."""
    marker = uuid.uuid4().hex
    group = f"g-{marker}"
    topic = await own_topic(topics, marker)
    await publisher.publish(topic, "k", change(marker, "slow"))
    other = AIOKafkaConsumer(
        topic.name, bootstrap_servers=topics, group_id=group, enable_auto_commit=False
    )
    busy = asyncio.Lock()
    handled: list[str] = []

    class WaitForTheHandler(ConsumerRebalanceListener):  # type: ignore[misc]
        async def on_partitions_revoked(self, revoked: object) -> None:
            async with busy:
                pass

        async def on_partitions_assigned(self, assigned: object) -> None:
            return None

    async def handle(msg: Message) -> None:
        assert isinstance(msg.event, StockChanged)
        async with busy:
            handled.append(msg.event.sku)
            if msg.event.sku == "slow" and not other_started.is_set():
                other_started.set()
                await other.start()
                # Busy until the group has handed the partition to the other member.
                while not other.assignment():
                    await other.getmany(timeout_ms=200)

    other_started = asyncio.Event()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=topics,
        group_id=group,
        client_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        rebalance_timeout_ms=3_000,
    )
    await consumer.start()
    consumer.subscribe([topic.name], listener=WaitForTheHandler())
    loop = ConsumerLoop(consumer=consumer, publisher=publisher, group_id=group, handler=handle)
    task = asyncio.create_task(loop.run())
    try:
        await eventually(lambda: commit_failures(group) >= 1, "a failed commit counted")
        assert not task.done()
        await other.stop()  # the partition comes back to the loop
        await publisher.publish(topic, "k", change(marker, "after"))
        await eventually(lambda: "after" in handled, "the message after handled")
    finally:
        await other.stop()
        await stop_loop(loop, task)
    assert task.exception() is None
    # Never committed, "slow" is read again after the rejoin: at-least-once, as designed.
    assert handled[0] == "slow" and handled[-1] == "after"


def commit_failures(group: str) -> float:
    return (
        REGISTRY.get_sample_value("consumer_commit_failures_total", {"consumer_group": group})
        or 0.0
    )
