"""Prometheus metrics of the API's HTTP requests: how many, by route template, method and
status, and how long they took (docs/design.md §23).

Labels name the route's template (``/v1/jobs/{job_id}``), never the path asked for, so a
scan of made-up paths adds no series: a path no route takes is ``unmatched``.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "api_http_requests_total",
    "HTTP requests answered by the API",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "api_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
UNMATCHED = "unmatched"
# Methods outside the usual ones (anyone can send "FOO /") share one label.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope, root_path: str) -> str:
    """The template of the route that took the request, or ``unmatched``.

    The router leaves the route in the scope (also for a 405: a path whose method does
    not fit); a mount (the static files) leaves none, but extends ``root_path`` by its
    prefix (``root_path`` is the one the request came with)."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    mounted = str(scope.get("root_path", ""))
    if mounted != root_path and mounted.startswith(root_path):
        return mounted[len(root_path) :] + "/{path}"
    return UNMATCHED


class HttpMetrics:
    """ASGI middleware around the whole app, so that refusals made before routing (a body
    over the limit) and errors are counted as well."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        root_path = str(scope.get("root_path", ""))
        status = 500  # an exception before the answer began is a 500 to the client

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_template(scope, root_path)
            REQUESTS.labels(route, method, str(status)).inc()
            LATENCY.labels(route, method).observe(time.perf_counter() - started)
