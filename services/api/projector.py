"""The projector: the one writer of MongoDB. Folds the topics into the read model.

Runs inside ``python -m services.api`` (unless API_RUN_PROJECTOR=false) or alone as
``python -m services.api.projector``, with its own consumer group so it scales apart from
the HTTP workers. Offsets are committed only after a batch is written: while MongoDB is
down it waits and retries, and loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import defaultdict
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from prometheus_client import Counter, Histogram
from pymongo import DeleteOne, ReplaceOne, UpdateOne
from pymongo.errors import PyMongoError

from services.api.projection import Delete, Upsert, fold_job_events, item_id, record_write
from services.api.settings import ApiSettings
from services.api.store import Database, ensure_indexes
from shared.codec import DecodeError, decode
from shared.events import Event, JobEvent
from shared.kafka.dead_letters import dead_letter_for, send_dead_letter
from shared.kafka.producer import EventPublisher
from shared.registry import all_event_types
from shared.topics import (
    ACCOUNTS,
    BY_NAME,
    DEAD_LETTERS,
    INVENTORY,
    JOB_EVENTS,
    LISTINGS,
    ORDERS,
    THROTTLE_SNAPSHOTS,
)

log = logging.getLogger(__name__)
TOPICS = [JOB_EVENTS, LISTINGS, INVENTORY, ORDERS, ACCOUNTS, DEAD_LETTERS, THROTTLE_SNAPSHOTS]

APPLIED = Counter("projector_events_applied_total", "Events written to MongoDB", ["topic"])
BATCH_SECONDS = Histogram("projector_batch_seconds", "Time to write one batch to MongoDB")
MONGO_ERRORS = Counter("projector_mongo_errors_total", "Batches retried because MongoDB failed")

all_event_types()  # every event type known to the decoder, the throttle's snapshots too


class Projector:
    def __init__(self, settings: ApiSettings, db: Database, publisher: EventPublisher) -> None:
        self.settings = settings
        self.db = db
        self.publisher = publisher
        self.caught_up = asyncio.Event()
        self.applied = 0

    async def run(self, stop: asyncio.Event) -> None:
        await self._until_mongo(lambda: ensure_indexes(self.db), stop)
        consumer = AIOKafkaConsumer(
            *[t.name for t in TOPICS],
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.settings.consumer_group,
            client_id=f"{self.settings.consumer_group}-{self.settings.instance_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=600_000,
        )
        await consumer.start()
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=300, max_records=2000)
                if not batches:
                    self.caught_up.set()
                    continue
                records = [r for recs in batches.values() for r in recs]
                await self._until_mongo(functools.partial(self._apply, records), stop)
                if stop.is_set():
                    break  # not written: do not commit; the next instance reads it again
                await consumer.commit()
        finally:
            await consumer.stop()

    async def _until_mongo(self, work: Any, stop: asyncio.Event) -> None:
        """Run ``work`` until MongoDB takes it; back off while it is unavailable."""
        delay = 0.5
        while not stop.is_set():
            try:
                await work()
                return
            except PyMongoError as exc:
                MONGO_ERRORS.inc()
                log.warning(
                    "MongoDB unavailable; will retry",
                    extra={"error": str(exc)[:200], "retry_in_s": delay},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 10.0)

    async def _apply(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        with BATCH_SECONDS.time():
            job_events: list[JobEvent] = []
            writes: dict[str, list[Any]] = defaultdict(list)
            for rec in records:
                readable, event = await self._decode(rec)
                if not readable:
                    continue
                if isinstance(event, JobEvent):
                    job_events.append(event)
                    continue
                key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
                write = record_write(rec.topic, key, event, rec.partition, rec.offset)
                if isinstance(write, Upsert):
                    writes[write.collection].append(
                        ReplaceOne({"_id": write.doc["_id"]}, write.doc, upsert=True)
                    )
                elif isinstance(write, Delete):
                    writes[write.collection].append(DeleteOne({"_id": write.doc_id}))
            if job_events:
                await self._apply_jobs(job_events, writes)
            for collection, ops in writes.items():
                if ops:
                    await self.db[collection].bulk_write(ops, ordered=True)
            for rec in records:
                APPLIED.labels(rec.topic).inc()
            self.applied += len(records)

    async def _decode(self, rec: ConsumerRecord[bytes, bytes]) -> tuple[bool, Event | None]:
        """(readable, the record's event or None for a tombstone)."""
        spec = BY_NAME.get(rec.topic)
        if rec.value is None:
            return True, None
        try:
            allowed = spec.event_types if spec and spec.event_types else None
            return True, decode(rec.value, allowed)
        except DecodeError as exc:
            if rec.topic == DEAD_LETTERS.name:  # never dead-letter into itself
                log.error("unreadable dead letter skipped", extra={"offset": rec.offset})
            else:
                letter = dead_letter_for(
                    topic=rec.topic,
                    partition=rec.partition,
                    offset=rec.offset,
                    key=rec.key,
                    value=rec.value,
                    error=str(exc),
                    consumer_group=self.settings.consumer_group,
                )
                await send_dead_letter(self.publisher, letter)
            return False, None

    async def _apply_jobs(self, events: list[JobEvent], writes: dict[str, list[Any]]) -> None:
        job_ids = list({e.job_id for e in events})
        stored = {d["_id"]: d async for d in self.db.jobs.find({"_id": {"$in": job_ids}})}
        touched = list({item_id(e.job_id, i.key) for e in events for i in e.items or []})
        statuses: dict[str, str] = {}
        for start in range(0, len(touched), 5000):
            async for doc in self.db.job_items.find(
                {"_id": {"$in": touched[start : start + 5000]}}, {"status": 1}
            ):
                statuses[doc["_id"]] = doc["status"]
        out = fold_job_events(events, stored, statuses)
        writes["jobs"].extend(
            ReplaceOne({"_id": j}, doc, upsert=True) for j, doc in out.jobs.items()
        )
        writes["job_items"].extend(
            ReplaceOne({"_id": i}, doc, upsert=True) for i, doc in out.items.items()
        )
        writes["job_log"].extend(
            UpdateOne({"_id": i}, {"$setOnInsert": doc}, upsert=True) for i, doc in out.log.items()
        )


async def main(stop: asyncio.Event) -> None:
    from shared.kafka.admin import ensure_topics
    from shared.kafka.producer import make_producer
    from shared.mongo import get_database, make_mongo_client

    settings = ApiSettings()
    await ensure_topics(settings.kafka_bootstrap_servers)
    client = make_mongo_client(settings.mongo_url)
    producer = make_producer(settings.kafka_bootstrap_servers, client_id="projector")
    await producer.start()
    try:
        projector = Projector(
            settings, get_database(client, settings.mongo_url), EventPublisher(producer)
        )
        await projector.run(stop)
    finally:
        await producer.stop()
        await client.close()


if __name__ == "__main__":
    from shared.service import run_service

    run_service("projector", ApiSettings(), main)
