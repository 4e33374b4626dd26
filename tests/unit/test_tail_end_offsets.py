"""A topic tail asks a slow broker again where the topic ends instead of stopping the
service at the first unanswered ListOffsets (shared/kafka/tail.py)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError

from shared.kafka.tail import END_OFFSETS_ATTEMPTS, TopicTail
from shared.topics import LISTINGS

PARTITIONS = [TopicPartition(LISTINGS.name, 0), TopicPartition(LISTINGS.name, 1)]


class SlowBroker:
    """Answers ListOffsets after ``timeouts`` unanswered requests."""

    def __init__(self, timeouts: int) -> None:
        self.timeouts = timeouts
        self.asked = 0

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.asked += 1
        if self.asked <= self.timeouts:
            raise KafkaTimeoutError("Failed to get offsets by times in 40000 ms")
        return {tp: 7 for tp in partitions}


def tail() -> TopicTail:
    return TopicTail("127.0.0.1:9", LISTINGS, lambda key, event: None)


async def test_the_ends_come_once_the_broker_answers() -> None:
    broker = SlowBroker(timeouts=END_OFFSETS_ATTEMPTS - 1)
    consumer: Any = broker
    assert await tail()._end_offsets(consumer, PARTITIONS) == {tp: 7 for tp in PARTITIONS}
    assert broker.asked == END_OFFSETS_ATTEMPTS


async def test_a_broker_that_never_answers_still_stops_the_service() -> None:
    broker = SlowBroker(timeouts=END_OFFSETS_ATTEMPTS)
    consumer: Any = broker
    with pytest.raises(KafkaTimeoutError):
        await tail()._end_offsets(consumer, PARTITIONS)
    assert broker.asked == END_OFFSETS_ATTEMPTS
