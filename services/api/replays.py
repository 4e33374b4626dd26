"""Replaying a dead letter: where its original comes from, and the record of what
``POST /v1/dead-letters/{id}/replay`` did.

A letter holds a copy of a small original; a large one is read back from its topic by
offset and checked against the letter's size and SHA-256 (docs/design.md §12).

The HTTP handler may not write MongoDB (the projector is its only writer), so it records
the replay the way everything else reaches the read model: as a message, on a topic the
projector folds into the dead letter's document.

The record is not in ``shared.events.EVENT_TYPES`` and the topic not in
``shared.topics.ALL_TOPICS`` on purpose: both belong to the API alone (an internal topic,
docs/design.md §4), and registering them would make every other service's codec and the
published AsyncAPI document carry them. Should another service ever need them, they move
to ``shared/``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.events import DeadLettered, Event
from shared.kafka.dead_letters import Original, fetch_original, original_bytes, replay_headers
from shared.topics import INTERNAL_PREFIX, TopicSpec

REPLAYS = TopicSpec(INTERNAL_PREFIX + "api-replays", 1, key="dead letter id")


class DeadLetterReplayed(Event):
    """One replay of one dead letter: where the original bytes went."""

    event_type: Literal["DeadLetterReplayed"] = "DeadLetterReplayed"
    letter_id: str = Field(min_length=1)
    topic: str
    partition: int
    offset: int


async def original_of(letter: DeadLettered, bootstrap_servers: str, timeout_s: float) -> Original:
    """The key and value to send again: the letter's own copy, or the original read back
    from its topic (OriginalUnavailable saying why when it cannot be; TimeoutError or an
    aiokafka error when Kafka does not answer within ``timeout_s``)."""
    if letter.raw_stored == "reference":
        return await fetch_original(bootstrap_servers, letter, timeout_s=timeout_s)
    key = letter.key.encode("utf-8") if letter.key is not None else None
    return Original(key, original_bytes(letter), replay_headers(letter))
