"""The record of a dead letter sent again: what ``POST /v1/dead-letters/{id}/replay`` did.

The HTTP handler may not write MongoDB (the projector is its only writer), so it records
the replay the way everything else reaches the read model: as a message, on a topic the
projector folds into the dead letter's document.

The record is not in ``shared.events.EVENT_TYPES`` and the topic not in
``shared.topics.ALL_TOPICS`` on purpose: both belong to the API alone (an internal topic,
ARCHITECTURE.md §4), and registering them would make every other service's codec and the
published AsyncAPI document carry them. Should another service ever need them, they move
to ``shared/``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.events import Event
from shared.topics import INTERNAL_PREFIX, TopicSpec

REPLAYS = TopicSpec(INTERNAL_PREFIX + "api-replays", 1, key="dead letter id")


class DeadLetterReplayed(Event):
    """One replay of one dead letter: where the original bytes went."""

    event_type: Literal["DeadLetterReplayed"] = "DeadLetterReplayed"
    letter_id: str = Field(min_length=1)
    topic: str
    partition: int
    offset: int
