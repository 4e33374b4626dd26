"""The producer every service uses: idempotent, acks from all replicas, events encoded once."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from shared.codec import encode
from shared.events import Event
from shared.topics import TopicSpec


def make_producer(bootstrap_servers: str, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,  # a retried send is not written twice
        acks="all",
        linger_ms=5,  # small batches: latency matters more than throughput here
        compression_type=None,
        max_request_size=4 * 1024 * 1024,
    )


class EventPublisher:
    """Sends events to declared topics; ``publish`` returns once the broker has them."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def publish(self, topic: TopicSpec, key: str | None, event: Event) -> None:
        await self.producer.send_and_wait(
            topic.name, encode(event), key=key.encode("utf-8") if key is not None else None
        )

    async def publish_many(self, items: list[tuple[TopicSpec, str | None, Event]]) -> None:
        """Send several events and wait for all; order per key is kept by the producer."""
        futures = [
            await self.producer.send(
                t.name, encode(e), key=k.encode("utf-8") if k is not None else None
            )
            for t, k, e in items
        ]
        for fut in futures:
            await fut

    async def publish_raw(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        await self.producer.send_and_wait(topic, value, key=key)
