"""Routing of messages that cannot be processed to ``amazon.dead-letters``, with the reason."""

from __future__ import annotations

import base64
import logging
from typing import Literal

from shared.events import DeadLettered
from shared.kafka.producer import EventPublisher
from shared.topics import DEAD_LETTERS

log = logging.getLogger(__name__)


def dead_letter_for(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: str,
    consumer_group: str,
) -> DeadLettered:
    raw: str | None
    encoding: Literal["utf-8", "base64"] = "utf-8"
    if value is None:
        raw = None
    else:
        try:
            raw = value.decode("utf-8")
        except UnicodeDecodeError:
            raw, encoding = base64.b64encode(value).decode("ascii"), "base64"
    return DeadLettered(
        original_topic=topic,
        partition=partition,
        offset=offset,
        key=key.decode("utf-8", "replace") if key is not None else None,
        raw_value=raw,
        raw_encoding=encoding,
        error=error,
        consumer_group=consumer_group,
    )


def original_bytes(letter: DeadLettered) -> bytes | None:
    """The value as it first arrived, for a replay."""
    if letter.raw_value is None:
        return None
    if letter.raw_encoding == "base64":
        return base64.b64decode(letter.raw_value)
    return letter.raw_value.encode("utf-8")


async def send_dead_letter(publisher: EventPublisher, letter: DeadLettered) -> None:
    log.warning(
        "dead-lettered message",
        extra={
            "topic": letter.original_topic,
            "partition": letter.partition,
            "offset": letter.offset,
            "reason": letter.error,
        },
    )
    await publisher.publish(DEAD_LETTERS, letter.key, letter)
