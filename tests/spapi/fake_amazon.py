"""An in-memory stand-in for SP-API + LWA behind ``httpx.MockTransport``.

Tests register a handler per (method, path); the fake does LWA itself (a new token per
refresh: ``token-1``, ``token-2``, …) and records every request, so tests can count
refreshes and retries and look at what was sent. ``inject`` puts faults before a route's
next calls: an error answer, a request lost on the way, or one Amazon carried out whose
answer was lost (the case that makes a retried ``createFeed`` a second feed).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx

from shared.spapi import LwaCredentials, RetryPolicy, SpApiClient

API = "https://sp.test"
LWA = "https://lwa.test/auth/o2/token"

CLIENT_SECRET = "cs-PLANTED-SECRET-7f3a"
REFRESH_TOKEN = "Atzr|PLANTED-REFRESH-91bc"
CREDENTIALS = LwaCredentials(
    client_id="amzn1.application-oa2-client.test",
    client_secret=CLIENT_SECRET,
    refresh_token=REFRESH_TOKEN,
    seller_id="A1SELLERTEST",
)

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def json_response(
    status: int, body: object, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    merged = {"x-amzn-RequestId": "req-1"} | (headers or {})
    return httpx.Response(status, content=json.dumps(body).encode(), headers=merged)


def amazon_error(status: int, code: str, message: str = "msg") -> httpx.Response:
    extra = {"x-amzn-ErrorType": "TooManyRequestsException"} if status == 429 else {}
    return json_response(
        status, {"errors": [{"code": code, "message": message, "details": ""}]}, headers=extra
    )


@dataclass(frozen=True)
class Fault:
    """How one call to a route goes wrong instead of being answered by its handler."""

    response: httpx.Response | None = None  # answered instead of the handler's answer
    error: type[httpx.TransportError] | None = None  # raised instead of an answer
    reached: bool = False  # the handler ran first: Amazon did the work, then this

    @property
    def none(self) -> bool:
        return self.response is None and self.error is None


NO_FAULT = Fault()  # the call goes through: to fault a later call, not the next


def server_error(status: int = 503, *, reached: bool = False) -> Fault:
    """A 5xx; ``reached``: Amazon had carried the call out (a 5xx does not say it did not)."""
    response = amazon_error(status, "InternalFailure", "We encountered an internal error.")
    return Fault(response=response, reached=reached)


def throttled() -> Fault:
    return Fault(response=amazon_error(429, "QuotaExceeded", "You exceeded your quota"))


def lost_request() -> Fault:
    """The connection failed before Amazon saw the request."""
    return Fault(error=httpx.ConnectError)


def lost_answer() -> Fault:
    """Amazon carried the call out, then the answer timed out on the way back."""
    return Fault(error=httpx.ReadTimeout, reached=True)


def _as_sent(response: httpx.Response) -> httpx.Response:
    """The response as a network transport hands it over: its raw body not read yet. (One
    made from bytes is read, and inflated per ``Content-Encoding``, as it is built; a
    client streaming the raw bytes could not read it.)"""
    if not isinstance(response.stream, httpx.ByteStream):
        return response
    raw = b"".join(response.stream)

    async def body() -> AsyncIterator[bytes]:
        yield raw

    return httpx.Response(response.status_code, headers=response.headers, content=body())


@dataclass
class FakeAmazon:
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    lwa_requests: list[dict[str, list[str]]] = field(default_factory=list)
    issued_tokens: list[str] = field(default_factory=list)
    lwa_delay_s: float = 0.0
    lwa_handler: Handler | None = None
    expires_in: int = 3600
    faults: dict[tuple[str, str], list[Fault]] = field(default_factory=dict)

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def sequence(self, method: str, path: str, *responses: httpx.Response) -> None:
        """Answer successive calls with these responses (the last one repeats)."""
        queue = list(responses)

        def handler(_: httpx.Request) -> httpx.Response:
            return queue.pop(0) if len(queue) > 1 else queue[0]

        self.route(method, path, handler)

    def inject(self, method: str, path: str, *faults: Fault) -> None:
        """The next calls to (method, path) meet these faults in turn, then the handler."""
        self.faults.setdefault((method, path), []).extend(faults)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == LWA:
            return await self._lwa(request)
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return amazon_error(404, "NotFound", f"no route {request.method} {request.url.path}")
        pending = self.faults.get((request.method, request.url.path))
        fault = pending.pop(0) if pending else None
        if fault is None or fault.none or fault.reached:
            response = handler(request)
            if isinstance(response, Awaitable):
                response = await response
            if fault is None or fault.none:
                return _as_sent(response)
        if fault.response is not None:
            return fault.response
        assert fault.error is not None, "a fault answers or raises"
        raise fault.error("injected fault", request=request)

    async def _lwa(self, request: httpx.Request) -> httpx.Response:
        self.lwa_requests.append(parse_qs(request.content.decode()))
        if self.lwa_delay_s:
            await asyncio.sleep(self.lwa_delay_s)
        if self.lwa_handler is not None:
            response = self.lwa_handler(request)
            if isinstance(response, Awaitable):
                response = await response
            return response
        token = f"token-{len(self.issued_tokens) + 1}"
        self.issued_tokens.append(token)
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": REFRESH_TOKEN,
        }
        return httpx.Response(200, json=body)

    def api_requests(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


@dataclass
class RecordingSleep:
    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_client(
    fake: FakeAmazon,
    *,
    sleep: RecordingSleep | None = None,
    max_attempts: int = 4,
    random_value: float = 0.5,
) -> tuple[SpApiClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    retry = RetryPolicy(
        max_attempts=max_attempts,
        base_delay_s=0.5,
        max_delay_s=30.0,
        sleep=sleep or RecordingSleep(),
        random=lambda: random_value,
    )
    client = SpApiClient(http, CREDENTIALS, endpoint=API, lwa_endpoint=LWA, retry=retry)
    return client, http
