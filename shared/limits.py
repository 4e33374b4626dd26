"""The bounds every message and every value lives within (docs/design.md, "Limits").

One place for the numbers, so the API, the bus and the services refuse the same things:
a value that passes here fits Amazon's schemas, BSON and our own message bound.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

# ------------------------------------------------------------------ messages

# No value we publish is larger, encoded, before compression: item lists and per-item
# results travel in chunks (shared.chunking) to stay under it.
MAX_MESSAGE_BYTES = 512 * 1024
# What a topic accepts (max.message.bytes, set explicitly on every topic). Larger than our
# own bound so that a foreign producer's oversized message still arrives and can be
# dead-lettered with a reason instead of failing in the producer.
BROKER_MESSAGE_BYTES = 1024 * 1024
# Item states of a job event go out in chunks of at most this many encoded bytes.
ITEM_CHUNK_BYTES = 256 * 1024
# A dead letter copies the original value up to this size, else stores a reference.
DEAD_LETTER_COPY_BYTES = 256 * 1024
DEAD_LETTER_HEAD_BYTES = 2 * 1024

# ------------------------------------------------------------------ jobs

# Amazon's maximum per JSON_LISTINGS_FEED (since May 2025); the most items one job takes.
MAX_ITEMS = 25_000
# A request of many items is published in parts; this many at most (each part is under
# MAX_MESSAGE_BYTES, so 64 parts carry 25,000 items of any allowed size).
MAX_REQUEST_PARTS = 64
# Largest quantity: Amazon's listings schema uses 32-bit integers.
MAX_QUANTITY = 2_147_483_647
# Priorities a caller may ask for: the span of the job types' base priorities.
MIN_PRIORITY = 0
MAX_PRIORITY = 1000

# ------------------------------------------------------------------ text

MAX_LOG_MESSAGE = 2_000  # characters of one log line
MAX_ITEM_MESSAGES = 20  # Amazon's issues kept per item
MAX_ITEM_MESSAGE = 1_000  # characters of one of them
MAX_ERROR_TEXT = 4_000  # characters of a dead letter's reason

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and newline are allowed


def _no_control(value: str) -> str:
    match = _CONTROL.search(value)
    if match is not None:
        raise ValueError(f"control character U+{ord(match.group()):04X} is not allowed")
    return value


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, saying so; control characters replaced.

    For text we write ourselves from what others said (Amazon's issues, exceptions): it
    must fit, never be refused."""
    text = _CONTROL.sub("\ufffd", text)
    if len(text) <= limit:
        return text
    return text[: limit - 20] + f" … ({len(text) - limit + 20} more)"


def _clip_to(limit: int) -> BeforeValidator:
    def clipped(value: Any) -> Any:
        return clip(value, limit) if isinstance(value, str) else value

    return BeforeValidator(clipped)


# Text we write from what others said (Amazon, exceptions): cut to fit, never refused.
LogText = Annotated[str, _clip_to(MAX_LOG_MESSAGE)]
ErrorText = Annotated[str, _clip_to(MAX_ERROR_TEXT)]
IssueText = Annotated[str, _clip_to(MAX_ITEM_MESSAGE)]  # one of Amazon's issues
IssueWord = Annotated[str, _clip_to(64)]  # an issue's code or attribute name

# Shops, accounts, sellers: ids that go into Kafka keys ("account:sku", "a|EU|class"), so
# ':' and '|' are not allowed in them.
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]
# Caller-chosen job ids.
JobId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]
# Amazon's SKU limit is 40 characters.
Sku = Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_no_control)]
ShortText = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_no_control)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_control)]
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY, strict=True)]
Priority = Annotated[int, Field(ge=MIN_PRIORITY, le=MAX_PRIORITY, strict=True)]
# LWA client ids, client secrets and refresh tokens: printable ASCII (Amazon's are a few
# hundred characters at most).
Secret = Annotated[str, Field(min_length=1, max_length=2_048, pattern=r"^[\x21-\x7e]+$")]
