"""A consumer loop with at-least-once delivery and no poison messages (docs/design.md §12).

Offsets are committed only after a batch's effects are published. A message that cannot
be decoded, or whose handling fails in a way that cannot pass, goes to
``amazon.dead-letters`` with the reason at once; a failure that may pass (Kafka or the
network) is retried a bounded number of times, then dead-lettered. A letter that cannot be
written either is skipped (``dead_letters_failed_total``) and its offset committed like
the others: no message can stop the loop, nor stop it again after a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError, KafkaError, KafkaTimeoutError
from prometheus_client import Counter

from shared.codec import DecodeError, decode
from shared.events import Event
from shared.kafka.dead_letters import letter_for_record, send_dead_letter
from shared.kafka.lag import LagMeter
from shared.kafka.producer import EventPublisher
from shared.topics import BY_NAME

log = logging.getLogger(__name__)

COMMIT_FAILURES = Counter(
    "consumer_commit_failures_total",
    "Offset commits refused because the group rebalanced; the next commit covers them",
    ["consumer_group"],
)


class RejectMessage(Exception):
    """Raised by a handler for a message that will never succeed; it is dead-lettered."""


def may_pass(exc: BaseException) -> bool:
    """Whether trying the same message again could succeed: Kafka or the network failed.

    Anything else (RejectMessage, DecodeError, a ValidationError, MessageTooLarge, and
    ValueError, TypeError, KeyError… raised on the message's data) fails the same way
    every time, so retrying would only hold back the messages behind it."""
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(exc, KafkaTimeoutError)
    return isinstance(exc, ConnectionError | TimeoutError | OSError)


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: str | None
    event: Event | None  # None for a tombstone on a compacted topic
    record: ConsumerRecord


BatchHandler = Callable[[list[Message]], Awaitable[None]]
MessageHandler = Callable[[Message], Awaitable[None]]


class ConsumerLoop:
    """Consume as ``group_id``; call ``handler`` per message or ``batch_handler`` per batch.

    A failing batch is retried message by message, so one bad message cannot hold back
    the others of its batch.
    """

    def __init__(
        self,
        *,
        consumer: AIOKafkaConsumer,
        publisher: EventPublisher,
        group_id: str,
        handler: MessageHandler | None = None,
        batch_handler: BatchHandler | None = None,
        max_attempts: int = 5,
        dead_letter_attempts: int = 3,
        retry_delay_s: float = 0.5,
        batch_timeout_ms: int = 200,
        max_records: int = 500,
        heartbeat: Callable[[], None] | None = None,  # called once per poll (liveness, §8)
    ) -> None:
        self.consumer = consumer
        self.publisher = publisher
        self.group_id = group_id
        if (handler is None) == (batch_handler is None):
            raise ValueError("give exactly one of handler and batch_handler")
        self.handler = handler
        self.batch_handler = batch_handler
        self.max_attempts = max_attempts
        self.dead_letter_attempts = dead_letter_attempts
        self.retry_delay_s = retry_delay_s
        self.batch_timeout_ms = batch_timeout_ms
        self.max_records = max_records
        self.heartbeat = heartbeat
        self.processed = 0
        self.dead_lettered = 0
        self.skipped = 0  # neither processed nor dead-lettered: the letter failed too
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        lag = LagMeter(self.consumer, self.group_id)
        while not self._stopping.is_set():
            batches = await self.consumer.getmany(
                timeout_ms=self.batch_timeout_ms, max_records=self.max_records
            )
            if self.heartbeat is not None:
                self.heartbeat()
            lag.observe()
            if not batches:
                continue
            for records in batches.values():
                await self.process(records)
            await self.commit()

    async def commit(self) -> bool:
        """Commit the consumed positions; False when a rebalance refused it.

        After a rebalance the partitions' new owner reads from the last committed offsets
        (at-least-once), and this instance's next commit covers what it still owns."""
        try:
            await self.consumer.commit()
        except CommitFailedError:
            COMMIT_FAILURES.labels(self.group_id).inc()
            log.warning(
                "commit refused: the group rebalanced meanwhile; the partitions' owner "
                "reads on from the last committed offsets",
                extra={"group": self.group_id},
            )
            return False
        return True

    async def process(self, records: list[ConsumerRecord]) -> None:
        good: list[Message] = []
        for rec in records:
            key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
            spec = BY_NAME.get(rec.topic)
            if rec.value is None and spec is not None and spec.compacted:
                good.append(Message(rec.topic, rec.partition, rec.offset, key, None, rec))
                continue
            try:
                allowed = spec.event_types if spec is not None and spec.event_types else None
                event = decode(rec.value, allowed)
            except DecodeError as exc:
                await self._dead_letter(rec, str(exc))
                continue
            except Exception as exc:  # the codec promises DecodeError; a bug must not stop us
                log.exception("decode raised %s", type(exc).__name__)
                await self._dead_letter(rec, f"undecodable: {type(exc).__name__}: {exc}")
                continue
            good.append(Message(rec.topic, rec.partition, rec.offset, key, event, rec))
        if not good:
            return
        if self.batch_handler is not None:
            try:
                await self.batch_handler(good)
                self.processed += len(good)
                return
            except RejectMessage:
                pass  # isolate the culprit below
            except Exception:
                log.exception("batch failed; retrying message by message", extra={"n": len(good)})
        for msg in good:
            await self._process_one(msg)

    async def _process_one(self, msg: Message) -> None:
        for attempt in range(1, self.max_attempts + 1):
            try:
                if self.handler is not None:
                    await self.handler(msg)
                else:
                    assert self.batch_handler is not None
                    await self.batch_handler([msg])
                self.processed += 1
                return
            except RejectMessage as exc:
                await self._dead_letter(msg.record, str(exc) or "rejected by handler")
                return
            except Exception as exc:
                if not may_pass(exc):
                    log.warning(
                        "handler failed for good",
                        extra={"topic": msg.topic, "offset": msg.offset},
                        exc_info=True,
                    )
                    await self._dead_letter(msg.record, f"{type(exc).__name__}: {exc}")
                    return
                if attempt == self.max_attempts:
                    await self._dead_letter(
                        msg.record,
                        f"handler failed {attempt} times: {type(exc).__name__}: {exc}",
                    )
                    return
                log.warning(
                    "handler failed; will retry",
                    extra={"topic": msg.topic, "offset": msg.offset, "attempt": attempt},
                    exc_info=True,
                )
                await asyncio.sleep(self.retry_delay_s * 2 ** (attempt - 1))

    async def _dead_letter(self, rec: ConsumerRecord, reason: str) -> None:
        """Dead-letter ``rec``; if even that fails, skip it (send_dead_letter logs and
        counts it): its offset is committed with the batch all the same."""
        letter = letter_for_record(rec, reason, self.group_id)
        if await send_dead_letter(
            self.publisher,
            letter,
            attempts=self.dead_letter_attempts,
            retry_delay_s=self.retry_delay_s,
        ):
            self.dead_lettered += 1
        else:
            self.skipped += 1
