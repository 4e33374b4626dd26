"""The notifier's shell (docs/design.md §21): turns finished jobs into webhook deliveries
and makes their attempts.

- Every webhook (amazon.webhooks) and every delivery not yet done (its own compacted
  amazon.internal.notifier-deliveries) are read whole into memory by every instance.
- amazon.job-events is read in a consumer group: a batch's new deliveries are written
  to the deliveries topic before its offsets are committed (at least once: a crash in
  between makes the same deliveries again, with the same ids).
- Each tick, the deliveries due on the partitions this instance owns are attempted; each
  attempt is logged on amazon.webhook-deliveries, then the delivery's next state (or its
  tombstone) written. A crash between the two repeats the attempt: a receiver may get a
  delivery twice, and dedupes on its id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import httpx
from aiokafka import ConsumerRebalanceListener, TopicPartition
from prometheus_client import Counter

from services.notifier.book import DeliveryBook, after_attempt
from services.notifier.sending import attempt
from services.notifier.settings import NotifierSettings
from shared.crypto import CredentialsError, open_secret
from shared.events import JobEvent, utcnow
from shared.health import LIVENESS, READINESS, HealthServer
from shared.kafka.admin import ensure_topics
from shared.kafka.clients import new_consumer
from shared.kafka.consumer import ConsumerLoop, Message
from shared.kafka.producer import EventPublisher, make_producer
from shared.kafka.tail import TopicTail
from shared.supervisor import supervise
from shared.topics import JOB_EVENTS, NOTIFIER_DELIVERIES, WEBHOOK_DELIVERIES, WEBHOOKS
from shared.webhooks import WebhookDelivery, event_name

log = logging.getLogger(__name__)

ATTEMPTS = Counter("notifier_attempts_total", "Webhook delivery attempts by outcome", ["outcome"])
DELIVERIES_MADE = Counter("notifier_deliveries_total", "Webhook deliveries made", ["event"])


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, book: DeliveryBook) -> None:
        self.book = book

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Attempts in flight finish; the new owner may repeat one (at least once).
        self.book.owned -= {tp.partition for tp in revoked}

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.book.owned |= {tp.partition for tp in assigned}


class NotifierService:
    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings
        self.instance_id = settings.instance_id or f"notifier-{socket.gethostname()}"
        self.book = DeliveryBook()
        self.publisher: EventPublisher | None = None
        self.webhooks: TopicTail | None = None
        self._attempts: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        await ensure_topics(s.kafka_bootstrap_servers, settings=s)
        producer = make_producer(s.kafka_bootstrap_servers, client_id=self.instance_id)
        await producer.start()
        self.publisher = publisher = EventPublisher(producer, s.signer())
        verifier = s.verifier() if (s.signing_key or s.secret_key) else None
        self.webhooks = webhooks = TopicTail(
            s.kafka_bootstrap_servers,
            WEBHOOKS,
            self.book.on_webhook,
            # Only the system defines webhooks: one a shop wrote naming another shop
            # would receive that shop's jobs (docs/design.md §22).
            admit=(
                (lambda r: verifier.system_refusal(r.topic, r.key, r.value, r.headers))
                if verifier is not None
                else None
            ),
        )
        deliveries = TopicTail(
            s.kafka_bootstrap_servers, NOTIFIER_DELIVERIES, self.book.on_delivery
        )
        READINESS.require("webhooks read", lambda: webhooks.caught_up.is_set())
        READINESS.require("deliveries read", lambda: deliveries.caught_up.is_set())
        health = HealthServer(s.health_port)
        port = await health.start()
        consumer = new_consumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=s.consumer_group,
            client_id=self.instance_id,
            enable_auto_commit=False,
            # A new group reads the history; receives() skips what preceded each webhook.
            auto_offset_reset="earliest",
        )
        heartbeat = LIVENESS.heartbeat("notifier job events")
        loop = ConsumerLoop(
            consumer=consumer,
            publisher=publisher,
            group_id=s.consumer_group,
            batch_handler=self._on_job_events,
            heartbeat=heartbeat,
        )
        http = httpx.AsyncClient(timeout=s.timeout_s, follow_redirects=False)
        try:
            await webhooks.start()
            await deliveries.start()
            await webhooks.wait_caught_up()
            await deliveries.wait_caught_up()
            await consumer.start()
            consumer.subscribe([JOB_EVENTS.name], listener=_Listener(self.book))
            supervise("notifier deliveries", self._deliver(http, stop))
            log.info("notifier ready", extra={"instance": self.instance_id, "health_port": port})
            consuming = supervise("notifier job events", loop.run(), until=stop)
            await stop.wait()
            loop.stop()
            await asyncio.wait({consuming}, timeout=s.stop_timeout_s / 2)
        finally:
            heartbeat.close()
            for closer in (
                health.stop,
                webhooks.stop,
                deliveries.stop,
                consumer.stop,
                http.aclose,
                producer.stop,
            ):
                try:
                    await closer()
                except Exception:  # stopping must go on whatever one part says
                    log.exception("error while stopping")

    async def _on_job_events(self, messages: list[Message]) -> None:
        """Make the deliveries of the jobs that finished in a batch."""
        assert self.publisher is not None and self.webhooks is not None
        finished = [m for m in messages if isinstance(m.event, JobEvent) and event_name(m.event)]
        if not finished:
            return
        # A webhook made just before the job finished may not have been read yet.
        await self.webhooks.sync()
        made: list[WebhookDelivery] = []
        for msg in finished:
            assert msg.event is not None
            made.extend(self.book.deliveries_for(msg.event, msg.partition))
        if not made:
            return
        await self.publisher.publish_many([(NOTIFIER_DELIVERIES, d.delivery_id, d) for d in made])
        for delivery in made:
            self.book.keep(delivery)
            DELIVERIES_MADE.labels(delivery.event).inc()

    async def _deliver(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        """Start the attempts that are due, every tick."""
        heartbeat = LIVENESS.heartbeat("notifier deliveries")
        try:
            while not stop.is_set():
                heartbeat.beat()
                room = self.settings.concurrency - len(self.book.in_flight)
                for delivery in self.book.due(utcnow(), room):
                    self.book.in_flight.add(delivery.delivery_id)
                    task = asyncio.create_task(self._attempt(http, delivery))
                    self._attempts.add(task)
                    task.add_done_callback(self._attempts.discard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.tick_s)
        finally:
            heartbeat.close()

    async def _attempt(self, http: httpx.AsyncClient, delivery: WebhookDelivery) -> None:
        assert self.publisher is not None
        try:
            webhook = self.book.webhooks.get(delivery.webhook_id)
            if webhook is None:  # deleted: nothing more is sent to it
                await self.publisher.publish_raw(
                    NOTIFIER_DELIVERIES.name, delivery.delivery_id.encode(), None
                )
                self.book.finish(delivery.delivery_id)
                return
            status: int | None
            error: str | None
            try:
                secret = open_secret(
                    self.settings.opening_keys,
                    webhook.secret,
                    bound_to=f"webhook:{webhook.webhook_id}",
                )
            except CredentialsError as exc:
                status, error = None, f"not sent: {exc}"
            else:
                status, error = await attempt(
                    http, webhook.url, delivery, secret, self.settings.allow_private_urls
                )
            record, following = after_attempt(
                delivery, status, error, utcnow(), self.settings.time_scale
            )
            # The log first: a crash before the next state repeats the attempt, and the
            # repeated record is the same row of the log.
            await self.publisher.publish(WEBHOOK_DELIVERIES, delivery.delivery_id, record)
            if following is None:
                await self.publisher.publish_raw(
                    NOTIFIER_DELIVERIES.name, delivery.delivery_id.encode(), None
                )
                self.book.finish(delivery.delivery_id)
            else:
                await self.publisher.publish(NOTIFIER_DELIVERIES, delivery.delivery_id, following)
                self.book.keep(following)
            ATTEMPTS.labels(record.outcome).inc()
            log.info(
                "webhook delivery attempted",
                extra={
                    "delivery_id": delivery.delivery_id,
                    "webhook_id": delivery.webhook_id,
                    "job_id": delivery.job_id,
                    "attempt": record.attempt,
                    "status_code": status,
                    "outcome": record.outcome,
                },
            )
        except Exception:
            # Kafka refused the record: the delivery stays due and is tried again.
            log.exception(
                "webhook attempt not recorded", extra={"delivery_id": delivery.delivery_id}
            )
        finally:
            self.book.in_flight.discard(delivery.delivery_id)
