"""Consumer lag as a metric, on the real broker (shared/kafka/lag.py)."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import REGISTRY

from shared.kafka.lag import LagMeter
from tests.waiting import eventually


async def test_lag_is_what_the_broker_holds_beyond_the_position(topics: str) -> None:
    topic, group = f"lag-{uuid.uuid4().hex[:8]}", f"lag-group-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=topics)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=topics)
    await producer.start()
    try:
        for n in range(10):
            await producer.send_and_wait(topic, b"x", key=str(n).encode(), partition=n % 2)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=topics, group_id=group, auto_offset_reset="earliest"
    )
    await consumer.start()
    meter = LagMeter(consumer, group, every_s=0)
    read = 0

    def gauge() -> float | None:
        return REGISTRY.get_sample_value(
            "consumer_lag_records", {"consumer_group": group, "topic": topic}
        )

    try:

        async def read_some() -> bool:
            nonlocal read
            batches = await consumer.getmany(timeout_ms=200, max_records=1)
            read += sum(len(r) for r in batches.values())
            # Both partitions fetched once: both high watermarks are known.
            tps = consumer.assignment()
            return bool(tps) and all(consumer.highwater(tp) is not None for tp in tps)

        await eventually(read_some, "both partitions fetched")
        meter.observe()
        lag = gauge()
        assert lag is not None and 0 < lag == 10 - read

        async def all_read() -> bool:
            nonlocal read
            batches = await consumer.getmany(timeout_ms=200)
            read += sum(len(r) for r in batches.values())
            return read == 10

        await eventually(all_read, "every record read")
        meter.observe()
        assert gauge() == 0
    finally:
        await consumer.stop()
