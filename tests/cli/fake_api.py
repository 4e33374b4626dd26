"""An in-memory stand-in for the HTTP API of docs/design.md §6, served through
``httpx.MockTransport``: canned answers, and a record of every request it saw."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

Route = Callable[[httpx.Request], httpx.Response]


def job_row(job_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "job_id": job_id,
        "shop_id": "shop1",
        "account": {"id": "acc-de", "name": "Shop 1 DE"},
        "job_type": "update_qty",
        "status": "waiting_for_result",
        "created_at": "2026-11-27T10:00:00Z",
        "updated_at": "2026-11-27T10:02:00Z",
        "item_counts": {"total": 4, "pending": 1, "accepted": 2, "error": 1},
    }
    row.update(overrides)
    return row


def error(status: int, code: str, message: str, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message, **extra}})


def page(data: list[dict[str, Any]], next_cursor: str | None = None) -> httpx.Response:
    return httpx.Response(200, json={"data": data, "next_cursor": next_cursor})


@dataclass
class FakeApi:
    """Routes by ``"METHOD /path"``; anything else is a 404 as the API words it."""

    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)

    def route(self, method: str, path: str, answer: Route | httpx.Response) -> None:
        self.routes[f"{method} {path}"] = answer if callable(answer) else (lambda _: answer)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        route = self.routes.get(f"{request.method} {request.url.raw_path.decode().split('?')[0]}")
        if route is None:
            return error(404, "not_found", f"no such resource: {request.url.path}")
        return route(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def last_json(self) -> Any:
        return json.loads(self.seen[-1].content)
