"""The consumer shell of the job-driving workers (submitter, poller, applier).

One consumer group per worker subscribes to ``amazon.job-events`` plus the worker's
inbound topics; the co-partitioned sticky assignor gives partition number *p* of all of
them to one instance, so a job, its requests and its shop's catalog events are decided in
one place (docs/design.md §14, §15).

What an instance knows is the live jobs of its partitions (a :class:`LiveJobs`) plus any
other per-partition store (the submitter's job id registry). On assignment of a partition
they are restored from the stores' compacted topics, then ``amazon.job-events`` is read
from the group's committed offset to the end seen at assignment; then the partition is
*ready*, its inbound partitions resume and the worker is told (``on_ready``). Every
``checkpoint_interval_s`` the stores' changes are written, then the offsets committed.

Rebalances (aiokafka's are eager): on revocation every partition is *suspended*; work in
a critical section (``owning``) finishes, nothing new enters one, and the state is
checkpointed. Partitions that come back resume as they were; the others are dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import Gauge, Histogram

from shared.chunking import split_items
from shared.codec import DecodeError, decode
from shared.events import Event, JobEvent
from shared.health import READINESS, STARTING
from shared.job_state import JobState
from shared.kafka.assignor import assignor_for_one_consumer
from shared.kafka.clients import new_consumer
from shared.kafka.consumer import COMMIT_FAILURES, BatchHandler, ConsumerLoop, Message
from shared.kafka.dead_letters import letter_for_record, send_dead_letter
from shared.kafka.holds import Holds
from shared.kafka.lag import LagMeter
from shared.kafka.partitions import partition_for
from shared.kafka.producer import EventPublisher, encode_bounded
from shared.kafka.stores import BookStore, PartitionStore, Record
from shared.live_jobs import LiveJobs
from shared.topics import JOB_EVENTS, TopicSpec
from shared.tracing import attached, context_of

log = logging.getLogger(__name__)

ReadyHandler = Callable[[int, list[JobState]], Awaitable[None]]
JobEventHandler = Callable[[JobState, JobEvent], Awaitable[None]]
RevokedHandler = Callable[[list[JobState]], Awaitable[None]]
FinishedHandler = Callable[[int, JobState], None]

RESTORE_SECONDS = Histogram(
    "worker_restore_seconds",
    "Time to restore newly assigned partitions (stores and job events)",
    ["group"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
LIVE_JOBS = Gauge("worker_live_jobs", "Jobs not finished in this instance's partitions", ["group"])
CHECKPOINT_SECONDS = Histogram(
    "worker_checkpoint_seconds",
    "Time to write the stores' changes and commit offsets",
    ["group"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
OWNED_PARTITIONS = Gauge("worker_partitions", "Partitions this instance owns", ["group", "state"])


class PartitionLost(Exception):
    """The partition went to another instance: whatever was under way for it stops."""


@dataclass
class _Partition:
    number: int
    state: str = "restoring"  # restoring | ready
    suspended: bool = False
    lost: bool = False
    in_flight: int = 0
    resumed: asyncio.Event = field(default_factory=asyncio.Event)
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    folded_to: int | None = None  # next job-events offset after the last one folded
    target: int = 0  # the end offset the restore must reach

    def __post_init__(self) -> None:
        self.drained.set()


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: JobsConsumer) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.owner._revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.owner._assigned(assigned)


class JobsConsumer:
    def __init__(
        self,
        *,
        bootstrap_servers: str,
        group_id: str,
        client_id: str,
        publisher: EventPublisher,
        book: LiveJobs,
        changelog: TopicSpec,
        stores: Sequence[PartitionStore] = (),
        inbound: Sequence[TopicSpec] = (),
        on_ready: ReadyHandler,
        on_job_event: JobEventHandler,
        on_inbound_batch: BatchHandler | None = None,
        on_revoked: RevokedHandler | None = None,
        on_finished_while_restoring: FinishedHandler | None = None,
        heartbeat: Callable[[], None] | None = None,
        checkpoint_interval_s: float = 1.0,
        drain_timeout_s: float = 30.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.publisher = publisher
        self.book = book
        # Stores in the order they are written: the others (e.g. job ids) before the book,
        # so an id is on its topic before its finished job leaves the changelog.
        self.stores: list[PartitionStore] = [*stores, BookStore(book, changelog)]
        self.inbound = list(inbound)
        self.on_ready = on_ready
        self.on_job_event = on_job_event
        self.on_revoked = on_revoked
        self.on_finished_while_restoring = on_finished_while_restoring
        self.heartbeat = heartbeat
        self.checkpoint_interval_s = checkpoint_interval_s
        self.drain_timeout_s = drain_timeout_s
        self.lock = asyncio.Lock()  # held while deciding: one decision at a time
        self.holds = Holds()
        self.parts: dict[int, _Partition] = {}
        self.ready_event = asyncio.Event()  # some partition is ready (for readiness probes)
        self._checkpointing = asyncio.Lock()
        self._restores: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._last_checkpoint = time.monotonic()
        self.consumer = new_consumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(assignor_for_one_consumer(),),
            max_poll_interval_ms=600_000,
        )
        self._inbound_loop = ConsumerLoop(
            consumer=self.consumer,
            publisher=publisher,
            group_id=group_id,
            batch_handler=on_inbound_batch or _ignore,
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.consumer.start()
        topics = [JOB_EVENTS.name, *(t.name for t in self.inbound)]
        self.consumer.subscribe(topics, listener=_Listener(self))
        READINESS.require(f"{self.group_id} partitions restored", self.is_ready)  # /readyz
        READINESS.drop(STARTING)

    def is_ready(self) -> bool:
        """Every partition this instance owns is restored (and it owns some)."""
        return bool(self.parts) and all(p.state == "ready" for p in self.parts.values())

    async def stop(self) -> None:
        """Write what is finished and leave the group."""
        READINESS.drop(f"{self.group_id} partitions restored")
        for task in self._restores:
            task.cancel()
        await asyncio.gather(*self._restores, return_exceptions=True)
        try:
            await self.checkpoint()
        except Exception:
            log.exception("final checkpoint failed; the next owner re-reads from the last one")
        await self.consumer.stop()

    async def quiesce(self, timeout_s: float) -> None:
        """Let critical sections finish and start no new ones (before stopping)."""
        for part in self.parts.values():
            part.suspended = True
            part.resumed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                for part in list(self.parts.values()):
                    await part.drained.wait()

    async def wind_down(self, tasks: Iterable[asyncio.Task[Any]], timeout_s: float) -> None:
        """Before stopping: let the critical sections under way end (up to ``timeout_s``)
        and start none, then cancel ``tasks``. A task cut inside one would leave effects
        out without the event that records them, and the next owner would repeat them."""
        await self.quiesce(timeout_s)
        running = list(tasks)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def run(self, stop: asyncio.Event) -> None:
        lag = LagMeter(self.consumer, self.group_id)
        while not stop.is_set():
            if self._failure is not None:
                raise RuntimeError("restoring partitions failed") from self._failure
            if self.heartbeat is not None:
                self.heartbeat()
            batches = await self.consumer.getmany(timeout_ms=200, max_records=500)
            lag.observe()
            for tp, records in batches.items():
                if stop.is_set():
                    break
                if tp.topic == JOB_EVENTS.name:
                    async with self.lock:
                        await self._job_events(tp, records)
                else:
                    await self._inbound(tp, records)
            if time.monotonic() - self._last_checkpoint >= self.checkpoint_interval_s:
                await self.checkpoint()

    # ------------------------------------------------------------------ ownership

    def partition_of(self, job_id: str) -> int:
        return partition_for(job_id, JOB_EVENTS.partitions)

    def owns(self, partition: int) -> bool:
        part = self.parts.get(partition)
        return part is not None and part.state == "ready" and not part.lost

    @contextlib.asynccontextmanager
    async def owning(self, partition: int) -> AsyncIterator[None]:
        """A critical section for ``partition``: a rebalance waits for it to end, and none
        starts while the partition is suspended. Raises PartitionLost when the partition
        is (or goes) elsewhere or is not ready."""
        while True:
            part = self.parts.get(partition)
            if part is None or part.lost or part.state != "ready":
                raise PartitionLost(f"partition {partition} is not this instance's")
            if not part.suspended:
                break
            await part.resumed.wait()
        part.in_flight += 1
        part.drained.clear()
        try:
            yield
        finally:
            part.in_flight -= 1
            if part.in_flight == 0:
                part.drained.set()

    # ------------------------------------------------------------------ writing

    async def emit(self, events: Sequence[JobEvent]) -> None:
        """Publish job events (item lists in chunks, shared.chunking) and fold them into the
        book at once. Call under ``lock`` and within ``owning`` of their partition."""
        out: list[JobEvent] = []
        status: dict[str, Any] = {}
        for event in events:
            if event.job_id not in status:
                known = self.book.states.get(event.job_id)
                status[event.job_id] = known.status if known is not None else None
            out.extend(split_items(event, status[event.job_id]))
            if not event.IS_ANNOTATION:
                status[event.job_id] = event.status
        await self.publisher.publish_many([(JOB_EVENTS, e.job_id, e) for e in out])
        for event in out:
            self.book.record(self.partition_of(event.job_id), event)

    async def emit_for(
        self,
        job_id: str,
        build: Callable[[JobState], Sequence[JobEvent] | None],
        *,
        owned: bool = False,
    ) -> bool:
        """Write the events ``build`` makes from the job's current state, if the job is
        still this instance's: live here and its partition owned and not moving. False
        when it is not, or ``build`` says there is nothing to write (None or empty).
        ``owned``: the caller is in the partition's critical section already."""
        if not owned:
            try:
                async with self.owning(self.partition_of(job_id)):
                    return await self.emit_for(job_id, build, owned=True)
            except PartitionLost:
                return False
        async with self.lock:
            state = self.book.states.get(job_id)
            events = build(state) if state is not None else None
            if not events:
                return False
            await self.emit(events)
            return True

    def hold(self, msg: Message) -> None:
        """Keep ``msg``'s offset uncommitted until :meth:`release`."""
        self.holds.hold(TopicPartition(msg.topic, msg.partition), msg.offset)

    def release(self, msg: Message) -> None:
        self.holds.release(TopicPartition(msg.topic, msg.partition), msg.offset)

    async def dead_letter(self, msg: Message, reason: str) -> None:
        letter = letter_for_record(msg.record, reason, self.group_id)
        await send_dead_letter(self.publisher, letter)

    async def checkpoint(self, partitions: set[int] | None = None) -> None:
        """Write the stores' changes for the owned partitions, then commit the offsets up
        to what those changes cover."""
        async with self._checkpointing:
            started = time.monotonic()
            self._last_checkpoint = started
            chosen = [
                p
                for n, p in self.parts.items()
                if (partitions is None or n in partitions) and p.state == "ready" and not p.lost
            ]
            # Taken together, without an await: the offsets below are those the changes
            # were folded from.
            changes = [[store.changes(p.number) for p in chosen] for store in self.stores]
            offsets: dict[TopicPartition, int] = {}
            for part in chosen:
                if part.folded_to is not None:
                    offsets[TopicPartition(JOB_EVENTS.name, part.number)] = part.folded_to
                for topic in self.inbound:
                    tp = TopicPartition(topic.name, part.number)
                    committable = self.holds.committable(tp)
                    if committable is not None:
                        offsets[tp] = committable
            for store, per_partition in zip(self.stores, changes, strict=True):
                sends = [
                    await self._send(store.topic, part.number, record)
                    for part, records in zip(chosen, per_partition, strict=True)
                    for record in records
                ]
                for sent in sends:
                    await sent
            if offsets:
                try:
                    await self.consumer.commit(offsets)
                except (KafkaError, AssertionError) as exc:
                    # A rebalance under way: the next checkpoint (or the next owner, from
                    # the stores just written) carries on.
                    COMMIT_FAILURES.labels(self.group_id).inc()
                    log.warning("offset commit refused: %s", exc, extra={"group": self.group_id})
            CHECKPOINT_SECONDS.labels(self.group_id).observe(time.monotonic() - started)
            LIVE_JOBS.labels(self.group_id).set(len(self.book.states))

    async def _send(self, topic: TopicSpec, partition: int, record: Record) -> Any:
        key, value = record
        encoded = encode_bounded(topic.name, value) if value is not None else None
        return await self.publisher.producer.send(
            topic.name, encoded, key=key.encode("utf-8"), partition=partition
        )

    # ------------------------------------------------------------------ reading

    async def _job_events(self, tp: TopicPartition, records: list[Any]) -> None:
        part = self.parts.get(tp.partition)
        if part is None or part.lost:
            return
        for rec in records:
            if part.folded_to is not None and rec.offset < part.folded_to:
                continue  # fetched again after a rebalance: already folded
            if part.state == "ready" and self._irrelevant(rec):
                part.folded_to = rec.offset + 1
                continue
            own = _own_event_id(rec.value)
            if own is not None and self.book.is_own_unread(own):
                # Written here and folded already: no need to decode it again.
                key = rec.key.decode("utf-8", "replace") if rec.key is not None else ""
                self.book.read_back(tp.partition, key, own, rec.offset)
                part.folded_to = rec.offset + 1
                continue
            try:
                event = decode(rec.value, JOB_EVENTS.event_types)
            except DecodeError as exc:
                if part.state == "ready":  # a restore re-reads what was reported before
                    await self._dead_letter_record(rec, str(exc))
                part.folded_to = rec.offset + 1
                continue
            assert isinstance(event, JobEvent)
            try:
                state = self.book.record(tp.partition, event, rec.offset)
            except ValueError as exc:
                if part.state == "ready":
                    await self._dead_letter_record(rec, f"out of order for its job: {exc}")
                state = None
            part.folded_to = rec.offset + 1
            if state is None:
                continue
            if part.state == "ready":
                # In the trace of whoever wrote the event (its record's headers).
                with attached(context_of(rec.headers)):
                    await self.on_job_event(state, event)
            elif (
                state.status.is_terminal
                and state.job_id not in self.book.states
                and self.on_finished_while_restoring is not None
            ):
                # Handed over at once, not kept for on_ready: a new group reading months
                # of history sees every job finish, and keeping them all took gigabytes.
                self.on_finished_while_restoring(tp.partition, state)
        if part.state == "restoring" and (part.folded_to or 0) >= part.target:
            await self._become_ready(part)

    def _irrelevant(self, rec: Any) -> bool:
        """An event of a job this instance does not hold that cannot start one: a refused
        request's job (born in error), a late note on a finished job. Told from the key and
        the head of the bytes, so a burst of refusals costs the workers no decoding. Only
        this project's services write job events, always with the type near the start."""
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
        if key is None or self.book.holds(key):
            return False
        return rec.value is not None and b"JobReserved" not in rec.value[:200]

    async def _inbound(self, tp: TopicPartition, records: list[Any]) -> None:
        part = self.parts.get(tp.partition)
        if part is None or part.lost or part.state != "ready":
            # Paused while restoring; fetched before the pause took hold: read them later.
            if part is not None and not part.lost:
                self.consumer.seek(tp, records[0].offset)
            return
        try:
            async with self.owning(tp.partition):
                async with self.lock:
                    await self._inbound_loop.process(records)
                self.holds.handled(tp, records[-1].offset)
        except PartitionLost:
            return

    async def _dead_letter_record(self, rec: Any, reason: str) -> None:
        await send_dead_letter(self.publisher, letter_for_record(rec, reason, self.group_id))

    # ------------------------------------------------------------------ rebalancing

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        numbers = {tp.partition for tp in revoked if tp.topic == JOB_EVENTS.name}
        parts = [self.parts[n] for n in numbers if n in self.parts]
        for task in list(self._restores):  # restores start again if the partitions stay
            task.cancel()
        await asyncio.gather(*self._restores, return_exceptions=True)
        for part in parts:
            part.suspended = True
            part.resumed.clear()
        try:
            async with asyncio.timeout(self.drain_timeout_s):
                for part in parts:
                    await part.drained.wait()
        except TimeoutError:
            log.error(
                "work in flight did not finish before the rebalance went on",
                extra={"partitions": sorted(numbers)},
            )
        try:
            await self.checkpoint(numbers)
        except Exception:
            log.exception("checkpoint on revocation failed")
        self._gauge()

    async def _assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            await self._assign(assigned)
        except Exception as exc:  # aiokafka would only log it: make it fatal instead
            log.exception("taking on assigned partitions failed")
            self._failure = exc

    async def _assign(self, assigned: set[TopicPartition]) -> None:
        numbers = {tp.partition for tp in assigned if tp.topic == JOB_EVENTS.name}
        lost = [p for n, p in self.parts.items() if n not in numbers]
        for part in lost:
            await self._lose(part)
        fresh: list[int] = []
        for number in sorted(numbers):
            kept = self.parts.get(number)
            if kept is None:
                self.parts[number] = _Partition(number)
                fresh.append(number)
                continue
            part = kept
            # Kept: go on from where this instance was, not from the committed offsets.
            part.suspended = False
            part.resumed.set()
            if part.folded_to is not None:
                self.consumer.seek(TopicPartition(JOB_EVENTS.name, number), part.folded_to)
            for topic in self.inbound:
                tp = TopicPartition(topic.name, number)
                position = self.holds.committable(tp)
                if position is not None:
                    self.consumer.seek(tp, self._resume_position(tp, position))
            if part.state == "restoring":
                part.folded_to = None
                fresh.append(number)  # its restore was cut short by the rebalance
        if fresh:
            self._pause(fresh)
            task = asyncio.create_task(self._restore(fresh), name=f"restore {fresh}")
            self._restores.add(task)
            task.add_done_callback(self._restored)
        self._gauge()

    def _resume_position(self, tp: TopicPartition, committable: int) -> int:
        # Held messages stay in memory (their decisions are under way), so reading goes
        # on after the last handled message rather than at the first held one.
        handled = self.holds.handled_to(tp)
        return handled if handled is not None else committable

    def _pause(self, numbers: list[int]) -> None:
        tps = [
            TopicPartition(t, n)
            for n in numbers
            for t in [JOB_EVENTS.name, *(s.name for s in self.inbound)]
        ]
        self.consumer.pause(*[tp for tp in tps if tp in self.consumer.assignment()])

    async def _lose(self, part: _Partition) -> None:
        part.lost = True
        part.resumed.set()  # waiters in owning() wake up to PartitionLost
        del self.parts[part.number]
        for store in self.stores:
            if not isinstance(store, BookStore):
                store.forget(part.number)
        dropped = self.book.revoke({part.number})
        for topic in self.inbound:
            self.holds.forget(TopicPartition(topic.name, part.number))
        if self.on_revoked is not None and dropped:
            await self.on_revoked(dropped)
        log.info("partition given up", extra={"partition": part.number, "jobs": len(dropped)})

    def _restored(self, task: asyncio.Task[None]) -> None:
        self._restores.discard(task)
        if task.cancelled():
            return
        if task.exception() is not None:
            self._failure = task.exception()

    async def _restore(self, numbers: list[int]) -> None:
        started = time.monotonic()
        reader = new_consumer(
            bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False, group_id=None
        )
        await reader.start()
        try:
            for store in self.stores:
                per_partition = await _read_partitions(reader, store.topic, numbers)
                for number in numbers:
                    if number in self.parts:
                        store.load(number, per_partition.get(number, []))
        finally:
            await reader.stop()
        events = [TopicPartition(JOB_EVENTS.name, n) for n in numbers if n in self.parts]
        if not events:
            return
        ends = await self.consumer.end_offsets(events)
        for tp in events:
            part = self.parts.get(tp.partition)
            if part is None:
                continue
            committed = await self.consumer.committed(tp)
            if committed is None:
                await self.consumer.seek_to_beginning(tp)
                start = 0
            else:
                self.consumer.seek(tp, committed)
                start = committed
            part.target = ends[tp]
            part.folded_to = start
        async with self.lock:
            for tp in events:
                part = self.parts.get(tp.partition)
                if part is None:
                    continue
                if part.folded_to is not None and part.folded_to >= part.target:
                    await self._become_ready(part)
                else:
                    self.consumer.resume(tp)
        RESTORE_SECONDS.labels(self.group_id).observe(time.monotonic() - started)
        log.info(
            "partitions restored",
            extra={
                "partitions": numbers,
                "live_jobs": len(self.book.states),
                "seconds": round(time.monotonic() - started, 3),
            },
        )

    async def _become_ready(self, part: _Partition) -> None:
        part.state = "ready"
        part.resumed.set()
        names = {t.name for t in self.inbound}
        resume = [
            tp
            for tp in self.consumer.assignment()
            if tp.partition == part.number and (tp.topic in names or tp.topic == JOB_EVENTS.name)
        ]
        if resume:
            self.consumer.resume(*resume)
        self.ready_event.set()
        self._gauge()
        states = self.book.in_partition(part.number)
        log.info("partition ready", extra={"partition": part.number, "jobs": len(states)})
        await self.on_ready(part.number, states)

    def _gauge(self) -> None:
        ready = sum(1 for p in self.parts.values() if p.state == "ready")
        OWNED_PARTITIONS.labels(self.group_id, "ready").set(ready)
        OWNED_PARTITIONS.labels(self.group_id, "restoring").set(len(self.parts) - ready)


_EVENT_ID_HEAD = b'{"event_id":"'


def _own_event_id(value: bytes | None) -> UUID | None:
    """The event id at the head of an event this project encoded (it is the first field),
    without decoding the rest; None when the bytes do not start that way."""
    if value is None or not value.startswith(_EVENT_ID_HEAD):
        return None
    start = len(_EVENT_ID_HEAD)
    try:
        return UUID(value[start : start + 36].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return None


async def _read_partitions(
    reader: AIOKafkaConsumer, topic: TopicSpec, numbers: list[int]
) -> dict[int, list[Record]]:
    """Every record of these partitions of a (compacted) topic, up to its end now."""
    tps = [TopicPartition(topic.name, n) for n in numbers]
    reader.assign(tps)
    await reader.seek_to_beginning(*tps)
    ends = await reader.end_offsets(tps)
    out: dict[int, list[Record]] = {n: [] for n in numbers}
    pending = {tp for tp in tps if ends[tp] > await reader.position(tp)}
    idle = 0
    while pending:
        batches = await reader.getmany(*pending, timeout_ms=500)
        # A compacted log may end in a gap (a cleaned tombstone): no record reaches the
        # end offset, but the position does, or nothing more comes.
        idle = 0 if batches else idle + 1
        for tp in list(pending):
            if await reader.position(tp) >= ends[tp] or idle >= 3:
                pending.discard(tp)
        for tp, records in batches.items():
            for rec in records:
                key = rec.key.decode("utf-8", "replace") if rec.key is not None else ""
                value: Event | None = None
                if rec.value is not None:
                    try:
                        value = decode(rec.value, topic.event_types or None)
                    except DecodeError as exc:
                        log.error(
                            "unreadable changelog record skipped",
                            extra={"topic": topic.name, "offset": rec.offset, "reason": str(exc)},
                        )
                        continue
                out[tp.partition].append((key, value))
                if rec.offset + 1 >= ends[tp]:
                    pending.discard(tp)
    return out


async def _ignore(_: list[Message]) -> None:
    return None
