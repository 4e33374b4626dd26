"""A Kafka broker of a benchmark run's own, with every topic (devtools/topics_read.py reads
it back).

A fresh broker per run keeps runs apart: services started on it restore nothing of an
earlier run and read only this run's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.provision import provision_missing
from shared.kafka.admin import ensure_topics
from shared.kafka.clients import new_admin, new_consumer, new_producer
from shared.kafka.producer import (
    COMPRESSION,
    MAX_REQUEST_BYTES,
    EventPublisher,
    make_producer,
)
from shared.topics import ALL_TOPICS, TopicSpec


@dataclass
class Bus:
    """A broker of one run's own, with every topic, a publisher on it (the services'
    producer) and a producer for bulk loads."""

    bootstrap: str
    publisher: EventPublisher
    bulk: AIOKafkaProducer
    workdir: Path

    async def publish_raw(self, topic: TopicSpec, records: Iterable[tuple[str, bytes]]) -> int:
        """Send encoded values keyed as given, all in flight at once; the count sent."""
        producer = self.bulk
        sent = [
            await producer.send(topic.name, value, key=key.encode("utf-8"))
            for key, value in records
        ]
        await asyncio.gather(*sent)
        return len(sent)


@contextlib.asynccontextmanager
async def own_bus(workdir: Path, heap_mb: int = 768) -> AsyncIterator[Bus]:
    provision_missing()
    server = KafkaServer(free_port(), workdir / "kafka", heap_mb=heap_mb)
    await asyncio.to_thread(server.start)
    try:
        await ensure_topics(server.bootstrap_servers)
        await _settled(server.bootstrap_servers)
        producer = make_producer(server.bootstrap_servers, "bench")
        # Loading happens before the clock starts; large batches make it quick (aiokafka
        # keeps one batch per partition open, 16 KiB by default).
        bulk = new_producer(
            bootstrap_servers=server.bootstrap_servers,
            client_id="bench-bulk",
            linger_ms=20,
            max_batch_size=1024 * 1024,
            compression_type=COMPRESSION,
            max_request_size=MAX_REQUEST_BYTES,
        )
        await producer.start()
        await bulk.start()
        try:
            yield Bus(server.bootstrap_servers, EventPublisher(producer), bulk, workdir)
        finally:
            await bulk.stop()
            await producer.stop()
    finally:
        await asyncio.to_thread(server.stop)


async def _settled(bootstrap: str, timeout_s: float = 60.0) -> None:
    """Until every partition has a leader and the group coordinator answers: a new
    broker creates both lazily, and the run should not measure that."""
    admin = new_admin(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                described = await admin.describe_topics([t.name for t in ALL_TOPICS])
                leaders = [p["leader"] for t in described for p in t["partitions"]]
                if len(described) == len(ALL_TOPICS) and all(lead >= 0 for lead in leaders):
                    break
                await asyncio.sleep(0.2)
            while True:
                try:
                    await admin.list_consumer_group_offsets("bench-warm-up")
                    return
                except KafkaError:
                    await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topic: TopicSpec) -> dict[int, int]:
    consumer = new_consumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
        return {tp.partition: end for tp, end in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()
