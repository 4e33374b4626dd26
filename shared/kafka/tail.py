"""Follow a whole (usually compacted) topic from its start, without a consumer group.

Every instance of a service needs every account and every listing state, whatever
partitions it owns, so it reads these topics in full and keeps a table in memory. The
reading task is supervised: if it dies the table goes stale, so the service stops and is
restarted rather than run on (docs/design.md §17).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaTimeoutError

from shared.codec import DecodeError, decode
from shared.events import Event
from shared.kafka.clients import new_consumer
from shared.supervisor import supervise
from shared.topics import TopicSpec

log = logging.getLogger(__name__)

# A broker still writing a large burst (a million listings seeded at once) can leave a
# ListOffsets unanswered past the request timeout: asked again before the service gives up.
END_OFFSETS_ATTEMPTS = 5

# key, event (None for a tombstone)
TailHandler = Callable[[str, Event | None], None]


class TopicTail:
    def __init__(
        self,
        bootstrap_servers: str,
        topic: TopicSpec,
        handler: TailHandler,
        admit: Callable[[ConsumerRecord[bytes, bytes]], str | None] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.handler = handler
        # Why a record is refused (skipped), or None: who may write the topic.
        self.admit = admit
        self.caught_up = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        consumer = new_consumer(
            bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        partitions = [
            TopicPartition(self.topic.name, p)
            for p in sorted(consumer.partitions_for_topic(self.topic.name) or set())
        ] or [TopicPartition(self.topic.name, p) for p in range(self.topic.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await self._end_offsets(consumer, partitions)
        self._consumer = consumer
        self._task = supervise(f"{self.topic.name} reader", self._run(ends))

    async def _end_offsets(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        for attempt in range(1, END_OFFSETS_ATTEMPTS + 1):
            try:
                ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
                return ends
            except KafkaTimeoutError:
                if attempt == END_OFFSETS_ATTEMPTS:
                    raise
                log.warning(
                    "the broker did not say where %s ends in time; asking again (%d of %d)",
                    self.topic.name,
                    attempt + 1,
                    END_OFFSETS_ATTEMPTS,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    async def wait_caught_up(self, timeout_s: float = 60.0) -> None:
        await asyncio.wait_for(self.caught_up.wait(), timeout_s)

    async def sync(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything written to the topic before this call has been read;
        False if that took longer than ``timeout_s``."""
        assert self._consumer is not None
        partitions = list(self._consumer.assignment())
        ends = await self._consumer.end_offsets(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        for tp, end in ends.items():
            while await self._position(tp) < end:
                if loop.time() > deadline:
                    return False
                await asyncio.sleep(0.01)
        return True

    async def _position(self, tp: TopicPartition) -> int:
        assert self._consumer is not None
        position: int = await self._consumer.position(tp)
        return position

    async def _run(self, ends: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        pending = {tp for tp, end in ends.items() if end > 0}
        if not pending:
            self.caught_up.set()
        while True:
            batches = await self._consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for rec in records:
                    key = rec.key.decode("utf-8", "replace") if rec.key is not None else ""
                    refusal = self.admit(rec) if self.admit is not None else None
                    if refusal is not None:
                        # Not the writer this topic accepts (shared/signing.py): as if
                        # the record were not there.
                        log.error(
                            "refused record",
                            extra={"topic": tp.topic, "offset": rec.offset, "reason": refusal},
                        )
                    elif rec.value is None:
                        self.handler(key, None)
                    else:
                        try:
                            self.handler(key, decode(rec.value, self.topic.event_types or None))
                        except DecodeError as exc:
                            # The owner of the topic dead-letters it; readers only skip.
                            log.warning(
                                "skipped undecodable record",
                                extra={"topic": tp.topic, "offset": rec.offset, "reason": str(exc)},
                            )
                    if tp in pending and rec.offset + 1 >= ends[tp]:
                        pending.discard(tp)
                        if not pending:
                            self.caught_up.set()
