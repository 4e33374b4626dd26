"""Query and body parameters, checked the way SP-API checks them: 400 InvalidInput."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams

from services.amazon_sandbox.clock import parse_iso
from services.amazon_sandbox.errors import invalid_input


def query_list(query: QueryParams, name: str, *, max_items: int | None = None) -> list[str]:
    """An array parameter: comma-separated (Amazon's csv collection format) or repeated."""
    values = [part.strip() for raw in query.getlist(name) for part in raw.split(",")]
    values = [value for value in values if value]
    if max_items is not None and len(values) > max_items:
        raise invalid_input(f"{name} accepts at most {max_items} values, not {len(values)}.")
    return values


def query_int(query: QueryParams, name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_input(f"{name} must be an integer, not '{raw}'.") from None
    if not low <= value <= high:
        raise invalid_input(f"{name} must be between {low} and {high}, not {value}.")
    return value


def query_datetime(query: QueryParams, name: str) -> datetime | None:
    raw = query.get(name)
    return None if raw is None else parse_datetime(raw, name)


def parse_datetime(raw: Any, name: str) -> datetime:
    if not isinstance(raw, str):
        raise invalid_input(f"{name} must be an ISO-8601 date-time.")
    try:
        return parse_iso(raw)
    except ValueError:
        raise invalid_input(f"{name} must be an ISO-8601 date-time, not '{raw}'.") from None


def body_marketplace_ids(value: Any, registered: list[str]) -> list[str]:
    """The ``marketplaceIds`` of a createFeed / createReport body: 1 to 25 marketplaces,
    each one the seller sells in."""
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= 25
        or not all(isinstance(v, str) for v in value)
    ):
        raise invalid_input("marketplaceIds must be a list of 1 to 25 marketplace ids.")
    unknown = [m for m in value if m not in registered]
    if unknown:
        raise invalid_input(f"The seller is not registered in marketplace(s) {', '.join(unknown)}.")
    return list(value)


def body_string_map(value: Any, name: str) -> dict[str, str]:
    """feedOptions / reportOptions: an optional object of strings."""
    options = value or {}
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        raise invalid_input(f"{name} must be an object of strings.")
    return options


def encode_page_token(state: dict[str, Any]) -> str:
    """An opaque page token that carries the query and the position, like Amazon's."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, name: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid_input(f"{name} is invalid or expired.") from None
    if not isinstance(state, dict):
        raise invalid_input(f"{name} is invalid or expired.")
    return state


def json_object(body: bytes) -> dict[str, Any]:
    """A JSON object request body; anything else is 400 InvalidInput."""
    try:
        value = json.loads(body) if body else None
    except ValueError:
        raise invalid_input("The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise invalid_input("The request body must be a JSON object.")
    return value
