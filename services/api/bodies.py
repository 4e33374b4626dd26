"""Request bodies as the API reads them: at most ``max_bytes`` (else 413), and JSON as
strictly as the bus reads it (else 422) — docs/design.md §10.

The size limit is an ASGI middleware, so a body too large is refused before it is read
whole: at once when ``Content-Length`` says so, else as soon as the bytes received pass
the limit; both answers are in the API's one error shape (FastAPI's own ``max_body_size``
answers plain text when ``Content-Length`` says so). FastAPI's JSON parser
(``json.loads``) takes ``NaN``, ``Infinity``, ``1e309`` and integers thousands of digits
long, which neither MongoDB nor Amazon accept: routes of :class:`StrictJsonRoute` parse
with shared.codec instead.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api import errors
from services.api.errors import ApiError
from shared.codec import DecodeError, parse_json


def too_large_message(limit: int, size: int | None = None) -> str:
    said = f"{size} bytes, more than" if size is not None else "larger than"
    return f"the request body is {said} the {limit} bytes the API takes"


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, too_large_message(self.max_bytes, declared))
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException passes FastAPI's body parsing as it is (anything
                    # else it turns into a 400) and reaches the API's error handlers.
                    raise HTTPException(413, too_large_message(self.max_bytes))
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, message: str) -> None:
    payload = json.dumps(errors.body("too_large", message)).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _is_json(request: Request) -> bool:
    # What FastAPI parses as JSON (with its strict content type): application/json or
    # application/*+json.
    kind = request.headers.get("content-type")
    if not kind:
        return False
    media = kind.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class _Unreadable:
    """A number the strict parser refuses, kept as written to say where it is."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _finite_or_not(literal: str) -> float | _Unreadable:
    value = float(literal)
    return value if math.isfinite(value) else _Unreadable(literal)


def _int_or_not(literal: str) -> int | _Unreadable:
    # Python reads at most sys.get_int_max_str_digits() digits; BSON far fewer anyway.
    return int(literal) if len(literal) <= 4_000 else _Unreadable(literal)


_LOCATOR = json.JSONDecoder(
    parse_constant=_Unreadable, parse_float=_finite_or_not, parse_int=_int_or_not
)


def _path_of_unreadable(value: Any, path: tuple[str, ...] = ()) -> tuple[str, str] | None:
    if isinstance(value, _Unreadable):
        literal = value.literal if len(value.literal) <= 24 else f"{value.literal[:20]}…"
        return ".".join(path) or "body", literal
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, inner in items:
        found = _path_of_unreadable(inner, (*path, str(key)))
        if found is not None:
            return found
    return None


def _where(raw: bytes) -> str | None:
    """The field holding the number the strict parser refused (``items.0.quantity:
    NaN``), when the body is otherwise JSON a lenient parser reads."""
    try:
        found = _path_of_unreadable(_LOCATOR.decode(raw.decode("utf-8")))
    except (ValueError, RecursionError):
        return None
    if found is None:
        return None
    field, literal = found
    return f"{field}: {literal} is not a number JSON, MongoDB and Amazon all accept"


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is parsed by shared.codec's strict parser; a body it
    refuses is a 422 saying why, naming the field when it can ("items.0.quantity: NaN is
    not a number …", else "body: malformed JSON: …")."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            if request.method in ("POST", "PUT", "PATCH") and _is_json(request):
                raw = await request.body()  # a body over the limit raises 413 here
                if raw:
                    try:
                        parsed: Any = parse_json(raw)
                    except DecodeError as exc:
                        why = _where(raw) or f"body: {exc}"
                        raise ApiError(422, "invalid", why) from exc
                    request._json = parsed  # what FastAPI's request.json() then returns
            return await handler(request)

        return strict
