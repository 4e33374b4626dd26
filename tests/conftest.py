"""Session-wide real servers for the whole suite (see tests/servers.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from devtools.kafka_server import KafkaCluster, KafkaServer
from devtools.ports import free_port
from devtools.provision import provision
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import EventPublisher, make_producer
from shared.settings import KafkaTopicSettings
from tests import servers

# What production runs with (docker-compose.production.yml, deploy/k8s): every topic on 3
# brokers, a write acknowledged once 2 have it.
CLUSTER_TOPICS = {"KAFKA_REPLICATION_FACTOR": "3", "KAFKA_MIN_INSYNC_REPLICAS": "2"}


def cluster_topic_settings() -> KafkaTopicSettings:
    return KafkaTopicSettings(kafka_replication_factor=3, kafka_min_insync_replicas=2)


@pytest.fixture(scope="session")
def servers_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def kafka_bootstrap(servers_root: Path) -> Iterator[str]:
    with servers.kafka(servers_root) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="session")
def mongo_url(servers_root: Path) -> Iterator[str]:
    with servers.mongo(servers_root) as url:
        yield url


@pytest.fixture(scope="session")
async def topics(kafka_bootstrap: str) -> str:
    """The broker with every declared topic created; yields the bootstrap address."""
    await ensure_topics(kafka_bootstrap)
    return kafka_bootstrap


@pytest.fixture(scope="session")
async def publisher(topics: str) -> AsyncIterator[EventPublisher]:
    producer = make_producer(topics, client_id="tests")
    await producer.start()
    try:
        yield EventPublisher(producer)
    finally:
        await producer.stop()


@pytest.fixture(scope="session")
def test_output_dir() -> Path:
    path = Path(os.environ.get("TEST_OUTPUT_DIR", "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.asynccontextmanager
async def own_broker(servers_root: Path) -> AsyncIterator[str]:
    """A Kafka broker of its own, with every topic, for a module that runs whole services:
    their fresh consumer groups would otherwise replay (and act on) other modules' jobs.
    With KAFKA_BOOTSTRAP_SERVERS set, the given broker is shared instead."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        await ensure_topics(bootstrap)
        yield bootstrap
        return
    provision()
    server = KafkaServer(free_port(), servers_root / f"kafka-{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(server.start)
    try:
        await ensure_topics(server.bootstrap_servers)
        yield server.bootstrap_servers
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def publisher_on(bootstrap: str) -> AsyncIterator[EventPublisher]:
    producer = make_producer(bootstrap, client_id="tests")
    await producer.start()
    try:
        yield EventPublisher(producer)
    finally:
        await producer.stop()


@contextlib.contextmanager
def kafka_cluster(data_root: Path, brokers: int = 3) -> Iterator[KafkaCluster]:
    """A KRaft cluster of ``brokers`` nodes of its own on free loopback ports."""
    provision()
    with KafkaCluster(brokers, data_root / f"cluster-{uuid.uuid4().hex[:8]}") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster(servers_root: Path) -> Iterator[KafkaCluster]:
    """A 3-broker cluster for one module. Tests that stop or kill a node restart it before
    they end, so the next test finds all three."""
    with kafka_cluster(servers_root) as running:
        yield running


async def partitions_of(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """The topic's partitions as the cluster describes them: partition, leader, replicas, isr."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        partitions: list[dict[str, Any]] = described["partitions"]
        return sorted(partitions, key=lambda p: p["partition"])
    finally:
        await admin.close()
