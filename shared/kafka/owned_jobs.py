"""The consumer shell of the job-driving services (submitter, poller, applier).

One consumer group per service subscribes to ``amazon.job-events`` plus the service's
inbound topics with the range assignor, so partition *p* of every topic goes to the same
instance: the instance that owns a job also owns its requests and, for automatic jobs,
the catalog events that feed it. On assignment the job-events partitions are replayed
from the start into a :class:`JobBook` while the other topics' partitions wait (paused);
then the service is told the partition is ready and sees every new event as it comes.

Offsets of job-events are never needed (replay rebuilds the state); offsets of the inbound
topics are committed after each batch is handled, i.e. after its effects are published.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from shared.codec import DecodeError, decode
from shared.events import JobEvent
from shared.job_book import JobBook
from shared.job_state import JobState
from shared.kafka.consumer import BatchHandler, ConsumerLoop, Message
from shared.kafka.dead_letters import dead_letter_for, send_dead_letter
from shared.kafka.producer import EventPublisher
from shared.topics import JOB_EVENTS, TopicSpec

log = logging.getLogger(__name__)

ReadyHandler = Callable[[int, list[JobState]], Awaitable[None]]
JobEventHandler = Callable[[JobState, JobEvent], Awaitable[None]]
RevokedHandler = Callable[[list[JobState]], Awaitable[None]]
InboundHandler = Callable[[Message], Awaitable[None]]


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: OwnedJobsConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.owner._revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.owner._assigned(assigned)


class OwnedJobsConsumer:
    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        client_id: str,
        publisher: EventPublisher,
        inbound: Sequence[TopicSpec] = (),
        on_ready: ReadyHandler,
        on_job_event: JobEventHandler,
        on_inbound: InboundHandler | None = None,
        on_inbound_batch: BatchHandler | None = None,
        on_revoked: RevokedHandler | None = None,
    ) -> None:
        self.group_id = group_id
        self.publisher = publisher
        self.inbound = list(inbound)
        self.book = JobBook()
        self.on_ready = on_ready
        self.on_job_event = on_job_event
        self.on_inbound = on_inbound
        self.on_revoked = on_revoked
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            max_poll_interval_ms=600_000,
        )
        self._inbound_loop = ConsumerLoop(
            consumer=self.consumer,
            publisher=publisher,
            group_id=group_id,
            handler=None if on_inbound_batch else (on_inbound or _ignore),
            batch_handler=on_inbound_batch,
        )
        self._stopping = asyncio.Event()
        self.lock = asyncio.Lock()  # held while handling anything: one decision at a time

    async def start(self) -> None:
        await self.consumer.start()
        topics = [JOB_EVENTS.name, *(t.name for t in self.inbound)]
        self.consumer.subscribe(topics, listener=_Listener(self))

    async def stop(self) -> None:
        self._stopping.set()
        await self.consumer.stop()

    def owns(self, partition: int) -> bool:
        return self.book.is_ready(partition)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set() and not self._stopping.is_set():
            batches = await self.consumer.getmany(timeout_ms=200, max_records=500)
            if not batches:
                continue
            for tp, records in batches.items():
                async with self.lock:
                    if tp.topic == JOB_EVENTS.name:
                        await self._job_events(tp, records)
                    else:
                        await self._inbound_loop.process(records)
            # Job-events positions are committed too: assignment replays them from the start
            # anyway, and committed positions let lag-based autoscaling see the real load.
            await self.consumer.commit()

    async def _job_events(self, tp: TopicPartition, records: list) -> None:  # type: ignore[type-arg]
        for rec in records:
            try:
                event = decode(rec.value, JOB_EVENTS.event_types)
            except DecodeError as exc:
                # Only a replay of this partition reads it; the first reader reports it.
                if self.book.is_ready(tp.partition):
                    await self._dead_letter(rec, str(exc))
                continue
            assert isinstance(event, JobEvent)
            was_ready = self.book.is_ready(tp.partition)
            try:
                state, became_ready = self.book.apply(tp.partition, rec.offset, event)
            except ValueError as exc:
                if was_ready:
                    await self._dead_letter(rec, f"out of order for its job: {exc}")
                became_ready = self._mark_if_reached(tp, rec.offset)
                state = None
            if was_ready and state is not None:
                await self.on_job_event(state, event)
            if became_ready:
                await self._partition_ready(tp.partition)

    def _mark_if_reached(self, tp: TopicPartition, offset: int) -> bool:
        book = self.book
        if tp.partition not in book.ready and offset + 1 >= book.targets.get(tp.partition, 0):
            book.ready.add(tp.partition)
            return True
        return False

    async def _partition_ready(self, partition: int) -> None:
        names = {t.name for t in self.inbound}
        resume = [
            tp
            for tp in self.consumer.assignment()
            if tp.topic in names and tp.partition == partition
        ]
        if resume:
            self.consumer.resume(*resume)
        log.info(
            "partition ready",
            extra={"partition": partition, "jobs": len(self.book.in_partition(partition))},
        )
        await self.on_ready(partition, self.book.in_partition(partition))

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        events = [tp for tp in assigned if tp.topic == JOB_EVENTS.name]
        inbound = [tp for tp in assigned if tp.topic != JOB_EVENTS.name]
        if inbound:
            self.consumer.pause(*inbound)  # until their job-events partition is replayed
        if not events:
            return
        # Paused until the replay targets are known: records fetched during the awaits
        # below would otherwise be folded against no target, mark the partition ready at
        # its first record, and then assign() would take "ready" away for good.
        self.consumer.pause(*events)
        await self.consumer.seek_to_beginning(*events)
        ends = await self.consumer.end_offsets(events)
        ready = self.book.assign({tp.partition: end for tp, end in ends.items()})
        self.consumer.resume(*events)
        for partition in ready:
            await self._partition_ready(partition)

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        partitions = {tp.partition for tp in revoked if tp.topic == JOB_EVENTS.name}
        async with self.lock:
            dropped = self.book.revoke(partitions)
        if self.on_revoked is not None and dropped:
            await self.on_revoked(dropped)

    async def _dead_letter(self, rec: object, reason: str) -> None:
        await send_dead_letter(
            self.publisher,
            dead_letter_for(
                topic=rec.topic,  # type: ignore[attr-defined]
                partition=rec.partition,  # type: ignore[attr-defined]
                offset=rec.offset,  # type: ignore[attr-defined]
                key=rec.key,  # type: ignore[attr-defined]
                value=rec.value,  # type: ignore[attr-defined]
                error=reason,
                consumer_group=self.group_id,
            ),
        )


async def _ignore(_: Message) -> None:
    return None
