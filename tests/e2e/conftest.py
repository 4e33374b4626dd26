"""One running system per e2e module: every service its own process, fresh groups."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.kafka.producer import EventPublisher
from tests.conftest import own_broker, publisher_on
from tests.stack import Stack

PIPELINE = ["amazon_sandbox", "throttle", "submitter", "poller", "applier"]


def make_stack(
    topics: str,
    mongo_url: str,
    workdir: Path,
    overrides: dict[str, object] | None = None,
    **env: str,
) -> Stack:
    run = uuid.uuid4().hex[:8]
    extra = {
        "SUBMITTER_CONSUMER_GROUP": f"e2e-submitter-{run}",
        "POLLER_CONSUMER_GROUP": f"e2e-poller-{run}",
        "APPLIER_CONSUMER_GROUP": f"e2e-applier-{run}",
        "THROTTLE_CONSUMER_GROUP": f"e2e-throttle-{run}",
        "PROJECTOR_CONSUMER_GROUP": f"e2e-projector-{run}",
        "SCHEDULER_CONSUMER_GROUP": f"e2e-scheduler-{run}",
        "SUBMITTER_COALESCE_WINDOW_S": "600",  # Amazon seconds: one real second here
        "AMAZON_JOBS_LOG_LEVEL": "INFO",
        **env,
    }
    if overrides:
        extra["THROTTLE_QUOTA_OVERRIDES"] = json.dumps(overrides)
    return Stack(
        bootstrap=topics,
        mongo_url=mongo_url,
        workdir=workdir / f"stack-{run}",
        time_scale=600.0,
        extra_env=extra,
    )


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
def pipeline(
    topics: str, mongo_url: str, test_output_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Stack]:
    overrides = getattr(request.module, "THROTTLE_OVERRIDES", None)
    env = getattr(request.module, "STACK_ENV", {})
    stack = make_stack(topics, mongo_url, test_output_dir / "e2e", overrides, **env)
    try:
        stack.start(PIPELINE)
        yield stack
    finally:
        stack.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A failed e2e test shows what each service said."""
    report = yield
    stack = getattr(item, "funcargs", {}).get("pipeline")
    if getattr(report, "failed", False) and isinstance(stack, Stack):
        print(f"\n===== service logs for {item.name} =====\n{stack.logs()}")
    return report
