"""No silent death (docs/design.md §17): the projector task dies in a real API process (a
fail point makes its first batch once caught up raise, as a bug would), and the process
says so on /healthz and /readyz and then exits 1, so its supervisor starts it again. The
projector deployed on its own serves health as every worker does, and exits 1 the same
way."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.ports import free_port
from shared.kafka.producer import EventPublisher
from shared.topics import ACCOUNTS
from tests.factories import account_registered
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

FAIL_AT = {"AMAZON_JOBS_FAIL_AT": "projector:live-batch", "API_FAILURE_DRAIN_S": "2"}


def stack_of(topics: str, mongo_url: str, workdir: Path, **env: str) -> Stack:
    run = uuid.uuid4().hex[:8]
    return Stack(
        bootstrap=topics,
        mongo_url=mongo_url.rsplit("/", 1)[0] + f"/death_{run}",
        workdir=workdir / f"death-{run}",
        extra_env={**FAIL_AT, "PROJECTOR_CONSUMER_GROUP": f"death-{run}", **env},
    )


@pytest.fixture
def api(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    stack = stack_of(topics, mongo_url, test_output_dir / "api")
    try:
        stack.start(["api"])
        yield stack
    finally:
        stack.stop()


@pytest.fixture
def projector(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[tuple[Stack, int]]:
    port = free_port()
    stack = stack_of(topics, mongo_url, test_output_dir / "api", HEALTH_PORT=str(port))
    try:
        stack.start(["projector"])
        yield stack, port
    finally:
        stack.stop()


async def something_to_project(publisher: EventPublisher) -> None:
    account = f"acc-death-{uuid.uuid4().hex[:6]}"
    await publisher.publish(
        ACCOUNTS,
        account,
        account_registered(account, shop_id="shop-death"),
    )


async def answer(http: httpx.AsyncClient, url: str) -> tuple[int, dict[str, Any]] | None:
    """Status and body, or None once nothing listens any more."""
    try:
        reply = await http.get(url, timeout=5)
    except httpx.TransportError:
        return None
    return reply.status_code, reply.json()


async def until_ready(http: httpx.AsyncClient, url: str, stack: Stack, name: str) -> None:
    async def ready() -> bool:
        seen = await answer(http, url)
        assert stack.services[name].alive(), stack.services[name].log_tail()
        return seen is not None and seen[0] == 200

    await eventually(ready, f"{name} answering 200 on {url}")


async def until_exited(stack: Stack, name: str) -> int:
    process = stack.services[name].proc
    assert process is not None
    return await asyncio.to_thread(process.wait)


async def test_the_api_says_its_projector_died_then_exits_1(
    api: Stack, publisher: EventPublisher
) -> None:
    ready = f"{api.api_url}/readyz"
    said: list[tuple[int, dict[str, Any]]] = []
    healthz = None
    async with httpx.AsyncClient() as http:
        await until_ready(http, ready, api, "api")

        # The first batch once the projector has caught up raises; then /readyz is 503
        # for API_FAILURE_DRAIN_S before the port closes. An account now and then makes
        # that batch (one right after readiness can go unread until the group settles).
        async def refused() -> bool:
            nonlocal healthz
            if len(said) % 20 == 0:
                await something_to_project(publisher)
            seen = await answer(http, ready)
            if seen is None:
                return True  # closed already: the 503 window was missed (fails below)
            said.append(seen)
            if seen[0] == 503:
                healthz = await answer(http, f"{api.api_url}/healthz")
                return True
            return False

        await eventually(refused, "/readyz to refuse once the projector died", every_s=0.05)
    assert said and said[-1][0] == 503, said[-3:]
    problem = said[-1][1]["checks"]["process"]
    assert "projector died: InjectedFault: fail point projector:live-batch" in problem
    assert healthz is not None and healthz[0] == 503
    assert await until_exited(api, "api") == 1
    log = api.services["api"].log_tail(200)
    assert '"event": "task_died"' in log and '"task": "projector"' in log


async def test_the_projector_alone_serves_health_and_exits_1_when_it_dies(
    projector: tuple[Stack, int], publisher: EventPublisher
) -> None:
    stack, port = projector
    async with httpx.AsyncClient() as http:
        # Ready once caught up with what the topics held: the next batch raises.
        await until_ready(http, f"http://127.0.0.1:{port}/readyz", stack, "projector")

        # Its loop is watched from the moment it runs (a moment after the port answers).
        async def watched() -> bool:
            health = await answer(http, f"http://127.0.0.1:{port}/healthz")
            assert health is not None and health[0] == 200, health
            return "projector" in health[1]["loops"]

        await eventually(watched, "the projector loop on /healthz")
        metrics = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert "projector_events_applied_total" in metrics.text
    await something_to_project(publisher)
    assert await until_exited(stack, "projector") == 1
    log = stack.services["projector"].log_tail(200)
    assert "projector died: InjectedFault: fail point projector:live-batch" in log
