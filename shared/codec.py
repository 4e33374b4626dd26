"""The one codec between events and Kafka bytes (UTF-8 JSON)."""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from pydantic import ValidationError

from shared.events import EVENT_TYPES, Event, upcast


class DecodeError(ValueError):
    """Bytes that are not a valid event; the message is the reason a human reads."""


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode("utf-8")


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(event)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _shown(literal: str) -> str:
    return literal if len(literal) <= 24 else f"{literal[:20]}… ({len(literal)} characters)"


def _no_constant(name: str) -> NoReturn:
    raise DecodeError(f"malformed JSON: {name} is not a number JSON allows")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise DecodeError(f"malformed JSON: {_shown(literal)} is out of range for a number")
    return value


# One decoder for every call: json.loads with hooks would build a new one each time.
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def _parse(text: str) -> Any:
    """JSON as RFC 8259 has it: no NaN or Infinity, no number that overflows a float, no
    integer longer than Python converts, no nesting deeper than the parser's stack —
    Python would read them, MongoDB and Amazon would not (docs/design.md §10)."""
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise DecodeError("malformed JSON: nested deeper than the parser allows") from exc
    except DecodeError:
        raise
    except ValueError as exc:  # int(): more digits than sys.get_int_max_str_digits()
        why = str(exc).split(";")[0].strip() or type(exc).__name__
        raise DecodeError(f"malformed JSON: an integer too long to read ({why})") from exc


def parse_json(raw: bytes | str) -> Any:
    """Any JSON value read as strictly as events are (no NaN, Infinity, 1e309, endless
    integers or nesting), or DecodeError saying why not: for bodies that are not events."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise DecodeError(f"not UTF-8: {exc.reason} at byte {exc.start}") from exc
    return _parse(text)


def decode(raw: bytes | str | None, allowed: frozenset[str] | None = None) -> Event:
    """Turn bytes into the event they carry, or raise DecodeError saying why not.

    ``allowed`` limits the event types a topic may carry. Nothing but DecodeError leaves
    here, whatever the bytes: a consumer can dead-letter on it and go on.
    """
    if raw is None:
        raise DecodeError("empty message (no value)")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise DecodeError(f"not UTF-8: {exc.reason} at byte {exc.start}") from exc
    payload = _parse(text)
    if not isinstance(payload, dict):
        raise DecodeError(f"expected a JSON object, got {type(payload).__name__}")
    event_type = payload.get("event_type")
    if not isinstance(event_type, str):
        raise DecodeError("missing event_type")
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        raise DecodeError(f"unknown event_type {event_type!r}")
    if allowed is not None and event_type not in allowed:
        raise DecodeError(f"event_type {event_type!r} does not belong on this topic")
    version = payload.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DecodeError("schema_version must be a positive integer")
    if version > cls.SCHEMA_VERSION:
        raise DecodeError(
            f"{event_type} schema_version {version} is newer than this service reads "
            f"({cls.SCHEMA_VERSION}); upgrade the service"
        )
    try:
        return cls.model_validate(upcast(payload))
    except ValidationError as exc:
        raise DecodeError(f"invalid {event_type}: {_reason(exc)}") from exc
    except RecursionError as exc:
        raise DecodeError(f"invalid {event_type}: nested too deep") from exc
    except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as exc:
        # An upcaster or validator that met data it did not expect: still the bytes' fault.
        raise DecodeError(f"invalid {event_type}: {type(exc).__name__}: {exc}") from exc
