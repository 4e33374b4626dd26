"""The whole system running, with the API on a database of its own per module."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from shared.kafka.producer import EventPublisher
from tests.conftest import own_broker, publisher_on
from tests.e2e.conftest import make_stack
from tests.stack import ADMIN_KEY, Stack

SHOP1_KEY, SHOP2_KEY = "shop1-key", "shop2-key"


@pytest.fixture(scope="module")
async def topics(servers_root: Path) -> AsyncIterator[str]:
    """This module's own broker (see tests/conftest.py: own_broker)."""
    async with own_broker(servers_root) as bootstrap:
        yield bootstrap


@pytest.fixture(scope="module")
async def publisher(topics: str) -> AsyncIterator[EventPublisher]:
    async with publisher_on(topics) as publisher:
        yield publisher


@pytest.fixture(scope="module")
def system(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    db_url = mongo_url.rsplit("/", 1)[0] + f"/api_{uuid.uuid4().hex[:8]}"
    stack = make_stack(topics, db_url, test_output_dir / "api")
    try:
        stack.start(["amazon_sandbox", "throttle", "submitter", "poller", "applier", "api"])
        yield stack
    finally:
        stack.stop()


def _client(system: Stack, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=system.api_url, timeout=30, headers={"Authorization": f"Bearer {key}"}
    )


@pytest.fixture(scope="module")
async def admin(system: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(system, ADMIN_KEY) as client:
        yield client


@pytest.fixture(scope="module")
async def shop1(system: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(system, SHOP1_KEY) as client:
        yield client


@pytest.fixture(scope="module")
async def shop2(system: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(system, SHOP2_KEY) as client:
        yield client


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    stack = getattr(item, "funcargs", {}).get("system")
    if getattr(report, "failed", False) and isinstance(stack, Stack):
        print(f"\n===== service logs for {item.name} =====\n{stack.logs()}")
    return report
