"""A dead letter always fits the message bound, whatever arrived (docs/design.md §12)."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest

from shared.codec import decode, encode
from shared.events import DeadLettered
from shared.kafka.dead_letters import KEY_CHARS, dead_letter_for, original_bytes, replay_headers
from shared.limits import DEAD_LETTER_COPY_BYTES, DEAD_LETTER_HEAD_BYTES, MAX_MESSAGE_BYTES
from shared.signing import HEADER as SIGNATURE_HEADER
from shared.signing import Signer
from shared.topics import CATALOG_EVENTS, DEAD_LETTERS

MIB = 1024 * 1024


def letter(
    value: bytes | None, key: bytes | None = b"shop1", error: str = "malformed JSON"
) -> DeadLettered:
    return dead_letter_for(
        topic="amazon.job-requests",
        partition=3,
        offset=42,
        key=key,
        value=value,
        error=error,
        consumer_group="amazon-jobs-submitter",
    )


def wire_size(d: DeadLettered) -> int:
    """Its encoded size, after checking it is a valid event of the dead-letters topic."""
    raw = encode(d)
    assert decode(raw, DEAD_LETTERS.event_types) == d
    return len(raw)


def test_a_small_value_is_copied_and_comes_back_as_it_was() -> None:
    value = b'{"event_type": "JobRequested", "items": ['
    d = letter(value)
    assert (d.raw_stored, d.raw_value, d.raw_encoding) == ("copy", value.decode(), "utf-8")
    assert (d.raw_size, d.raw_sha256) == (len(value), hashlib.sha256(value).hexdigest())
    assert d.raw_head is None
    assert original_bytes(d) == value


def test_a_small_binary_value_is_copied_in_base64() -> None:
    value = bytes(range(256))
    d = letter(value)
    assert (d.raw_stored, d.raw_encoding) == ("copy", "base64")
    assert original_bytes(d) == value


def test_a_value_of_exactly_the_copy_bound_is_copied_one_byte_more_is_referred_to() -> None:
    at_bound = letter(b"x" * DEAD_LETTER_COPY_BYTES)
    over = letter(b"x" * (DEAD_LETTER_COPY_BYTES + 1))
    assert at_bound.raw_stored == "copy" and wire_size(at_bound) <= MAX_MESSAGE_BYTES
    assert over.raw_stored == "reference" and over.raw_value is None


def test_one_mebibyte_of_json_is_referred_to_with_size_hash_and_head() -> None:
    value = (b'{"event_type": "JobRequested", "items": [' + b'{"sku": "A"},' * MIB)[:MIB]
    d = letter(value)
    assert d.raw_stored == "reference" and d.raw_value is None
    assert d.raw_size == MIB
    assert d.raw_sha256 == hashlib.sha256(value).hexdigest()
    assert d.raw_encoding == "utf-8"
    assert d.raw_head == value[:DEAD_LETTER_HEAD_BYTES].decode()
    assert wire_size(d) <= MAX_MESSAGE_BYTES
    with pytest.raises(ValueError, match="fetch_original"):
        original_bytes(d)


def test_one_mebibyte_of_binary_is_referred_to_with_a_base64_head() -> None:
    value = random.Random(3).randbytes(MIB)
    d = letter(value)
    assert (d.raw_stored, d.raw_encoding) == ("reference", "base64")
    assert d.raw_head is not None
    assert base64.b64decode(d.raw_head) == value[:DEAD_LETTER_HEAD_BYTES]
    assert wire_size(d) <= MAX_MESSAGE_BYTES


def test_the_head_leaves_out_a_character_cut_in_two() -> None:
    value = b"a" + "€".encode() * MIB  # 3-byte characters: byte 2048 falls inside one
    d = letter(value)
    assert d.raw_encoding == "utf-8" and d.raw_head is not None
    head = d.raw_head.encode()
    assert value.startswith(head) and DEAD_LETTER_HEAD_BYTES - 3 < len(head) <= 2048


def test_control_characters_that_json_escapes_six_fold_go_by_reference() -> None:
    """256 KiB of \\x01 would be 1.5 MiB as a JSON string: too large to copy."""
    d = letter(b"\x01" * DEAD_LETTER_COPY_BYTES)
    assert d.raw_stored == "reference"
    assert wire_size(d) <= MAX_MESSAGE_BYTES


def test_a_huge_key_is_cut_and_the_letter_refers_to_the_original() -> None:
    key = b"k" * MIB
    d = letter(b"{}", key=key)
    assert d.key is not None and len(d.key) == KEY_CHARS and d.key.startswith("kkk")
    assert f"({MIB} bytes)" in d.key
    # The key shown is not the key: a replay must read the original (key and value) back.
    assert d.raw_stored == "reference"
    assert wire_size(d) <= MAX_MESSAGE_BYTES


def test_a_binary_key_is_shown_replaced_and_the_original_referred_to() -> None:
    d = letter(b"{}", key=b"\xff\xfeab")
    assert d.key == "\ufffd\ufffdab" and d.raw_stored == "reference"


def test_a_tombstone_stores_nothing() -> None:
    d = letter(None)
    assert (d.raw_stored, d.raw_value, d.raw_size, d.raw_sha256) == ("none", None, None, None)
    assert original_bytes(d) is None


@pytest.mark.parametrize("size", [0, 1, 2047, 2048, 200_000, 262_143, 262_145, 900_000, 4 * MIB])
def test_the_worst_of_everything_still_fits(size: int) -> None:
    """Key, value and reason all huge and all control characters (each six bytes in JSON)."""
    d = letter(b"\x1f" * size, key=b"\x1f" * MIB, error="\x1f" * MIB)
    assert wire_size(d) <= MAX_MESSAGE_BYTES


def test_values_of_any_size_and_content_fit() -> None:
    rng = random.Random(11)
    for _ in range(40):
        size = rng.choice([rng.randrange(0, 4096), rng.randrange(200_000, 300_000), MIB])
        kind = rng.randrange(3)
        if kind == 0:
            value = rng.randbytes(size)
        elif kind == 1:
            value = rng.randbytes(size).translate(bytes(b'"\\\n\x00abc'[i % 7] for i in range(256)))
        else:
            value = "é😀a".encode() * (size // 7)
        d = letter(value, key=rng.randbytes(rng.randrange(0, 3000)))
        assert wire_size(d) <= MAX_MESSAGE_BYTES
        if d.raw_stored == "copy":
            assert original_bytes(d) == value
        else:
            assert d.raw_sha256 == hashlib.sha256(value).hexdigest()


def test_a_replay_carries_the_originals_own_signature_and_nothing_else() -> None:
    signed = Signer(bytes(32)).headers(CATALOG_EVENTS.name, b"shop1", b"{}", "shop1")
    kept = dead_letter_for(
        topic=CATALOG_EVENTS.name,
        partition=0,
        offset=7,
        key=b"shop1",
        value=b"{}",
        error="account acc-x is not registered",
        consumer_group="amazon-jobs-submitter",
        headers=[("traceparent", b"00-abc-def-01"), *signed],
    )
    assert wire_size(kept) < MAX_MESSAGE_BYTES
    assert replay_headers(decode(encode(kept), DEAD_LETTERS.event_types)) == signed  # type: ignore[arg-type]
    # Unsigned, or a header no signer of this system wrote: the replay goes unsigned.
    assert replay_headers(letter(b"{}")) == []
    odd = [(SIGNATURE_HEADER, b"\xff" * 8)]
    bad = dead_letter_for(
        topic=CATALOG_EVENTS.name,
        partition=0,
        offset=8,
        key=b"shop1",
        value=b"{}",
        error="x",
        consumer_group="g",
        headers=odd,
    )
    assert bad.signature is None and replay_headers(bad) == []
