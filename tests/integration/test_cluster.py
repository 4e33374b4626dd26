"""A real 3-broker KRaft cluster (devtools.infra.KafkaCluster): topics replicated as in
production, and writes with acks=all and reads that go on while one broker is dead."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from devtools.kafka_server import KafkaCluster
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import make_producer
from shared.topics import INTERNAL_PREFIX, TopicSpec
from tests.conftest import cluster_topic_settings, partitions_of
from tests.waiting import eventually

pytestmark = pytest.mark.integration


async def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
        (resource,) = response.to_object()["resources"]
        return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}
    finally:
        await admin.close()


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = make_producer(bootstrap, client_id=f"test-{uuid.uuid4().hex[:6]}")
    await producer.start()
    try:
        for i, value in enumerate(values):
            await producer.send_and_wait(topic, value, key=f"k{i}".encode())
    finally:
        await producer.stop()


async def consume_all(bootstrap: str, topic: str, count: int, group: str) -> list[bytes]:
    """Read in a consumer group from the beginning until ``count`` values came."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(120):
            while len(values) < count:
                batches = await consumer.getmany(timeout_ms=500)
                values += [r.value for rs in batches.values() for r in rs if r.value is not None]
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def test_all_brokers_serve_and_internal_topics_are_replicated(
    cluster: KafkaCluster,
) -> None:
    assert [n.node_id for n in cluster.running_nodes()] == [1, 2, 3]
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap_servers)
    await admin.start()
    try:
        brokers = (await admin.describe_cluster())["brokers"]
    finally:
        await admin.close()
    assert sorted((b["node_id"], b["port"]) for b in brokers) == sorted(
        (n.node_id, n.port) for n in cluster.nodes
    )
    topic = f"{INTERNAL_PREFIX}test-offsets-{uuid.uuid4().hex[:6]}"
    await ensure_topics(cluster.bootstrap_servers, [TopicSpec(topic, 1)], cluster_topic_settings())
    await produce(cluster.bootstrap_servers, topic, [b"one"])
    # a group's committed offsets must survive a broker too
    assert await consume_all(cluster.bootstrap_servers, topic, 1, f"g-{topic}") == [b"one"]
    offsets = await partitions_of(cluster.bootstrap_servers, "__consumer_offsets")
    assert offsets and all(len(p["replicas"]) == 3 for p in offsets)


async def test_a_topic_is_created_with_three_replicas_and_min_isr_two(
    cluster: KafkaCluster,
) -> None:
    spec = TopicSpec(f"{INTERNAL_PREFIX}test-rf-{uuid.uuid4().hex[:6]}", 6)
    created = await ensure_topics(cluster.bootstrap_servers, [spec], cluster_topic_settings())
    assert created == [spec.name]

    partitions = await partitions_of(cluster.bootstrap_servers, spec.name)
    assert len(partitions) == 6
    assert all(sorted(p["replicas"]) == [1, 2, 3] for p in partitions)
    # leadership is spread, so any broker's loss matters to some partition
    assert {p["leader"] for p in partitions} == {1, 2, 3}
    config = await topic_config(cluster.bootstrap_servers, spec.name)
    assert config["min.insync.replicas"] == "2"
    assert config["max.message.bytes"] == str(1024 * 1024)
    assert config["retention.ms"] == str(7 * 24 * 3600 * 1000)


async def test_writes_and_reads_go_on_while_a_broker_is_dead(cluster: KafkaCluster) -> None:
    spec = TopicSpec(f"{INTERNAL_PREFIX}test-kill-{uuid.uuid4().hex[:6]}", 3)
    await ensure_topics(cluster.bootstrap_servers, [spec], cluster_topic_settings())
    before = [f"before-{i}".encode() for i in range(30)]
    await produce(cluster.bootstrap_servers, spec.name, before)

    # the broker that leads partition 0: its loss moves leadership, not only followers
    victim = (await partitions_of(cluster.bootstrap_servers, spec.name))[0]["leader"]
    cluster.kill_node(victim)
    try:
        assert not cluster.node(victim).running()
        # acks=all with min ISR 2: the two brokers left acknowledge every write
        after = [f"after-{i}".encode() for i in range(30)]
        await produce(cluster.bootstrap_servers, spec.name, after)
        read = await consume_all(cluster.bootstrap_servers, spec.name, 60, f"g-{spec.name}")
        # every message exactly once: nothing lost with the broker, no retried duplicate
        assert sorted(read) == sorted(before + after)
        partitions = await partitions_of(cluster.bootstrap_servers, spec.name)
        assert all(p["leader"] != victim for p in partitions)
    finally:
        cluster.restart_node(victim)

    async def all_in_sync() -> bool:
        partitions = await partitions_of(cluster.bootstrap_servers, spec.name)
        return all(sorted(p["isr"]) == [1, 2, 3] for p in partitions)

    # the restarted broker catches up and rejoins every ISR
    await eventually(all_in_sync, "the restarted broker back in every ISR")
