"""Routing of messages that cannot be processed to ``amazon.dead-letters``, with the reason.

A letter always fits the message bound, whatever arrived (docs/design.md §12): the original
value is copied when it is small, else referred to by topic, partition and offset with its
size, SHA-256 and first bytes; :func:`fetch_original` reads a referenced original back.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from prometheus_client import Counter

from shared.events import DeadLettered
from shared.kafka.clients import new_consumer
from shared.kafka.producer import EventPublisher, MessageTooLarge
from shared.limits import (
    BROKER_MESSAGE_BYTES,
    DEAD_LETTER_COPY_BYTES,
    DEAD_LETTER_HEAD_BYTES,
    MAX_MESSAGE_BYTES,
)
from shared.signing import HEADER as SIGNATURE_HEADER
from shared.topics import DEAD_LETTERS

log = logging.getLogger(__name__)

Encoding = Literal["utf-8", "base64"]

# What DeadLettered.key takes; a longer key is shown cut and the letter refers to the
# original, whose key a replay then reads back whole.
KEY_CHARS = 1_024
SEND_ATTEMPTS = 3
SEND_RETRY_DELAY_S = 0.5

DEAD_LETTERS_TOTAL = Counter(
    "dead_letters_total",
    "Messages written to amazon.dead-letters",
    ["consumer_group", "topic"],
)
DEAD_LETTERS_FAILED = Counter(
    "dead_letters_failed_total",
    "Messages skipped because even their dead letter could not be written",
    ["consumer_group", "topic"],
)


def _text(value: bytes) -> tuple[str, Encoding]:
    try:
        return value.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(value).decode("ascii"), "base64"


def _head(value: bytes) -> tuple[str, Encoding]:
    """The first DEAD_LETTER_HEAD_BYTES as text when they are UTF-8 (a character cut in
    two at the end is left out), else in base64."""
    head = value[:DEAD_LETTER_HEAD_BYTES]
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(head, final=False), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(head).decode("ascii"), "base64"


def _key(key: bytes | None) -> tuple[str | None, bool]:
    """The key as the letter shows it, and whether that is the key itself."""
    if key is None:
        return None, True
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = key.decode("utf-8", "replace")
        exact = False
    else:
        exact = True
    if len(text) > KEY_CHARS:
        cut = f" … ({len(key)} bytes)"
        return text[: KEY_CHARS - len(cut)] + cut, False
    return text, exact


def letter_for_record(record: ConsumerRecord, error: str, consumer_group: str) -> DeadLettered:
    """The letter for a record as a consumer read it."""
    return dead_letter_for(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        error=error,
        consumer_group=consumer_group,
        headers=record.headers,
    )


def _signature(headers: Sequence[tuple[str, bytes]]) -> str | None:
    """The record's signature header as text, if it has one that a letter can hold."""
    for name, value in headers:
        if name == SIGNATURE_HEADER:
            try:
                text = value.decode("ascii")
            except UnicodeDecodeError:
                return None  # not a signature this system wrote: nothing to carry
            return text if len(text) <= 200 else None
    return None


def replay_headers(letter: DeadLettered) -> list[tuple[str, bytes]]:
    """The headers a replay of ``letter`` is sent with: the original's signature."""
    if letter.signature is None:
        return []
    return [(SIGNATURE_HEADER, letter.signature.encode("ascii"))]


def dead_letter_for(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: str,
    consumer_group: str,
    headers: Sequence[tuple[str, bytes]] = (),
) -> DeadLettered:
    """The letter for one record; its encoding is at most MAX_MESSAGE_BYTES, always."""
    shown_key, exact_key = _key(key)
    common = {
        "signature": _signature(headers),
        "original_topic": topic,
        "partition": partition,
        "offset": offset,
        "key": shown_key,
        "error": error,
        "consumer_group": consumer_group,
    }
    if value is None:
        return DeadLettered(**common, raw_value=None, raw_stored="none")
    size, sha256 = len(value), hashlib.sha256(value).hexdigest()
    if size <= DEAD_LETTER_COPY_BYTES and exact_key:
        raw, encoding = _text(value)
        copy = DeadLettered(
            **common,
            raw_value=raw,
            raw_encoding=encoding,
            raw_stored="copy",
            raw_size=size,
            raw_sha256=sha256,
        )
        # JSON escapes control characters six-fold; such a value goes by reference.
        if len(copy.model_dump_json().encode("utf-8")) <= MAX_MESSAGE_BYTES:
            return copy
    head, encoding = _head(value)
    return DeadLettered(
        **common,
        raw_value=None,
        raw_encoding=encoding,
        raw_stored="reference",
        raw_size=size,
        raw_sha256=sha256,
        raw_head=head,
    )


def original_bytes(letter: DeadLettered) -> bytes | None:
    """The value as it first arrived, for a replay, when the letter holds a copy (None for
    a tombstone; a reference is read back with :func:`fetch_original`)."""
    if letter.raw_stored == "reference":
        raise ValueError("the letter refers to its original; read it with fetch_original")
    if letter.raw_value is None:
        return None
    if letter.raw_encoding == "base64":
        return base64.b64decode(letter.raw_value)
    return letter.raw_value.encode("utf-8")


# ------------------------------------------------------------------ reading originals back


class OriginalUnavailable(Exception):
    """The original of a dead letter cannot be had back; ``str()`` says why."""


class OriginalNotRetained(OriginalUnavailable):
    """Its offset is no longer on the topic (retention, compaction, a deleted topic)."""


class OriginalChanged(OriginalUnavailable):
    """The record at its offset is not the bytes the letter describes."""


@dataclass(frozen=True, slots=True)
class Original:
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


async def fetch_original(
    bootstrap_servers: str, letter: DeadLettered, *, timeout_s: float = 10.0
) -> Original:
    """Read a referenced original back from its topic and check it against the letter.

    Raises OriginalNotRetained or OriginalChanged saying why it cannot be had, and
    TimeoutError (or an aiokafka error) when Kafka does not answer within ``timeout_s``."""
    where = f"{letter.original_topic}/{letter.partition} offset {letter.offset}"
    consumer = new_consumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id="dead-letter-reader",
        # One record up to the broker's limit must come back in one fetch.
        max_partition_fetch_bytes=2 * BROKER_MESSAGE_BYTES,
    )
    async with asyncio.timeout(timeout_s):
        await consumer.start()
        try:
            return await _read_one(consumer, letter, where)
        finally:
            await consumer.stop()


async def _read_one(consumer: AIOKafkaConsumer, letter: DeadLettered, where: str) -> Original:
    gone = f"{where} is no longer retained: the partition does not exist"
    if letter.original_topic not in await consumer.topics():
        raise OriginalNotRetained(gone)
    tp = TopicPartition(letter.original_topic, letter.partition)
    consumer.assign([tp])  # which fetches the topic's metadata; aiokafka has no await for it
    while (partitions := consumer.partitions_for_topic(letter.original_topic)) is None:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if letter.partition not in partitions:
        raise OriginalNotRetained(gone)
    first = (await consumer.beginning_offsets([tp]))[tp]
    end = (await consumer.end_offsets([tp]))[tp]
    if letter.offset < first:
        raise OriginalNotRetained(
            f"{where} is no longer retained: the partition now begins at offset {first}"
        )
    if letter.offset >= end:
        raise OriginalNotRetained(
            f"{where} is no longer retained: the partition ends at offset {end} "
            "(was the topic deleted and created again?)"
        )
    consumer.seek(tp, letter.offset)
    while True:
        records = (await consumer.getmany(tp, timeout_ms=500)).get(tp, [])
        record = next((r for r in records if r.offset >= letter.offset), None)
        if record is not None:
            break
    if record.offset != letter.offset:
        raise OriginalNotRetained(
            f"{where} is no longer retained: compaction removed it (the next record is at "
            f"offset {record.offset})"
        )
    _check(letter, record.value, where)
    return Original(record.key, record.value, replay_headers(letter))


def _check(letter: DeadLettered, value: bytes | None, where: str) -> None:
    if value is None:
        raise OriginalChanged(f"{where} now holds a tombstone, not the letter's original")
    if letter.raw_size is not None and len(value) != letter.raw_size:
        raise OriginalChanged(
            f"{where} holds {len(value)} bytes, the letter's original had {letter.raw_size}: "
            "another message is at that offset now"
        )
    if letter.raw_sha256 is not None and hashlib.sha256(value).hexdigest() != letter.raw_sha256:
        raise OriginalChanged(
            f"{where} holds bytes whose SHA-256 differs from the letter's: another message "
            "is at that offset now"
        )


# ------------------------------------------------------------------ writing letters


def count_dead_letter(letter: DeadLettered) -> None:
    """One more letter in ``dead_letters_total``; for a path that sends letters itself."""
    DEAD_LETTERS_TOTAL.labels(letter.consumer_group, letter.original_topic).inc()


async def send_dead_letter(
    publisher: EventPublisher,
    letter: DeadLettered,
    *,
    attempts: int = SEND_ATTEMPTS,
    retry_delay_s: float = SEND_RETRY_DELAY_S,
) -> bool:
    """Write the letter, retrying a few times; False when it could not be written.

    Never raises (cancellation aside): a consumer whose dead letter cannot be written
    logs it, counts it in ``dead_letters_failed_total`` and goes on with its next message,
    so that no message can stop it (docs/design.md §12)."""
    where = {
        "topic": letter.original_topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "reason": letter.error,
    }
    log.warning("dead-lettered message", extra=where)
    for attempt in range(1, attempts + 1):
        try:
            await publisher.publish(DEAD_LETTERS, letter.key, letter)
        except MessageTooLarge:
            # dead_letter_for keeps letters within the bound; one that is not was built
            # elsewhere, and sending it again cannot help.
            log.exception("dead letter over the message bound; message skipped", extra=where)
            break
        except Exception:
            if attempt < attempts:
                log.warning(
                    "dead letter not written; will retry",
                    extra={**where, "attempt": attempt},
                    exc_info=True,
                )
                await asyncio.sleep(retry_delay_s * 2 ** (attempt - 1))
                continue
            log.exception(
                "dead letter not written after %d attempts; message skipped", attempts, extra=where
            )
            break
        else:
            count_dead_letter(letter)
            return True
    DEAD_LETTERS_FAILED.labels(letter.consumer_group, letter.original_topic).inc()
    return False
