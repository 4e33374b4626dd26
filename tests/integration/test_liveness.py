"""Liveness sees progress, not a process: a consumer loop stuck in its handler turns
``/healthz`` red, naming the loop; a supervised task that dies turns it red for good;
``/readyz`` waits for the readiness checks. Real broker, real health endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.codec import encode
from shared.events import Event, JobRequested
from shared.health import HealthServer, Liveness, Readiness
from shared.jobs import JobType
from shared.kafka.consumer import ConsumerLoop, Message
from shared.kafka.producer import EventPublisher
from shared.kafka.tail import TopicTail
from shared.supervisor import Supervisor
from shared.throttle.client import ThrottleClient
from shared.topics import TopicSpec
from tests.factories import job_requested
from tests.waiting import eventually

STALL_S = 1.0


class Probe:
    """The health endpoint as an orchestrator sees it; remembers the last answer."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.status = 0
        self.body: dict[str, Any] = {}

    async def get(self, path: str) -> int:
        response = await self.http.get(path)
        self.status, self.body = response.status_code, response.json()
        return self.status

    async def until(self, path: str, status: int, what: str) -> dict[str, Any]:
        async def answers() -> bool:
            return await self.get(path) == status

        await eventually(answers, f"{what}: {path} answering {status}", every_s=0.05)
        return self.body


@pytest.fixture
async def health() -> AsyncIterator[tuple[Liveness, Readiness, Probe]]:
    liveness, readiness = Liveness(stall_s=STALL_S), Readiness()
    server = HealthServer(0, liveness=liveness, readiness=readiness)
    port = await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            yield liveness, readiness, Probe(http)
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def own_topic(bootstrap: str) -> AsyncIterator[str]:
    """A topic of this test alone: its fresh consumer reads nobody else's messages."""
    name = f"test.liveness-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
        yield name
    finally:
        await admin.delete_topics([name])
        await admin.close()


def request(job_id: str) -> JobRequested:
    return job_requested(
        JobType.UPDATE_QTY,
        [{"sku": "A", "quantity": 1}],
        job_id=job_id,
        shop_id="shop-liveness",
        account_id="acc-liveness",
    )


async def test_a_consumer_loop_stuck_in_its_handler_turns_healthz_red_naming_it(
    topics: str, publisher: EventPublisher, health: tuple[Liveness, Readiness, Probe]
) -> None:
    liveness, _, probe = health
    stuck, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def handler(msg: Message) -> None:
        assert isinstance(msg.event, JobRequested)
        if msg.event.job_id == "never-returns":
            stuck.set()
            await release.wait()  # a handler that never returns (until the test says so)
        handled.append(msg.event.job_id)

    async with own_topic(topics) as topic:
        group = f"liveness-{uuid.uuid4().hex[:8]}"
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=topics,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        loop = ConsumerLoop(
            consumer=consumer,
            publisher=publisher,
            group_id=group,
            handler=handler,
            heartbeat=liveness.heartbeat("job requests consumer"),
        )
        running = asyncio.create_task(loop.run())
        try:
            # An idle loop polls and beats: still alive well past the stall limit.
            started = time.monotonic()
            await eventually(lambda: time.monotonic() - started > 2 * STALL_S, "time")
            assert await probe.get("/healthz") == 200, probe.body
            assert probe.body["loops"]["job requests consumer"] < STALL_S

            await publisher.publish_raw(topic, b"k", encode(request("never-returns")))
            await eventually(stuck.is_set, "the handler to get the message")
            body = await probe.until("/healthz", 503, "a stalled loop")
            assert body["status"] == "down"
            (problem,) = body["problems"]
            assert problem.startswith("job requests consumer stalled: no progress for")
            assert body["loops"]["job requests consumer"] >= STALL_S
            assert await probe.get("/readyz") == 503  # a process that is not alive is not ready

            # Progress again (here the handler returns; in production the orchestrator
            # restarts the process): the loop beats and health is green again.
            release.set()
            await publisher.publish_raw(topic, b"k", encode(request("after")))
            await eventually(lambda: handled == ["never-returns", "after"], "both handled")
            await probe.until("/healthz", 200, "a loop that beats again")
        finally:
            release.set()
            loop.stop()
            await running
            await consumer.stop()


async def test_readyz_waits_for_every_readiness_check(
    health: tuple[Liveness, Readiness, Probe],
) -> None:
    _, readiness, probe = health
    restored: set[int] = set()
    readiness.require("job partitions restored", lambda: restored >= {0, 1})
    assert await probe.get("/readyz") == 503
    assert probe.body["waiting_for"] == ["job partitions restored"]
    assert await probe.get("/healthz") == 200  # not ready yet is not dead
    restored.update({0, 1})
    assert await probe.get("/readyz") == 200
    assert probe.body == {"status": "ready", "waiting_for": [], "problems": []}


async def test_a_supervised_task_that_dies_turns_healthz_red_and_stops_the_service(
    health: tuple[Liveness, Readiness, Probe],
) -> None:
    liveness, _, probe = health
    stop = asyncio.Event()
    parts = Supervisor(stop, liveness=liveness)

    async def scheduler() -> None:
        raise ConnectionError("lost the broker")

    parts.spawn("poller scheduler", scheduler())
    with pytest.raises(Exception) as died:
        await parts.wait()
    assert stop.is_set()
    assert str(died.value) == "poller scheduler died: ConnectionError: lost the broker"
    assert await probe.get("/healthz") == 503
    assert probe.body["problems"] == ["poller scheduler died: ConnectionError: lost the broker"]


async def test_a_task_that_returns_before_stop_is_a_failure_and_after_stop_is_not(
    health: tuple[Liveness, Readiness, Probe],
) -> None:
    liveness, _, probe = health
    stop = asyncio.Event()
    parts = Supervisor(stop, liveness=liveness)
    finish = asyncio.Event()

    async def part() -> None:
        await finish.wait()

    calm = parts.spawn("consumer that ends on stop", part())
    cancelled = parts.spawn("task its owner cancels", asyncio.Event().wait())
    cancelled.cancel()
    await asyncio.gather(cancelled, return_exceptions=True)
    stop.set()
    finish.set()
    await calm
    await parts.wait()  # asked to stop, nothing died: no error
    assert parts.failures == []
    assert await probe.get("/healthz") == 200

    stop2 = asyncio.Event()
    quitter = Supervisor(stop2, liveness=liveness)
    quitter.spawn("applier consumer", asyncio.sleep(0))
    with pytest.raises(Exception, match="applier consumer ended without the service"):
        await quitter.wait()
    assert await probe.get("/healthz") == 503


async def test_a_dead_throttle_grants_reader_stops_the_service(
    topics: str, publisher: EventPublisher, health: tuple[Liveness, Readiness, Probe]
) -> None:
    liveness, _, probe = health
    stop = asyncio.Event()
    supervisor = Supervisor(stop, liveness=liveness)
    client = ThrottleClient(topics, publisher, f"liveness-{uuid.uuid4().hex[:8]}")
    with supervisor.installed():
        await client.start()
    try:
        assert client._consumer is not None
        await client._consumer.stop()  # the reader's consumer fails under it
        await eventually(stop.is_set, "the service to be stopped")
        (failure,) = supervisor.failures
        assert failure.task_name == "throttle grants reader"
        assert await probe.get("/healthz") == 503
        assert probe.body["problems"][0].startswith("throttle grants reader died:")
    finally:
        await client.stop()


async def test_a_topic_reader_whose_handler_fails_stops_the_service(
    topics: str, publisher: EventPublisher, health: tuple[Liveness, Readiness, Probe]
) -> None:
    liveness, _, probe = health
    stop = asyncio.Event()
    supervisor = Supervisor(stop, liveness=liveness)

    def on_record(key: str, event: Event | None) -> None:
        if isinstance(event, JobRequested) and event.job_id == "poison":
            raise ValueError("cannot hold job poison")

    async with own_topic(topics) as name:
        tail = TopicTail(topics, TopicSpec(name, 1, compacted=True), on_record)
        with supervisor.installed():
            await tail.start()
        try:
            await publisher.publish_raw(name, b"poison", encode(request("poison")))
            await eventually(stop.is_set, "the service to be stopped")
            assert [f.task_name for f in supervisor.failures] == [f"{name} reader"]
            assert await probe.get("/healthz") == 503
            (problem,) = probe.body["problems"]
            assert problem == f"{name} reader died: ValueError: cannot hold job poison"
        finally:
            await tail.stop()


async def test_probes_are_answered_while_the_event_loop_is_busy() -> None:
    # A loop busy for a while (a long restore, a large batch) must not make the probes
    # late: the orchestrator would restart a process that is working. The loop is
    # blocked here until a probe from another thread has its answer.
    server = HealthServer(0, liveness=Liveness(), readiness=Readiness())
    port = await server.start()
    answered = threading.Event()
    statuses: list[int] = []

    def probe() -> None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as reply:
            statuses.append(reply.status)
        answered.set()

    try:
        threading.Thread(target=probe, daemon=True).start()
        got_it = answered.wait(timeout=30)  # blocks the event loop, on purpose
        assert got_it, "the probe was not answered while the loop was busy"
        assert statuses == [200]
    finally:
        await server.stop()
