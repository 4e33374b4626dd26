"""Builds the sandbox's ASGI app: ``create_app(settings) -> Starlette``."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.amazon_sandbox.clock import Clock
from services.amazon_sandbox.errors import ApiError
from services.amazon_sandbox.routes import (
    admin,
    auth,
    catalog,
    documents,
    feeds,
    listings_items,
    orders,
    reports,
)
from services.amazon_sandbox.settings import SandboxSettings
from services.amazon_sandbox.state import SandboxState

log = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Stamps ``x-amzn-RequestId`` on every response, as Amazon does. Plain ASGI: it runs
    on every request, and BaseHTTPMiddleware would cost a task per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4()).encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-amzn-RequestId", request_id),
                ]
            await send(message)

        await self.app(scope, receive, send_with_id)


class LatencyMiddleware:
    """Holds every call to "Amazon" for ``seconds`` before it is handled (the
    ``latency_ms`` setting); the sandbox's own admin routes are not delayed."""

    def __init__(
        self,
        app: ASGIApp,
        seconds: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.seconds = seconds
        self.sleep = sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(admin.PREFIX):
            await self.sleep(self.seconds)
        await self.app(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods, in Amazon's error shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = ApiError(405, "MethodNotAllowed", f"{request.method} is not allowed here.")
    elif exc.status_code == 404:
        error = ApiError(404, "NotFound", f"No resource at {request.url.path}.")
    else:
        error = ApiError(exc.status_code, str(exc.status_code), str(exc.detail))
    return error.response()


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path})
    return JSONResponse(
        {"errors": [{"code": "InternalFailure", "message": "We encountered an internal error."}]},
        status_code=500,
    )


def create_app(
    settings: SandboxSettings | None = None,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> Starlette:
    """The app; tests pass a ManualClock to move time by hand."""
    settings = settings or SandboxSettings()
    clock = clock or Clock(settings.time_scale)
    if rng is None and settings.fault_seed is not None:
        rng = random.Random(settings.fault_seed)
    app = Starlette(
        routes=[
            *auth.routes,
            *feeds.routes,
            *reports.routes,
            *catalog.routes,
            *listings_items.routes,
            *orders.routes,
            *documents.routes,
            *admin.routes,
        ],
        middleware=[
            Middleware(RequestIdMiddleware),
            *(
                [Middleware(LatencyMiddleware, seconds=settings.latency_ms / 1000)]
                if settings.latency_ms > 0
                else []
            ),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.sandbox = SandboxState(settings, clock, rng)
    return app
