"""Reading topics in tests: wait until the messages a test expects have arrived."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.codec import decode
from shared.events import DeadLettered, Event
from shared.topics import BY_NAME, DEAD_LETTERS


async def collect(
    bootstrap: str,
    topic: str,
    until: Callable[[list[Event]], bool],
    *,
    where: Callable[[Event], bool] = lambda e: True,
    timeout_s: float = 30.0,
) -> list[Event]:
    """Read ``topic`` from the beginning, keep events matching ``where``, stop when ``until``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[Event] = []
    try:
        async with asyncio.timeout(timeout_s):
            while not until(found):
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    for rec in records:
                        if rec.value is None:
                            continue
                        event = decode(rec.value)
                        if where(event):
                            found.append(event)
    except TimeoutError as exc:
        raise AssertionError(f"{topic}: waited {timeout_s}s, have {len(found)}: {found!r}") from exc
    finally:
        await consumer.stop()
    return found


async def read_to_end(
    bootstrap: str, topic: str, *, where: Callable[[Event], bool] = lambda e: True
) -> list[Event]:
    """Everything on ``topic`` now (up to its end offsets), keeping events matching ``where``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(BY_NAME[topic].partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp, end in ends.items() if end > 0}
        found: list[Event] = []
        while pending:
            batches = await consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for rec in records:
                    if rec.value is not None and where(event := decode(rec.value)):
                        found.append(event)
                    if rec.offset + 1 >= ends[tp]:
                        pending.discard(tp)
        return found
    finally:
        await consumer.stop()


async def dead_letters_of(
    bootstrap: str, key: str, count: int, *, timeout_s: float = 60.0
) -> list[tuple[int, DeadLettered]]:
    """The first ``count`` letters keyed ``key`` on amazon.dead-letters, each with the size
    of its record's value as the broker holds it."""
    consumer = AIOKafkaConsumer(
        DEAD_LETTERS.name,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[tuple[int, DeadLettered]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for rec in records:
                        if rec.key == key.encode() and rec.value is not None:
                            letter = decode(rec.value, DEAD_LETTERS.event_types)
                            assert isinstance(letter, DeadLettered)
                            found.append((len(rec.value), letter))
    except TimeoutError as exc:
        raise AssertionError(f"waited {timeout_s}s for {count} letters keyed {key!r}") from exc
    finally:
        await consumer.stop()
    return found
