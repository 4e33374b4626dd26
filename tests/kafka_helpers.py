"""Reading dead letters in tests (devtools/topics_read.py has what benchmarks use too)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer

from shared.codec import decode
from shared.events import DeadLettered
from shared.topics import DEAD_LETTERS


async def dead_letters_of(
    bootstrap: str, key: str, count: int, *, timeout_s: float = 60.0
) -> list[tuple[int, DeadLettered]]:
    """The first ``count`` letters keyed ``key`` on amazon.dead-letters, each with the size
    of its record's value as the broker holds it."""
    consumer = AIOKafkaConsumer(
        DEAD_LETTERS.name,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[tuple[int, DeadLettered]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for rec in records:
                        if rec.key == key.encode() and rec.value is not None:
                            letter = decode(rec.value, DEAD_LETTERS.event_types)
                            assert isinstance(letter, DeadLettered)
                            found.append((len(rec.value), letter))
    except TimeoutError as exc:
        raise AssertionError(f"waited {timeout_s}s for {count} letters keyed {key!r}") from exc
    finally:
        await consumer.stop()
    return found
