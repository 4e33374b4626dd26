"""Create the declared topics (compacted where the design says) instead of auto-creation."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from shared.topics import ALL_TOPICS, TopicSpec

log = logging.getLogger(__name__)


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[TopicSpec] = ALL_TOPICS,
    replication_factor: int = 1,
    timeout_s: float = 60.0,
) -> list[str]:
    """Create every missing topic; return the names created. Safe to run repeatedly."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1.0)
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t.name not in existing]
        if not wanted:
            return []
        new = [
            NewTopic(
                name=t.name,
                num_partitions=t.partitions,
                replication_factor=replication_factor,
                topic_configs=t.config(),
            )
            for t in wanted
        ]
        # Another service may create some at the same moment; that is the goal anyway.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
        names = [t.name for t in wanted]
        log.info("topics created", extra={"topics": names})
        return names
    finally:
        await admin.close()
