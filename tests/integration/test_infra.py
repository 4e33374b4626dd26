"""The local infrastructure of devtools.infra: a real Kafka broker and a real FerretDB.

Each test provisions (cached after the first run: see ``python -m devtools.infra
provision``), starts the servers on free ports in temporary directories, talks to them
with the project's own clients (aiokafka, pymongo's async client) and stops them.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from devtools import REPO_ROOT
from devtools.ferretdb_server import FerretDBServer
from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.provision import provision

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def provisioned() -> None:
    provision(REPO_ROOT)


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[KafkaServer]:
    with KafkaServer(free_port(), tmp_path / "kafka") as server:
        yield server


@pytest.fixture
def ferretdb(tmp_path: Path) -> Iterator[FerretDBServer]:
    with FerretDBServer(free_port(), tmp_path / "ferretdb") as server:
        yield server


def port_closed(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


async def kafka_roundtrip(bootstrap: str, topic: str, *, create: bool) -> list[bytes]:
    """Optionally create ``topic``, produce one message, consume everything in a group."""
    if create:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello " + topic.encode())
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"g-{topic}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=30_000)
        values = [m.value for records in batches.values() for m in records if m.value]
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def test_kafka_and_ferretdb_serve_then_stop(
    kafka: KafkaServer, ferretdb: FerretDBServer
) -> None:
    assert kafka.running() and ferretdb.running()
    assert kafka.log_path.is_file() and ferretdb.log_path.is_file()

    topic = f"infra-{uuid.uuid4().hex[:8]}"
    assert await kafka_roundtrip(kafka.bootstrap_servers, topic, create=True) == [
        f"hello {topic}".encode()
    ]

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        ferretdb.uri, serverSelectionTimeoutMS=10_000
    )
    try:
        coll = client["infra_test"]["docs"]
        await coll.insert_one({"_id": "job-1", "state": "queued", "attempts": 0})
        found = await coll.find_one({"_id": "job-1"})
    finally:
        await client.close()
    assert found == {"_id": "job-1", "state": "queued", "attempts": 0}

    ports = [*kafka.ports, *ferretdb.ports]
    kafka.stop()
    ferretdb.stop()
    assert not kafka.running() and not ferretdb.running()
    assert all(port_closed(p) for p in ports), ports


async def test_restart_keeps_data(tmp_path: Path) -> None:
    """Storage is formatted once: topics and documents survive a restart (on new ports)."""
    topic = "infra-restart"
    with KafkaServer(free_port(), tmp_path / "kafka") as kafka:
        await kafka_roundtrip(kafka.bootstrap_servers, topic, create=True)
    with FerretDBServer(free_port(), tmp_path / "ferretdb") as ferretdb:
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(ferretdb.uri)
        await client["infra_test"]["docs"].insert_one({"_id": 1})
        await client.close()

    with KafkaServer(free_port(), tmp_path / "kafka") as kafka:
        # the group already consumed the first message: it gets only the new one
        assert await kafka_roundtrip(kafka.bootstrap_servers, topic, create=False) == [
            f"hello {topic}".encode()
        ]
    with FerretDBServer(free_port(), tmp_path / "ferretdb") as ferretdb:
        client = AsyncMongoClient(ferretdb.uri)
        try:
            assert await client["infra_test"]["docs"].find_one({"_id": 1}) == {"_id": 1}
        finally:
            await client.close()
