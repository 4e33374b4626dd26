"""What the HTTP handlers publish, bounded in time.

aiokafka waits up to its request timeout (40 s) for a broker that does not answer; an API
call should not hang that long. Past ``timeout_s`` the request fails with
:class:`BusUnavailable`, which the API answers as a 503 with ``Retry-After``.

Only what may pass is a 503: a broker that does not answer or refuses for now. An event
over the message bound (``MessageTooLarge``) or a record the broker finds too large is the
same on every retry, so it is raised as :class:`PayloadTooLarge` (a 422), never as a 503.
"""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaError, MessageSizeTooLargeError, RecordTooLargeError
from aiokafka.structs import RecordMetadata

from shared.events import Event
from shared.kafka.producer import EventPublisher
from shared.topics import TopicSpec

# The broker refuses these whatever the moment: retrying cannot help.
PERMANENT = (MessageSizeTooLargeError, RecordTooLargeError)
# The broker unreachable, slow or refusing for now: a retry may succeed.
TRANSIENT = (KafkaError, TimeoutError, OSError)


class BusUnavailable(Exception):
    """Kafka did not confirm a message in time (or refused it). It may still be delivered
    later: only a caller that retries with the same ids stays exactly-once."""


class PayloadTooLarge(ValueError):
    """Kafka refused a message for its size: permanent, a 422."""


def _unconfirmed(topic: str, exc: Exception) -> BusUnavailable:
    return BusUnavailable(
        f"Kafka did not confirm the message to {topic} in time ({type(exc).__name__}); "
        "it may still be delivered, so a retry should repeat the same ids"
    )


def _too_large(topic: str, exc: Exception) -> PayloadTooLarge:
    return PayloadTooLarge(f"Kafka refused the message to {topic} as too large ({exc})")


class Publishing:
    def __init__(self, publisher: EventPublisher, timeout_s: float) -> None:
        self.publisher = publisher
        self.timeout_s = timeout_s

    async def publish(self, topic: TopicSpec, key: str, event: Event) -> None:
        await self.publish_many(topic, key, [event])

    async def publish_many(self, topic: TopicSpec, key: str, events: list[Event]) -> None:
        """Send ``events`` under one key, in order, and wait for all; every one is checked
        against the message bound before the first is sent (MessageTooLarge)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.publisher.publish_many([(topic, key, e) for e in events])
        except PERMANENT as exc:
            raise _too_large(topic.name, exc) from exc
        except TRANSIENT as exc:
            raise _unconfirmed(topic.name, exc) from exc

    async def publish_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> RecordMetadata:
        """Send bytes as they are (a dead letter's original, with its own signature), and
        say where they went."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.publisher.producer.send_and_wait(
                    topic, value, key=key, headers=headers or None
                )
        except PERMANENT as exc:
            raise _too_large(topic, exc) from exc
        except TRANSIENT as exc:
            raise _unconfirmed(topic, exc) from exc
