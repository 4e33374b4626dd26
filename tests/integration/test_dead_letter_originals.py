"""Reading a referenced original back from its topic, on the real broker: the bytes when
they are there, and a clear reason when they are not (docs/design.md §12)."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from shared.events import DeadLettered
from shared.kafka.admin import ensure_topics
from shared.kafka.dead_letters import (
    OriginalChanged,
    OriginalNotRetained,
    dead_letter_for,
    fetch_original,
)
from shared.kafka.producer import EventPublisher
from shared.topics import TopicSpec

VALUE = b'{"event_type": "JobRequested", "items": [' + b'{"sku": "A", "quantity": 1},' * 12_000


async def sent(topics: str, publisher: EventPublisher, value: bytes = VALUE) -> DeadLettered:
    """Two records on a topic of the test's own; the letter for the second one."""
    topic = TopicSpec(f"test.originals-{uuid.uuid4().hex}", 1)
    await ensure_topics(topics, [topic])
    await publisher.publish_raw(topic.name, b"first", b"{}")
    await publisher.publish_raw(topic.name, b"job-1", value)
    letter = dead_letter_for(
        topic=topic.name,
        partition=0,
        offset=1,
        key=b"job-1",
        value=value,
        error="refused",
        consumer_group="g",
    )
    assert letter.raw_stored == "reference"
    return letter


async def test_the_original_comes_back_whole(topics: str, publisher: EventPublisher) -> None:
    letter = await sent(topics, publisher)
    original = await fetch_original(topics, letter)
    assert (original.key, original.value) == (b"job-1", VALUE)


async def test_an_original_below_the_partitions_beginning_is_no_longer_retained(
    topics: str, publisher: EventPublisher
) -> None:
    letter = await sent(topics, publisher)
    admin = AIOKafkaAdminClient(bootstrap_servers=topics)
    await admin.start()
    try:  # what retention does to old segments, now
        await admin.delete_records({TopicPartition(letter.original_topic, 0): RecordsToDelete(2)})
    finally:
        await admin.close()
    with pytest.raises(OriginalNotRetained) as info:
        await fetch_original(topics, letter)
    assert str(info.value) == (
        f"{letter.original_topic}/0 offset 1 is no longer retained: the partition now begins "
        "at offset 2"
    )


async def test_other_bytes_at_the_offset_are_refused(
    topics: str, publisher: EventPublisher
) -> None:
    letter = await sent(topics, publisher)
    other_hash = letter.model_copy(update={"raw_sha256": "0" * 64})
    with pytest.raises(OriginalChanged, match="SHA-256 differs from the letter's"):
        await fetch_original(topics, other_hash)
    other_size = letter.model_copy(update={"raw_size": len(VALUE) + 1})
    with pytest.raises(OriginalChanged, match=f"holds {len(VALUE)} bytes, the letter's original"):
        await fetch_original(topics, other_size)


async def test_an_offset_or_partition_that_is_not_there_is_no_longer_retained(
    topics: str, publisher: EventPublisher
) -> None:
    letter = await sent(topics, publisher)
    beyond = letter.model_copy(update={"offset": 7})
    with pytest.raises(OriginalNotRetained, match="the partition ends at offset 2"):
        await fetch_original(topics, beyond)
    no_partition = letter.model_copy(update={"partition": 3})
    with pytest.raises(OriginalNotRetained, match="the partition does not exist"):
        await fetch_original(topics, no_partition)
    no_topic = letter.model_copy(update={"original_topic": f"test.gone-{uuid.uuid4().hex}"})
    with pytest.raises(OriginalNotRetained, match="the partition does not exist"):
        await fetch_original(topics, no_topic)
