"""The producer every service uses: idempotent, acks from all replicas, events encoded once."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from shared.codec import encode
from shared.events import Event
from shared.kafka.clients import new_producer
from shared.kafka.security import KafkaSecuritySettings
from shared.limits import BROKER_MESSAGE_BYTES, MAX_MESSAGE_BYTES
from shared.signing import Signer
from shared.topics import TopicSpec
from shared.tracing import current_headers

# What a record batch adds to its one record: batch header, record framing, key, headers.
BATCH_OVERHEAD_BYTES = 16 * 1024
# Compression of every producer (faust's too): job events and item chunks are repetitive
# JSON, which zstd shrinks several-fold at little CPU. Consumers need cramjam (a dependency).
COMPRESSION = "zstd"
# The largest request a producer sends: one message as large as a topic accepts
# (max.message.bytes) in its batch. Our own events stay under MAX_MESSAGE_BYTES; this lets
# a replayed foreign message of up to the broker's bound go back out.
MAX_REQUEST_BYTES = BROKER_MESSAGE_BYTES + BATCH_OVERHEAD_BYTES


class MessageTooLarge(ValueError):
    """An event that encodes to more than the message bound: a bug in whoever built it
    (item lists go in chunks), never something to retry."""

    def __init__(self, topic: str, event: Event, size: int) -> None:
        super().__init__(
            f"{event.event_type} for {topic} is {size} bytes, over the bound of "
            f"{MAX_MESSAGE_BYTES} (see shared.chunking)"
        )
        self.topic = topic
        self.size = size


def encode_bounded(topic: str, event: Event) -> bytes:
    """The event's bytes, or MessageTooLarge naming it."""
    value = encode(event)
    if len(value) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(topic, event, len(value))
    return value


def make_producer(
    bootstrap_servers: str, client_id: str, security: KafkaSecuritySettings | None = None
) -> AIOKafkaProducer:
    return new_producer(
        bootstrap_servers,
        security,
        client_id=client_id,
        enable_idempotence=True,  # a retried send is not written twice
        acks="all",
        linger_ms=5,  # small batches: latency matters more than throughput here
        compression_type=COMPRESSION,
        max_request_size=MAX_REQUEST_BYTES,
        # aiokafka's 16 KiB batches (one in flight per partition) let a burst of small
        # events (20,000 token requests) queue faster than it drains, and the sends time
        # out. A batch of at most one message bound stays under the topics' 1 MiB however
        # it compresses.
        max_batch_size=MAX_MESSAGE_BYTES,
    )


class EventPublisher:
    """Sends events to declared topics; ``publish`` returns once the broker has them.

    Every record carries the trace context current when it is sent (W3C ``traceparent``
    in its headers; none without a current span), so its consumer continues the trace."""

    def __init__(self, producer: AIOKafkaProducer, signer: Signer | None = None) -> None:
        self.producer = producer
        # Signs ingress events and account records (shared/signing.py); None: unsigned.
        self.signer = signer

    def _headers(
        self, topic: str, key: bytes | None, value: bytes | None, event: Event | None
    ) -> list[tuple[str, bytes]] | None:
        # The trace context current at the send (none without a span), then the signature.
        headers = current_headers() or []
        if self.signer is not None:
            shop_id = getattr(event, "shop_id", None)
            headers.extend(self.signer.headers(topic, key, value, shop_id))
        return headers or None

    async def publish(self, topic: TopicSpec, key: str | None, event: Event) -> None:
        value = encode_bounded(topic.name, event)
        raw_key = key.encode("utf-8") if key is not None else None
        await self.producer.send_and_wait(
            topic.name,
            value,
            key=raw_key,
            headers=self._headers(topic.name, raw_key, value, event),
        )

    async def publish_many(self, items: list[tuple[TopicSpec, str | None, Event]]) -> None:
        """Send several events and wait for all; order per key is kept by the producer.

        Every event is encoded (and checked against the bound) before the first is sent,
        so an oversized one sends none of them."""
        encoded = [
            (t.name, encode_bounded(t.name, e), k.encode("utf-8") if k is not None else None, e)
            for t, k, e in items
        ]
        futures = [
            await self.producer.send(
                name, value, key=k, headers=self._headers(name, k, value, event)
            )
            for name, value, k, event in encoded
        ]
        for fut in futures:
            await fut

    async def publish_table(
        self, topic: TopicSpec, records: Sequence[tuple[str, Event | None]]
    ) -> None:
        """Values and tombstones (None) of one compacted topic, sent together and each
        confirmed; every value is encoded before the first is sent, as in ``publish_many``."""
        encoded = [
            (
                key.encode("utf-8"),
                encode_bounded(topic.name, value) if value is not None else None,
                value,
            )
            for key, value in records
        ]
        futures = [
            await self.producer.send(
                topic.name, raw, key=key, headers=self._headers(topic.name, key, raw, event)
            )
            for key, raw, event in encoded
        ]
        for fut in futures:
            await fut

    async def publish_raw(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        await self.producer.send_and_wait(topic, value, key=key, headers=current_headers())
