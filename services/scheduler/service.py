"""The scheduler's shell: reads its partitions of amazon.schedules, and each tick publishes
the job of every due slot, then the record that the slot ran (docs/design.md §20).

Offsets are never committed: on every assignment a partition is read again from its
start (a compacted topic of one record per schedule), so a restart or a rebalance always
starts from every schedule as it is. Publishing a slot twice is harmless by construction:
its job id is fixed, and the submitter drops a repeated one.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from prometheus_client import Counter

from services.scheduler.book import ScheduleBook
from services.scheduler.settings import SchedulerSettings
from shared.codec import DecodeError, decode
from shared.events import Event, utcnow
from shared.health import LIVENESS, READINESS, HealthServer
from shared.kafka.admin import ensure_topics
from shared.kafka.clients import new_consumer
from shared.kafka.lag import LagMeter
from shared.kafka.producer import EventPublisher, make_producer
from shared.kafka.tail import TopicTail
from shared.topics import JOB_REQUESTS, SCHEDULER_RUNS, SCHEDULES

log = logging.getLogger(__name__)

SLOTS_PUBLISHED = Counter(
    "scheduler_slots_published_total", "Jobs requested for schedule slots", ["job_type"]
)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, service: SchedulerService) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            self.service.book.revoked(tp.partition)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.service.assigned(assigned)


class SchedulerService:
    def __init__(self, settings: SchedulerSettings) -> None:
        self.settings = settings
        self.instance_id = settings.instance_id or f"scheduler-{socket.gethostname()}"
        self.book = ScheduleBook()
        self.consumer: AIOKafkaConsumer | None = None
        self.ready = False
        # Schedules are the system's to write (docs/design.md §22); none without a key.
        self.verifier = settings.verifier()

    async def assigned(self, assigned: set[TopicPartition]) -> None:
        assert self.consumer is not None
        if not assigned:
            return
        ends = await self.consumer.end_offsets(list(assigned))
        for tp in assigned:
            self.book.assigned(tp.partition, ends[tp])
        await self.consumer.seek_to_beginning(*assigned)
        log.info(
            "schedule partitions assigned",
            extra={"partitions": sorted(tp.partition for tp in assigned)},
        )

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        await ensure_topics(s.kafka_bootstrap_servers, settings=s)
        producer = make_producer(s.kafka_bootstrap_servers, client_id=self.instance_id)
        await producer.start()
        publisher = EventPublisher(producer, s.signer())
        runs = TopicTail(s.kafka_bootstrap_servers, SCHEDULER_RUNS, self.book.on_run)
        READINESS.require("scheduler runs read", lambda: runs.caught_up.is_set())
        health = HealthServer(s.health_port)
        port = await health.start()
        self.consumer = new_consumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=s.consumer_group,
            client_id=self.instance_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        heartbeat = LIVENESS.heartbeat("scheduler loop")
        try:
            await runs.start()
            await runs.wait_caught_up()
            await self.consumer.start()
            self.consumer.subscribe([SCHEDULES.name], listener=_Listener(self))
            lag = LagMeter(self.consumer, s.consumer_group)
            log.info("scheduler ready", extra={"instance": self.instance_id, "health_port": port})
            while not stop.is_set():
                batches = await self.consumer.getmany(timeout_ms=int(s.tick_s * 1000))
                heartbeat.beat()
                lag.observe()
                for tp, records in batches.items():
                    for rec in records:
                        refusal = self._refusal(rec)
                        if refusal is not None:
                            log.warning(
                                "refused record",
                                extra={
                                    "partition": tp.partition,
                                    "offset": rec.offset,
                                    "reason": refusal,
                                },
                            )
                            continue
                        await self._fold(publisher, tp.partition, rec.offset, rec.key, rec.value)
                for partition, end in list(self.book.catching_up.items()):
                    # The last offsets may have been compacted away: the position says.
                    tp = TopicPartition(SCHEDULES.name, partition)
                    if await self.consumer.position(tp) >= end:
                        self.book.caught_up(partition)
                await self._tick(publisher)
        finally:
            heartbeat.close()
            for closer in (health.stop, runs.stop, self.consumer.stop, producer.stop):
                try:
                    await closer()
                except Exception:  # stopping must go on whatever one part says
                    log.exception("error while stopping")

    def _refusal(self, rec: ConsumerRecord[bytes, bytes]) -> str | None:
        """Why a record of ``amazon.schedules`` is not the system's, or None: a shop
        writing there could have jobs made on another shop's accounts (docs/design.md §22)."""
        return self.verifier.record_refusal(rec) if self.verifier is not None else None

    async def _fold(
        self,
        publisher: EventPublisher,
        partition: int,
        offset: int,
        key_bytes: bytes | None,
        value: bytes | None,
    ) -> None:
        key = key_bytes.decode("utf-8", "replace") if key_bytes is not None else ""
        event: Event | None = None
        if value is not None:
            try:
                event = decode(value, SCHEDULES.event_types)
            except DecodeError as exc:
                # The API is the topic's only writer; a record it did not write is skipped.
                log.warning(
                    "skipped undecodable schedule",
                    extra={"partition": partition, "offset": offset, "reason": str(exc)},
                )
                return
        if self.book.on_schedule(partition, offset, key, event):
            # A deleted schedule's run record goes too, so the topic does not keep it.
            await publisher.publish_raw(SCHEDULER_RUNS.name, key.encode(), None)
            self.book.runs.pop(key, None)

    async def _tick(self, publisher: EventPublisher) -> None:
        for request, ran in self.book.due(utcnow(), self.settings.time_scale):
            # The job first: a crash before the run record publishes the same job id again,
            # which the submitter drops.
            await publisher.publish(JOB_REQUESTS, request.job_id, request)
            await publisher.publish(SCHEDULER_RUNS, ran.schedule_id, ran)
            self.book.on_run(ran.schedule_id, ran)
            SLOTS_PUBLISHED.labels(request.job_type.value).inc()
            log.info(
                "schedule slot requested",
                extra={
                    "schedule_id": ran.schedule_id,
                    "slot": ran.slot,
                    "job_id": request.job_id,
                    "shop_id": request.shop_id,
                },
            )
