"""The projector: the one writer of MongoDB. Folds the topics into the read model.

Runs inside ``python -m services.api`` (unless API_RUN_PROJECTOR=false) or alone as
``python -m services.api.projector``, with its own consumer group so it scales apart from
the HTTP workers. Offsets are committed only after a batch is written: while MongoDB is
down it waits and retries, and loses nothing. The next batch is read and folded while one
is written (docs/design.md §15).

Per batch it reads back only what it cannot know: a job it has not written itself since
its partitions were assigned, and whose first event in the batch is not the job's first
event. Everything else comes from its own cache of the job documents it wrote, and new
documents are inserted rather than upserted (see bulk.py for why that matters).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import Counter, Histogram
from pydantic import ValidationError
from pymongo import DeleteOne, UpdateOne
from pymongo.errors import PyMongoError

from services.api import bulk, stats
from services.api.job_cache import ForgetOnRebalance, HourOffsets, JobCache
from services.api.projection import (
    Delete,
    Doc,
    JobWrites,
    Merge,
    PageWrite,
    Upsert,
    fold_job_events,
    join_job,
    record_write,
    retry_link,
    split_job,
)
from services.api.replays import REPLAYS, DeadLetterReplayed
from services.api.settings import ApiSettings
from services.api.store import Database, ensure_indexes
from services.api.write_failures import WriteFailure, classify, reason
from shared import faults
from shared.codec import DecodeError, decode
from shared.events import Event, JobEvent
from shared.health import LIVENESS, READINESS, HealthServer
from shared.heap import full_collections
from shared.kafka.admin import ensure_topics
from shared.kafka.clients import new_consumer
from shared.kafka.dead_letters import letter_for_record, send_dead_letter
from shared.kafka.lag import LagMeter
from shared.kafka.producer import EventPublisher
from shared.limits import MAX_ERROR_TEXT, clip
from shared.registry import all_event_types
from shared.signing import SYSTEM_ONLY
from shared.supervisor import Supervisor
from shared.throttle.messages import BucketSnapshot
from shared.topics import (
    ACCOUNTS,
    BY_NAME,
    DEAD_LETTERS,
    INVENTORY,
    JOB_EVENTS,
    LISTINGS,
    ORDERS,
    SCHEDULES,
    THROTTLE_SNAPSHOTS,
    WEBHOOK_DELIVERIES,
    WEBHOOKS,
)

log = logging.getLogger(__name__)
Record: TypeAlias = ConsumerRecord[bytes, bytes]
Decoded: TypeAlias = tuple[Record, Event | None]
# MongoDB refusing a write (write_failures.REFUSED) this many times in a row: the batch is
# written one record at a time, and a record refused alone is dead-lettered.
REFUSALS_BEFORE_ISOLATING = 3
# Records decoded between two turns of the event loop while a batch is prepared: the
# batch being written meanwhile gets MongoDB's answers without waiting for all of them.
YIELD_EVERY = 200
# The charts' old data is deleted this many documents a command, at most this many
# commands a pruning (_prune).
PRUNE_BATCH = 5_000
PRUNE_ROUNDS = 20
# The shared topics the read model is folded from, plus the API's own internal one.
TOPICS = [
    JOB_EVENTS,
    LISTINGS,
    INVENTORY,
    ORDERS,
    ACCOUNTS,
    SCHEDULES,
    DEAD_LETTERS,
    THROTTLE_SNAPSHOTS,
    WEBHOOKS,
    WEBHOOK_DELIVERIES,
]
OWN_TOPICS = [REPLAYS]

APPLIED = Counter("projector_events_applied_total", "Events written to MongoDB", ["topic"])
BATCH_SECONDS = Histogram(
    "projector_batch_seconds",
    "Time to write one batch to MongoDB",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BATCH_SIZE = Histogram(
    "projector_batch_records", "Records per batch", buckets=(1, 10, 50, 100, 500, 1000, 5000)
)
MONGO_ERRORS = Counter("projector_mongo_errors_total", "Batches retried because MongoDB failed")
UNWRITABLE = Counter(
    "projector_unwritable_records_total",
    "Records dead-lettered because they cannot be written to MongoDB",
    ["topic"],
)
JOB_READS = Counter("projector_job_reads_total", "Job documents read back from MongoDB")
PRUNE_FAILURES = Counter(
    "projector_prune_failures_total", "Prunings of the charts' old data that failed"
)
COMMIT_FAILURES = Counter(
    "projector_commit_failures_total", "Batches written whose offsets a rebalance refused"
)

all_event_types()  # every event type known to the decoder, the throttle's snapshots too


def _hold_back_unfinished_jobs(
    consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[Record]]
) -> None:
    """Leave each job-events partition's trailing job for the next batch.

    While catching up (a full batch), the job whose events end a partition's share of the
    batch most likely has more events right behind. Written now, it would be written
    again by the next batch: a read and a replace of each of its documents, where one
    insert does (bulk.py). Seeking back to its first event makes the next batch carry all
    of it, so catching up inserts each job once. The committed offset is the position, so nothing
    held back is skipped."""
    for tp, records in batches.items():
        if tp.topic != JOB_EVENTS.name or not records:
            continue
        last = records[-1].key
        start = len(records)
        while start > 0 and records[start - 1].key == last:
            start -= 1
        if start == 0:
            continue  # the whole share is one job: write it, or nothing would move
        consumer.seek(tp, records[start].offset)
        del records[start:]


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error = group.exceptions[0]
    return _first_error(error) if isinstance(error, BaseExceptionGroup) else error


async def _at_end(consumer: AIOKafkaConsumer) -> bool:
    """Whether every assigned partition has been read to its end (an empty poll alone
    may only mean the group is still joining)."""
    assigned = consumer.assignment()
    if not assigned:
        return False
    try:
        ends = await consumer.end_offsets(list(assigned))
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return False
    except IllegalStateError:
        return False  # a rebalance took a partition meanwhile: asked again after the next poll
    return True


@dataclass
class JobPlan:
    """A batch's job events folded: what to write, not yet written."""

    events: list[JobEvent]
    out: JobWrites
    rows: dict[str, Doc]
    states: dict[str, Doc]
    presumed: set[str]  # jobs presumed new: inserted, not replaced
    hours: dict[str, stats.HourCounts]


@dataclass
class Plan:
    """A batch folded: per collection and document the last write of the batch, the
    merges, and its job events' plan."""

    latest: dict[str, dict[str, Upsert | Delete]]
    merges: list[Merge]
    jobs: JobPlan | None


@dataclass
class Batch:
    """Records read, decoded and (unless ``plan`` is None) folded, waiting to be written;
    ``offsets`` are committed once they are; ``generation``: the assignment they were read
    under (ForgetOnRebalance.generation)."""

    records: list[Record]
    decoded: list[Decoded]
    offsets: dict[TopicPartition, OffsetAndMetadata]
    generation: int
    plan: Plan | None


class Projector:
    def __init__(
        self,
        settings: ApiSettings,
        db: Database,
        publisher: EventPublisher,
        *,
        max_records: int = 2000,
        cache_size: int = 20_000,
    ) -> None:
        self.settings = settings
        self.db = db
        self.publisher = publisher
        self.max_records = max_records
        self.cache = JobCache(cache_size)
        self.hours = HourOffsets(cache_size)
        self.caught_up = asyncio.Event()  # set once everything published so far is written
        self.applied = 0
        # Liveness (docs/design.md §17), while run() runs: beaten once per poll, and while
        # MongoDB is waited for; silent for LIVENESS_STALL_S, the process is restarted.
        self.heartbeat: Callable[[], None] = lambda: None
        self.writing = asyncio.Lock()
        self.rebalances = ForgetOnRebalance(self.cache, self.hours, writing=self.writing)
        self.pruned_at: datetime | None = None  # the stats' last pruning (stats.PRUNE_EVERY)
        # Accounts, schedules and webhooks are the system's to write (docs/design.md §22):
        # what a shop wrote there is not shown as if it were.
        self.verifier = settings.verifier()

    async def run(self, stop: asyncio.Event) -> None:
        # The API's own topic; the others are the shared layout, created by every service.
        await ensure_topics(self.settings.kafka_bootstrap_servers, OWN_TOPICS)
        await self._until_mongo(lambda: ensure_indexes(self.db), stop)
        consumer = new_consumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.settings.consumer_group,
            client_id=f"{self.settings.consumer_group}-{self.settings.instance_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=600_000,
        )
        consumer.subscribe([t.name for t in [*TOPICS, *OWN_TOPICS]], listener=self.rebalances)
        await consumer.start()
        lag = LagMeter(consumer, self.settings.consumer_group)
        heartbeat = LIVENESS.heartbeat("projector")
        self.heartbeat = heartbeat
        # Full collections on a clock (shared/heap.py): the job cache's documents made
        # each automatic one walk them all, a seventh of the projector's time catching up
        # (4,593 against 5,369 events/s at 50,000 jobs; docs/design.md §25).
        collector = asyncio.create_task(full_collections(stop), name="full collections")
        # The batch being written while the next one is read and folded: the fold of one
        # batch overlaps the writes of the one before (docs/design.md §25).
        writer: asyncio.Task[bool] | None = None
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=300, max_records=self.max_records)
                if collector.done():
                    collector.result()  # it never ends before stop: raise what ended it
                self.heartbeat()
                lag.observe()
                if not batches:
                    if writer is not None:
                        await writer
                        writer = None
                    if not self.caught_up.is_set() and await _at_end(consumer):
                        self.caught_up.set()
                    continue
                batch = await self._prepare(consumer, batches)
                if writer is not None:
                    clean = await writer
                    writer = None
                    if not clean:
                        # The batch before did not land as folded (written in parts, or
                        # MongoDB held some jobs newer): fold this one again from what
                        # MongoDB holds, not from the cache.
                        self.cache.clear()
                        batch.plan = None
                if batch.generation != self.rebalances.generation:
                    continue  # the assignment changed: read again from the committed offsets
                writer = asyncio.create_task(self._finish(consumer, batch, stop))
            if writer is not None:
                await writer
                writer = None
        finally:
            if writer is not None:  # run() is failing: what is not committed is read again
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            heartbeat.close()  # stopped on purpose (or dead): no longer a loop to watch
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector
            await consumer.stop()

    async def _prepare(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[Record]]
    ) -> Batch:
        """Decode and fold a batch read from Kafka (its jobs go into the cache as folded, so
        the next batch folds on them while this one is written)."""
        generation = self.rebalances.generation
        if sum(map(len, batches.values())) >= self.max_records:
            _hold_back_unfinished_jobs(consumer, batches)
        if self.caught_up.is_set():  # its first batch once caught up (tests of §17)
            faults.fail_point("projector:live-batch")
        offsets = {
            tp: OffsetAndMetadata(records[-1].offset + 1, "")
            for tp, records in batches.items()
            if records
        }
        records = [r for recs in batches.values() for r in recs]
        decoded: list[Decoded] = []
        for n, rec in enumerate(records, 1):
            item = await self._decode(rec)
            if item is not None:
                decoded.append(item)
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the batch being written go on meanwhile
        plan: Plan | None = None
        with contextlib.suppress(Exception):
            # Folded again when written if this fails: _write tells what failed and why.
            plan = await self._plan(decoded)
        return Batch(records, decoded, offsets, generation, plan)

    async def _finish(self, consumer: AIOKafkaConsumer, batch: Batch, stop: asyncio.Event) -> bool:
        """Write a batch and commit its offsets; whether it landed as it was folded.

        Holds ``writing`` meanwhile: a revocation waits for it (job_cache.ForgetOnRebalance),
        so the next owner of these partitions starts after this batch has landed
        (docs/design.md §15)."""
        async with self.writing:
            if batch.generation != self.rebalances.generation:
                return False  # the assignment changed: read again from the committed offsets
            clean = await self._write(batch.decoded, stop, plan=batch.plan)
            if stop.is_set():
                return False  # perhaps not written: do not commit; the next instance reads it
            BATCH_SIZE.observe(len(batch.records))
            for rec in batch.records:
                APPLIED.labels(rec.topic).inc()
            self.applied += len(batch.records)
            try:
                await consumer.commit(batch.offsets)
            except (CommitFailedError, IllegalStateError) as exc:
                # The group rebalanced meanwhile: the partitions' next owner reads these
                # records again, and folding them twice changes nothing.
                COMMIT_FAILURES.inc()
                log.warning("offsets not committed after a rebalance (%s)", exc)
            return clean

    async def _until_mongo(self, work: Callable[[], Awaitable[Any]], stop: asyncio.Event) -> None:
        """Run ``work`` until MongoDB takes it; back off while it is unavailable."""
        delay = 0.5
        while not stop.is_set():
            try:
                await work()
                return
            except PyMongoError as exc:
                self._failed(exc, delay)
                await self._pause(stop, delay)
                delay = min(delay * 2, 10.0)

    async def _write(
        self,
        decoded: list[Decoded],
        stop: asyncio.Event,
        *,
        isolating: bool = False,
        plan: Plan | None = None,
    ) -> bool:
        """Write a batch (folded as ``plan``, or folded here); wait out an unavailable
        MongoDB for as long as it takes. Whether it landed as folded.

        Whatever else fails (a value BSON cannot hold, MongoDB refusing a document, a
        record the fold cannot read) is no reason to stop the projection of every shop:
        the batch is written again in halves, in order, down to the record that fails
        alone, which goes to the dead letters with the reason (write_failures.py). A batch
        MongoDB refuses is tried a few times first, in case the refusal passes."""
        delay, refused = 0.5, 0
        while not stop.is_set():
            try:
                if plan is None:
                    plan = await self._plan(decoded)
                return await self._execute(plan)
            except Exception as exc:
                verdict = classify(exc)
                if verdict is WriteFailure.WAIT:
                    self._failed(exc, delay)
                elif (
                    verdict is WriteFailure.REFUSED
                    and not isolating
                    and refused + 1 < REFUSALS_BEFORE_ISOLATING
                ):
                    refused += 1
                    self._failed(exc, delay)
                else:
                    # Each part is folded again from what MongoDB holds: the cache holds
                    # this batch's jobs as folded whole.
                    self.cache.clear()
                    if len(decoded) > 1:
                        log.warning(
                            "a batch of %d records failed (%s: %s); writing it in halves",
                            len(decoded),
                            type(exc).__name__,
                            str(exc)[:300],
                        )
                        half = len(decoded) // 2
                        await self._write(decoded[:half], stop, isolating=True)
                        await self._write(decoded[half:], stop, isolating=True)
                        return False
                    rec = decoded[0][0]
                    UNWRITABLE.labels(rec.topic).inc()
                    await self._dead_letter(rec, reason(exc))
                    return False
            self.heartbeat()  # waiting for MongoDB is not a stall
            await self._pause(stop, delay)
            delay = min(delay * 2, 10.0)
        return False

    def _failed(self, exc: Exception, delay: float) -> None:
        MONGO_ERRORS.inc()
        log.warning(
            "MongoDB failed (%s: %s); will retry",
            type(exc).__name__,
            str(exc)[:300],
            extra={"retry_in_s": delay},
        )

    @staticmethod
    async def _pause(stop: asyncio.Event, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)

    async def _plan(self, decoded: list[Decoded]) -> Plan:
        """Fold a batch (its jobs go into the cache as folded: _plan_jobs)."""
        job_events: list[JobEvent] = []
        placed: list[tuple[int, int, JobEvent]] = []  # for the charts' hour counts
        # Per collection and document, the last write of the batch is the one to keep.
        latest: dict[str, dict[str, Upsert | Delete]] = defaultdict(dict)
        merges: list[Merge] = []
        for rec, event in decoded:
            if isinstance(event, JobEvent):
                job_events.append(event)
                placed.append((rec.partition, rec.offset, event))
                link = retry_link(event)
                if link is not None:
                    merges.append(link)
                continue
            key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
            write = record_write(rec.topic, key, event, rec.partition, rec.offset)
            if isinstance(write, Upsert):
                latest[write.collection][write.doc["_id"]] = write
            elif isinstance(write, Delete):
                latest[write.collection][write.doc_id] = write
            elif isinstance(write, Merge):
                merges.append(write)
            if isinstance(event, BucketSnapshot):  # the quota chart's minute sample
                sample = stats.quota_sample(event)
                latest["quota_history"][sample["_id"]] = Upsert("quota_history", sample)
        jobs = await self._plan_jobs(job_events, placed) if job_events else None
        return Plan(latest, merges, jobs)

    async def _execute(self, plan: Plan) -> bool:
        """Write a folded batch; whether every job landed as folded."""
        with BATCH_SECONDS.time():
            clean = True
            if plan.jobs is not None:
                clean = await self._write_planned_jobs(plan.jobs)
            for collection, writes in plan.latest.items():
                await self._write_records(collection, list(writes.values()))
            merges = plan.merges
            for collection in {m.collection for m in merges}:
                await bulk.run_chunked(
                    self.db[collection],
                    [
                        UpdateOne({"_id": m.doc_id}, m.update, upsert=True)
                        for m in merges
                        if m.collection == collection
                    ],
                )
            await self._prune_stats()
            return clean

    async def _decode(self, rec: Record) -> Decoded | None:
        """The record with its event (None for a tombstone), or None if unreadable or
        written where only the system writes by someone else (both dead-lettered)."""
        spec = BY_NAME.get(rec.topic)
        if rec.topic in SYSTEM_ONLY and self.verifier is not None:
            refusal = self.verifier.record_refusal(rec)
            if refusal is not None:
                await self._dead_letter(rec, refusal)
                return None
        if rec.value is None:
            return rec, None
        try:
            if rec.topic == REPLAYS.name:
                try:
                    return rec, DeadLetterReplayed.model_validate_json(rec.value)
                except ValidationError as exc:
                    raise DecodeError(f"invalid DeadLetterReplayed: {exc}") from exc
            allowed = spec.event_types if spec and spec.event_types else None
            return rec, decode(rec.value, allowed)
        except DecodeError as exc:
            await self._dead_letter(rec, str(exc))
            return None

    async def _dead_letter(self, rec: Record, reason: str) -> None:
        if rec.topic == DEAD_LETTERS.name:  # never dead-letter into itself
            log.error("dead letter skipped: %s", reason, extra={"offset": rec.offset})
            return
        letter = letter_for_record(rec, clip(reason, MAX_ERROR_TEXT), self.settings.consumer_group)
        await send_dead_letter(self.publisher, letter)

    async def _write_jobs(
        self, events: list[JobEvent], placed: list[tuple[int, int, JobEvent]] | None = None
    ) -> JobWrites:
        """Fold and write job events (a batch's are planned and written apart)."""
        plan = await self._plan_jobs(events, placed or [])
        await self._write_planned_jobs(plan)
        return plan.out

    async def _plan_jobs(
        self, events: list[JobEvent], placed: list[tuple[int, int, JobEvent]]
    ) -> JobPlan:
        """Fold a batch's job events on the jobs as cached, or else as stored. The jobs go
        into the cache as folded (unless the assignment changed meanwhile): the next batch
        is folded on them while this one is written."""
        generation = self.rebalances.generation
        stored: dict[str, Doc] = {}
        first: dict[str, JobEvent] = {}
        for event in events:
            first.setdefault(event.job_id, event)
        to_read = []
        for job_id, event in first.items():
            cached = self.cache.get(job_id)
            if cached is not None:
                stored[job_id] = cached
            elif event.seq > 1 or event.IS_ANNOTATION:
                to_read.append(job_id)
            # else: the batch starts with the job's first event, so the job is presumed
            # new; if it exists after all (a replay), inserting it fails and it is read.
        stored.update(await self._read_jobs(to_read))
        presumed = {j for j in first if j not in stored and j not in to_read}
        out = fold_job_events(events, stored)
        rows, states = self._split(out)
        hours = stats.hour_counts(placed, {j: d["seq"] for j, d in stored.items()})
        if generation == self.rebalances.generation:
            self.cache.put(out.jobs)
        return JobPlan(events, out, rows, states, presumed, hours)

    async def _write_planned_jobs(self, plan: JobPlan) -> bool:
        """Write folded job events: log lines, item states, items, then the jobs, so a
        batch cut short is folded again from the job rows it did not reach. Whether every
        job landed as folded.

        The writes of a job's item states and of its row are fenced (docs/design.md §15):
        each replaces what is stored only if the stored ``seq`` is not newer. A job whose
        item states are fenced off came late (another instance has written it since):
        neither its items nor its row are written."""
        out, rows = plan.out, plan.rows
        # The log, the item states and pages, and the charts' hour counts touch different
        # documents: written at once, FerretDB turns one into SQL while SQLite stores
        # another (12% more events/s catching up, docs/design.md §25). The rows come
        # after all three, so a batch cut short is folded again from the rows it did not
        # reach; the hour counts are fenced by the offsets they counted
        # (stats.HourCounts), so counting them again adds nothing.
        try:
            async with asyncio.TaskGroup() as group:
                if plan.hours:
                    group.create_task(self._count_hours(plan.hours))
                group.create_task(bulk.insert_new(self.db.job_log, list(out.log.values())))
                states_written = group.create_task(
                    self._write_items(out, plan.states, plan.presumed)
                )
        except ExceptionGroup as failed:
            # _write tells waiting for MongoDB from a value it refuses by the error itself
            raise _first_error(failed) from None
        stale = states_written.result()
        taken = await bulk.insert_new(self.db.jobs, [rows[j] for j in out.new_jobs])
        stale |= await bulk.replace_unless_newer(
            self.db.jobs, [r for j, r in rows.items() if j not in out.new_jobs | stale]
        )
        self._forget_stale(out, stale)
        if taken:
            # A replay of jobs already projected: fold them again from what is stored.
            again = {d["_id"] for d in taken}
            self.cache.forget(again)
            redo = await self._write_jobs_known(
                [e for e in plan.events if e.job_id in again],
                await self._read_jobs(list(again)),
            )
            out.jobs.update(redo.jobs)
        return not stale and not taken

    async def _count_hours(self, counts: dict[str, stats.HourCounts]) -> None:
        # A document this projector has not counted into since its partitions were
        # assigned is mostly one of an hour new to it: it is inserted whole, and only if
        # it exists after all is it read (one lookup by `_id`) and updated. Looking each
        # one up first, then upserting, cost a catch-up 5-9% of its events/s
        # (docs/design.md §25).
        through = self.hours.known(counts)
        counted: dict[str, int] = {}
        try:
            fresh = [hour.document() for doc_id, hour in counts.items() if doc_id not in through]
            taken = {d["_id"] for d in await bulk.insert_new(self.db.job_hours, fresh)}
            counted.update({d["_id"]: d["offset"] for d in fresh if d["_id"] not in taken})
            if taken:
                stored = await bulk.find_by_ids(self.db.job_hours, list(taken), {"offset": 1})
                through.update({doc_id: -1 for doc_id in taken})  # gone again meanwhile
                through.update({d["_id"]: d.get("offset", -1) for d in stored})
            ops = []
            for doc_id, offset in through.items():
                counted[doc_id] = offset
                update = counts[doc_id].update(offset)
                if update is not None:
                    ops.append(UpdateOne({"_id": doc_id}, update, upsert=True))
                    counted[doc_id] = update["$max"]["offset"]
            await bulk.run_chunked(self.db.job_hours, ops)
        except BaseException:
            # Some of the updates may have landed: what is stored is read again next time.
            self.hours.forget(counts)
            raise
        self.hours.put(counted)

    async def _prune_stats(self) -> None:
        """Drop chart data past its span, at most once per ``stats.PRUNE_EVERY`` (a range
        of the ``at`` / ``hour`` indexes). A pruning that fails waits for the next one:
        it is no reason to hold the batch back."""
        now = datetime.now(UTC)
        if self.pruned_at is not None and now - self.pruned_at < stats.PRUNE_EVERY:
            return
        self.pruned_at = now
        kept = timedelta(hours=stats.QUOTA_HISTORY_HOURS)
        try:
            await _prune(self.db.quota_history, {"at": {"$lt": now - kept}})
            await _prune(self.db.job_hours, {"hour": {"$lt": now - stats.JOB_HOURS_KEPT}})
        except PyMongoError as exc:
            PRUNE_FAILURES.inc()
            log.warning(
                "pruning the charts' old data failed (%s: %s); tried again in %s",
                type(exc).__name__,
                str(exc)[:300],
                stats.PRUNE_EVERY,
            )

    async def _write_jobs_known(self, events: list[JobEvent], stored: dict[str, Doc]) -> JobWrites:
        out = fold_job_events(events, stored)
        rows, states = self._split(out)
        stale = await self._write_items(out, states, presumed=set())
        stale |= await bulk.put_unless_newer(
            self.db.jobs,
            [r for j, r in rows.items() if j in out.new_jobs and j not in stale],
            [r for j, r in rows.items() if j not in out.new_jobs and j not in stale],
        )
        self._forget_stale(out, stale)
        return out

    async def _write_items(
        self, out: JobWrites, states: dict[str, Doc], presumed: set[str]
    ) -> set[str]:
        """Write the batch's item states, then its pages of items; return the jobs whose
        stored states are newer (fenced off: neither their pages nor their rows are
        written). What belongs to ``presumed``-new jobs is only inserted: if such a job
        exists after all, what exists of it holds a state at least as new as this batch's."""
        await bulk.insert_new(self.db.job_state, [states[j] for j in out.new_jobs & presumed])
        fenced = await bulk.put_unless_newer(
            self.db.job_state,
            [states[j] for j in out.new_jobs - presumed],
            [states[j] for j in out.states_changed - out.new_jobs],
        )
        pages = [p for p in out.pages.values() if p.job_id not in fenced]
        await bulk.insert_new(
            self.db.job_item_pages, [p.document([]) for p in pages if p.job_id in presumed]
        )
        await self._write_pages([p for p in pages if p.job_id not in presumed])
        return fenced

    async def _write_pages(self, pages: list[PageWrite]) -> None:
        """Write changed pages of items whole: a page the batch does not rewrite entirely
        is read first (by ``_id``, one index lookup) for the rows it keeps."""
        new: list[Doc] = []
        known: list[Doc] = []
        for page in pages:
            kept: list[Doc] = []
            if not page.covers_stored:
                stored = await self.db.job_item_pages.find_one({"_id": page.id})
                kept = list((stored or {}).get("items") or [])
            (known if page.stored else new).append(page.document(kept))
        await bulk.put(self.db.job_item_pages, new, known)

    def _forget_stale(self, out: JobWrites, stale: set[str]) -> None:
        """Jobs MongoDB holds newer than this batch made them: this batch came late (its
        partition has moved on); they are read back the next time, not cached."""
        if not stale:
            return
        log.warning(
            "a late batch left %d job(s) as they were: MongoDB holds newer states",
            len(stale),
            extra={"job_ids": sorted(stale)[:10]},
        )
        for job_id in stale:
            out.jobs.pop(job_id, None)
        self.cache.forget(stale)

    @staticmethod
    def _split(out: JobWrites) -> tuple[dict[str, Doc], dict[str, Doc]]:
        rows: dict[str, Doc] = {}
        states: dict[str, Doc] = {}
        for job_id, job in out.jobs.items():
            rows[job_id], states[job_id] = split_job(job)
        return rows, states

    async def _read_jobs(self, job_ids: list[str]) -> dict[str, Doc]:
        if not job_ids:
            return {}
        JOB_READS.inc(len(job_ids))
        query = {"_id": {"$in": job_ids}}
        states = {d["_id"]: d async for d in self.db.job_state.find(query)}
        return {d["_id"]: join_job(d, states.get(d["_id"])) async for d in self.db.jobs.find(query)}

    async def _write_records(self, collection: str, writes: list[Upsert | Delete]) -> None:
        coll = self.db[collection]
        await bulk.put(coll, [w.doc for w in writes if isinstance(w, Upsert)], [])
        deletes = [DeleteOne({"_id": w.doc_id}) for w in writes if isinstance(w, Delete)]
        await bulk.run_chunked(coll, deletes)


async def _prune(collection: bulk.Collection, query: dict[str, Any]) -> None:
    """Delete what ``query`` matches, PRUNE_BATCH documents a command, at most
    PRUNE_ROUNDS commands (the rest at the next pruning). FerretDB deletes by ids, one SQL
    variable each, and SQLite takes 32,766: after a catch-up through months of history,
    one ``delete_many`` of every hour past the span failed, every minute, and nothing old
    went."""
    for _ in range(PRUNE_ROUNDS):
        found = collection.find(query, {"_id": 1}).limit(PRUNE_BATCH)
        ids = [doc["_id"] async for doc in found]
        if ids:
            await collection.delete_many({"_id": {"$in": ids}})
        if len(ids) < PRUNE_BATCH:
            return


async def main(stop: asyncio.Event) -> None:
    """The projector deployed on its own: health on HEALTH_PORT as every worker serves it
    (``/healthz``, ``/readyz``, ``/metrics``); a projector task that dies stops the
    process with exit 1 (docs/design.md §17)."""
    from shared.kafka.producer import make_producer
    from shared.mongo import get_database, make_mongo_client

    settings = ApiSettings()
    await ensure_topics(settings.kafka_bootstrap_servers, settings=settings)
    client = make_mongo_client(settings.mongo_url)
    producer = make_producer(settings.kafka_bootstrap_servers, client_id="projector")
    await producer.start()
    health = HealthServer(settings.health_port)
    try:
        projector = Projector(
            settings, get_database(client, settings.mongo_url), EventPublisher(producer)
        )
        # Ready (/readyz) once it has written everything published before it started.
        READINESS.require("projector caught up", projector.caught_up.is_set)
        port = await health.start()
        log.info("projector started", extra={"event": "start", "health_port": port})
        parts = Supervisor(stop)  # the projector ending by itself has crashed: exit 1
        running = parts.spawn("projector", projector.run(stop))
        try:
            await parts.wait()
        finally:
            stop.set()
            await asyncio.gather(running, return_exceptions=True)
    finally:
        await health.stop()
        await producer.stop()
        await client.close()


if __name__ == "__main__":
    from shared.service import run_service

    run_service("projector", ApiSettings(), main)
