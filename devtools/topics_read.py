"""Reading topics from outside the services: wait for the events a test or a benchmark
expects, take everything a topic holds now (raw or decoded), find the largest message on
the bus."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import TopicPartition

from shared.codec import decode
from shared.events import Event
from shared.kafka.clients import new_consumer
from shared.topics import ALL_TOPICS, BY_NAME


async def collect(
    bootstrap: str,
    topic: str,
    until: Callable[[list[Event]], bool],
    *,
    where: Callable[[Event], bool] = lambda e: True,
    timeout_s: float = 30.0,
) -> list[Event]:
    """Read ``topic`` from the beginning, keep events matching ``where``, stop when
    ``until``; TimeoutError (naming what was found) after ``timeout_s``."""
    consumer = new_consumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4()}",
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
        raise TimeoutError(f"{topic}: waited {timeout_s}s, have {len(found)}: {found!r}") from exc
    finally:
        await consumer.stop()
    return found


@dataclass(frozen=True)
class RawRecord:
    """One record as the broker holds it, undecoded (poison included)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


async def records_to_end(bootstrap: str, *topics: str) -> list[RawRecord]:
    """Every record of ``topics`` written before this call, undecoded, in offset order
    within each partition. Done when each partition's position reaches the end offset taken
    at the start: offsets that hold no record (transaction markers) count as read too."""
    consumer = new_consumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        # The broker's metadata, for topics not declared in shared/topics.py (consumer.topics()
        # fetches the same but does not keep it where partitions_for_topic looks).
        cluster = await consumer._client.fetch_all_metadata()
        tps = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(cluster.partitions_for_topic(topic) or range(BY_NAME[topic].partitions))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: list[RawRecord] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for tp, records in batches.items():
                found += [
                    RawRecord(tp.topic, tp.partition, r.offset, r.timestamp, r.key, r.value)
                    for r in records
                    if r.offset < ends[tp]
                ]
        return found
    finally:
        await consumer.stop()


async def read_raw(bootstrap: str, topic: str) -> list[RawRecord]:
    """Every record of ``topic`` now, undecoded (poison included)."""
    return await records_to_end(bootstrap, topic)


async def read_to_end(
    bootstrap: str, topic: str, *, where: Callable[[Event], bool] = lambda e: True
) -> list[Event]:
    """Every event on ``topic`` now (up to its end offsets), keeping events matching ``where``."""
    events = (
        decode(r.value) for r in await records_to_end(bootstrap, topic) if r.value is not None
    )
    return [event for event in events if where(event)]


async def largest_message(bootstrap: str) -> tuple[int, str]:
    """The largest value on any topic now, in bytes, and where (``topic[partition]@offset``)."""
    consumer = new_consumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=2 * 1024 * 1024,
    )
    await consumer.start()
    biggest = (0, "")
    try:
        tps = [
            TopicPartition(t.name, p)
            for t in ALL_TOPICS
            for p in (consumer.partitions_for_topic(t.name) or range(t.partitions))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        # A partition whose last offsets hold no record (compacted away, control records)
        # counts as read once nothing came for a few polls.
        pending = {tp for tp in tps if ends[tp] > 0}
        idle = 0
        while pending and idle < 6:
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            idle = 0 if batches else idle + 1
            for tp, records in batches.items():
                for rec in records:
                    size = len(rec.value or b"")
                    if size > biggest[0]:
                        biggest = (size, f"{tp.topic}[{tp.partition}]@{rec.offset}")
                    if rec.offset + 1 >= ends[tp]:
                        pending.discard(tp)
    finally:
        await consumer.stop()
    return biggest
