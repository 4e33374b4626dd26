"""An in-memory stand-in for SP-API + LWA behind ``httpx.MockTransport``.

Tests register a handler per (method, path); the fake does LWA itself (a new token per
refresh: ``token-1``, ``token-2``, …) and records every request, so tests can count
refreshes and retries and look at what was sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
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


@dataclass
class FakeAmazon:
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    lwa_requests: list[dict[str, list[str]]] = field(default_factory=list)
    issued_tokens: list[str] = field(default_factory=list)
    lwa_delay_s: float = 0.0
    lwa_handler: Handler | None = None
    expires_in: int = 3600

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def sequence(self, method: str, path: str, *responses: httpx.Response) -> None:
        """Answer successive calls with these responses (the last one repeats)."""
        queue = list(responses)

        def handler(_: httpx.Request) -> httpx.Response:
            return queue.pop(0) if len(queue) > 1 else queue[0]

        self.route(method, path, handler)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == LWA:
            return await self._lwa(request)
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return amazon_error(404, "NotFound", f"no route {request.method} {request.url.path}")
        response = handler(request)
        if isinstance(response, Awaitable):
            response = await response
        return response

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
