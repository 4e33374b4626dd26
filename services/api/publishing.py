"""What the HTTP handlers publish, bounded in time.

aiokafka waits up to its request timeout (40 s) for a broker that does not answer; an API
call should not hang that long. Past ``timeout_s`` the request fails with
:class:`BusUnavailable`, which the API answers as a 503 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio

from aiokafka.structs import RecordMetadata

from shared.events import Event
from shared.kafka.producer import EventPublisher
from shared.topics import TopicSpec


class BusUnavailable(Exception):
    """Kafka did not confirm a message in time (or refused it). It may still be delivered
    later: only a caller that retries with the same ids stays exactly-once."""


def _unconfirmed(topic: str, exc: Exception) -> BusUnavailable:
    return BusUnavailable(
        f"Kafka did not confirm the message to {topic} in time ({type(exc).__name__}); "
        "it may still be delivered, so a retry should repeat the same ids"
    )


class Publishing:
    def __init__(self, publisher: EventPublisher, timeout_s: float) -> None:
        self.publisher = publisher
        self.timeout_s = timeout_s

    async def publish(self, topic: TopicSpec, key: str, event: Event) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.publisher.publish(topic, key, event)
        except Exception as exc:
            raise _unconfirmed(topic.name, exc) from exc

    async def publish_raw(
        self, topic: str, key: bytes | None, value: bytes | None
    ) -> RecordMetadata:
        """Send bytes as they are (a dead letter's original), and say where they went."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.publisher.producer.send_and_wait(topic, value, key=key)
        except Exception as exc:
            raise _unconfirmed(topic, exc) from exc
