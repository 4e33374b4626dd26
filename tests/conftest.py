"""Session-wide real servers for the whole suite (see tests/servers.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.kafka.admin import ensure_topics
from shared.kafka.producer import EventPublisher, make_producer
from tests import servers


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
