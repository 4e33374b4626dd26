"""A consumer-group member as the services configure theirs (``shared/kafka/owned_jobs.py``,
``services/api/projector.py``): offsets committed by the ConsumerLoop, never automatically;
a new group reads from the start."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer

from shared.topics import TopicSpec


def group_consumer(bootstrap: str, group: str, topics: Sequence[TopicSpec]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *[t.name for t in topics],
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
