"""Opaque cursors: the sort key of the last row, so a page never skips or repeats rows."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from services.api.errors import ApiError


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        return [
            datetime.fromisoformat(v) if kind is datetime else kind(v)
            for v, kind in zip(values, kinds, strict=True)
        ]
    except (ValueError, TypeError, OverflowError) as exc:
        raise ApiError(422, "invalid", "cursor: not a cursor this API gave out") from exc


def after_desc(field: str, value: Any, last_id: str) -> dict[str, Any]:
    """Rows after (``field``, _id) in descending order."""
    return {"$or": [{field: {"$lt": value}}, {field: value, "_id": {"$lt": last_id}}]}
