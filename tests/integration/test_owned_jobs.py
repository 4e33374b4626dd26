"""The workers' consumer shell on the real broker: live jobs restored from the changelog
and the committed offsets, finished jobs gone, partitions handed over without loss."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from shared.events import (
    JobCreated,
    JobDone,
    JobEvent,
    JobProcessing,
    JobReserved,
    JobSubmitted,
    next_job_event,
)
from shared.job_state import JobState, fold
from shared.jobs import JobStatus
from shared.kafka.admin import ensure_topics
from shared.kafka.owned_jobs import JobsConsumer
from shared.kafka.producer import EventPublisher
from shared.live_jobs import LiveJobs
from shared.topics import JOB_EVENTS, TopicSpec
from tests import factories
from tests.factories import job_events
from tests.waiting import HUNG_S, eventually

pytestmark = pytest.mark.integration


@dataclass
class Worker:
    consumer: JobsConsumer
    task: asyncio.Task[None]
    stop: asyncio.Event
    ready: list[int] = field(default_factory=list)
    finished: list[JobState] = field(default_factory=list)
    handed_to_ready: set[str] = field(default_factory=set)

    @property
    def book(self) -> LiveJobs:
        return self.consumer.book


@contextlib.asynccontextmanager
async def worker(
    bootstrap: str, publisher: EventPublisher, group: str, changelog: TopicSpec
) -> AsyncIterator[Worker]:
    ready: list[int] = []
    finished: list[JobState] = []
    handed_to_ready: set[str] = set()

    async def on_ready(partition: int, states: list[JobState]) -> None:
        ready.append(partition)
        handed_to_ready.update(s.job_id for s in states)

    def on_finished(partition: int, state: JobState) -> None:
        finished.append(state)

    async def on_job_event(state: JobState, event: JobEvent) -> None:
        return None

    consumer = JobsConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=f"{group}-{uuid.uuid4().hex[:4]}",
        publisher=publisher,
        book=LiveJobs(),
        changelog=changelog,
        on_ready=on_ready,
        on_job_event=on_job_event,
        on_finished_while_restoring=on_finished,
        checkpoint_interval_s=0.2,
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    w = Worker(consumer, task, stop, ready, finished, handed_to_ready)
    try:
        yield w
    finally:
        stop.set()
        await task
        await consumer.stop()


def reserved(job_id: str) -> JobReserved:
    return factories.reserved(job_id, [{"sku": "A", "quantity": 1}], shop_id="shop-shell")


async def publish_chain(publisher: EventPublisher, *events: JobEvent) -> None:
    await publisher.publish_many([(JOB_EVENTS, e.job_id, e) for e in events])


async def test_a_restart_restores_live_jobs_and_forgets_finished_ones(
    topics: str, publisher: EventPublisher
) -> None:
    run = uuid.uuid4().hex[:8]
    changelog = TopicSpec(f"test.shell-jobs-{run}", 12, compacted=True)
    await ensure_topics(topics, [changelog])
    group = f"test-shell-{run}"
    live, done = f"live-{run}", f"done-{run}"

    # Another service writes the jobs' events; this worker folds them.
    live_events, live_state = job_events(reserved(live), JobCreated, JobProcessing)
    done_events, done_state = job_events(reserved(done), JobCreated, JobProcessing)
    chain = [e for pair in zip(live_events, done_events, strict=True) for e in pair]
    async with worker(topics, publisher, group, changelog) as first:
        await eventually(lambda: len(first.ready) == 12, "all partitions ready")
        await publish_chain(publisher, *chain)
        await eventually(lambda: {live, done} <= set(first.book.states), "the jobs folded")
        for ending in (JobSubmitted, JobDone):
            done_state = fold(done_state, e := next_job_event(ending, done_state))
            await publish_chain(publisher, e)
        await eventually(lambda: done not in first.book.states, "the finished job gone")

    # While no instance runs, the live job moves on.
    live_state = fold(live_state, e := next_job_event(JobSubmitted, live_state))
    await publish_chain(publisher, e)

    async with worker(topics, publisher, group, changelog) as second:
        await eventually(lambda: len(second.ready) == 12, "all partitions restored")
        assert done not in second.book.states
        restored = second.book.states[live]
        assert restored.status is JobStatus.WAITING_FOR_RESULT
        assert restored.seq == live_state.seq
        assert list(restored.items) == ["A"]
        assert len(second.book.states) == len(
            [s for s in second.book.states.values() if s.shop_id == "shop-shell"]
        )


async def test_jobs_written_by_the_worker_itself_survive_a_restart(
    topics: str, publisher: EventPublisher
) -> None:
    run = uuid.uuid4().hex[:8]
    changelog = TopicSpec(f"test.shell-jobs-{run}", 12, compacted=True)
    await ensure_topics(topics, [changelog])
    group = f"test-shell-{run}"
    job_ids = [f"own-{run}-{n}" for n in range(20)]
    async with worker(topics, publisher, group, changelog) as first:
        await eventually(lambda: len(first.ready) == 12, "all partitions ready")
        for job_id in job_ids:
            partition = first.consumer.partition_of(job_id)
            async with first.consumer.owning(partition), first.consumer.lock:
                state = fold(None, reserved(job_id))
                await first.consumer.emit([reserved(job_id), next_job_event(JobCreated, state)])
        await eventually(
            lambda: all(first.book.states[j].offset >= 0 for j in job_ids), "own events read back"
        )
    async with worker(topics, publisher, group, changelog) as second:
        await eventually(lambda: len(second.ready) == 12, "all partitions restored")
        assert {j: second.book.states[j].status for j in job_ids} == dict.fromkeys(
            job_ids, JobStatus.CREATED
        )


async def test_a_new_group_hands_over_jobs_finished_in_history_and_keeps_none(
    topics: str, publisher: EventPublisher
) -> None:
    # A new consumer group reads the whole history: each job that finished in it is
    # handed to the worker once as it is read (a last step it may be owed), never kept.
    run = uuid.uuid4().hex[:8]
    changelog = TopicSpec(f"test.shell-jobs-{run}", 12, compacted=True)
    await ensure_topics(topics, [changelog])
    live, done = f"live-{run}", f"done-{run}"
    live_state, done_state = fold(None, reserved(live)), fold(None, reserved(done))
    chain: list[JobEvent] = [reserved(live), reserved(done)]
    for cls in (JobCreated, JobProcessing, JobSubmitted):
        e1, e2 = next_job_event(cls, live_state), next_job_event(cls, done_state)
        live_state, done_state = fold(live_state, e1), fold(done_state, e2)
        chain += [e1, e2]
    chain.append(next_job_event(JobDone, done_state))
    await publish_chain(publisher, *chain)

    async with worker(topics, publisher, f"test-shell-new-{run}", changelog) as fresh:
        await eventually(lambda: len(fresh.ready) == 12, "all partitions restored")
        assert [s.job_id for s in fresh.finished if s.job_id == done] == [done]
        assert next(s for s in fresh.finished if s.job_id == done).status is JobStatus.DONE
        assert done not in fresh.book.states and done not in fresh.handed_to_ready
        assert live in fresh.handed_to_ready
        assert fresh.book.states[live].status is JobStatus.WAITING_FOR_RESULT


async def test_a_stop_lets_work_in_a_critical_section_end_and_starts_none(
    topics: str, publisher: EventPublisher
) -> None:
    """An applier stopped between a result's records and its JobDone made the next owner
    apply the result again: wind_down waits for the section, then cancels the rest."""
    run = uuid.uuid4().hex[:8]
    changelog = TopicSpec(f"test.shell-jobs-{run}", 12, compacted=True)
    await ensure_topics(topics, [changelog])
    async with worker(topics, publisher, f"test-shell-{run}", changelog) as w:
        await eventually(lambda: len(w.ready) == 12, "all partitions ready")
        inside, finish, try_later = asyncio.Event(), asyncio.Event(), asyncio.Event()
        steps: list[str] = []

        async def publishing() -> None:  # effects, then the event recording them
            async with w.consumer.owning(3):
                steps.append("effects out")
                inside.set()
                await finish.wait()
                steps.append("event out")

        async def arriving() -> None:  # a result read just as the stop came
            await try_later.wait()
            async with w.consumer.owning(4):
                steps.append("a second section")

        first = asyncio.create_task(publishing())
        second = asyncio.create_task(arriving())
        await inside.wait()
        stopping = asyncio.create_task(w.consumer.wind_down([first, second], timeout_s=HUNG_S))
        await turns()
        assert not stopping.done(), "the stop went on while a section was open"
        assert w.consumer.parts[4].suspended, "a new section could still start"
        try_later.set()
        await turns()  # the second task runs up to the closed door
        finish.set()
        await stopping
        assert steps == ["effects out", "event out"]
        assert not first.cancelled() and first.exception() is None
        assert second.cancelled()


async def turns(n: int = 5) -> None:
    """Let the other ready tasks run a few steps (no time passes)."""
    for _ in range(n):
        await asyncio.sleep(0)
