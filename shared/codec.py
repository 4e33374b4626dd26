"""The one codec between events and Kafka bytes (UTF-8 JSON), for aiokafka and faust."""

from __future__ import annotations

import json
from typing import Any

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


def decode(raw: bytes | str | None, allowed: frozenset[str] | None = None) -> Event:
    """Turn bytes into the event they carry, or raise DecodeError saying why not.

    ``allowed`` limits the event types a topic may carry.
    """
    if raw is None:
        raise DecodeError("empty message (no value)")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise DecodeError(f"not UTF-8: {exc.reason} at byte {exc.start}") from exc
    try:
        payload: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
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
    except ValueError as exc:
        raise DecodeError(f"invalid {event_type}: {exc}") from exc


def _make_faust_codec() -> Any:
    from faust.serializers.codecs import Codec

    class EventCodec(Codec):
        """Lets faust agents and tables carry our events with the same bytes."""

        def _dumps(self, obj: Any) -> bytes:
            if isinstance(obj, Event):
                return encode(obj)
            return json.dumps(obj, default=str).encode("utf-8")

        def _loads(self, s: bytes) -> Any:
            return decode(s)

    return EventCodec


FAUST_CODEC_NAME = "amazon_jobs_event"


def register_faust_codec() -> None:
    """Make ``value_serializer="amazon_jobs_event"`` available to faust apps."""
    from faust.serializers import codecs

    codecs.register(FAUST_CODEC_NAME, _make_faust_codec()())
