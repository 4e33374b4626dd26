"""Webhooks end to end (docs/design.md §21): a receiver on loopback gets a correctly
signed ``job.error`` for its own shop's job only, and a receiver that fails is tried
again with backoff while the delivery log shows each attempt."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events import JobRequested
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.topics import JOB_REQUESTS
from shared.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from tests.e2e.conftest import make_stack
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """A webhook receiver on loopback: records every POST; a path in ``failing`` answers
    500 that many times before it answers 200."""

    received: list[Received] = field(default_factory=list)
    failing: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            with state.lock:
                state.received.append(Received(self.path, dict(self.headers.items()), body))
                left = state.failing.get(self.path, 0)
                if left:
                    state.failing[self.path] = left - 1
            self.send_response(500 if left else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def system(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    db_url = mongo_url.rsplit("/", 1)[0] + f"/hooks_{uuid.uuid4().hex[:8]}"
    stack = make_stack(
        topics,
        db_url,
        test_output_dir / "e2e",
        NOTIFIER_CONSUMER_GROUP=f"e2e-notifier-{uuid.uuid4().hex[:8]}",
        WEBHOOKS_ALLOW_PRIVATE_URLS="true",
    )
    try:
        stack.start(["submitter", "notifier", "api"])
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
async def shops(system: Stack) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    clients = {
        shop: httpx.AsyncClient(
            base_url=system.api_url, timeout=30, headers={"Authorization": f"Bearer {key}"}
        )
        for shop, key in (("shop1", "shop1-key"), ("shop2", "shop2-key"))
    }
    yield clients
    for client in clients.values():
        await client.aclose()


async def add_webhook(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post("/v1/webhooks", json=body)
    assert answer.status_code == 201, answer.text
    hook: dict[str, Any] = answer.json()
    assert hook["secret"].startswith("whsec_")

    async def listed() -> bool:
        page = (await client.get("/v1/webhooks")).json()
        return hook["id"] in [w["id"] for w in page["data"]]

    await eventually(listed, f"webhook {hook['id']} in the list")
    return hook


async def failing_job(publisher: EventPublisher, shop_id: str) -> str:
    """A job that ends in ``error``: the submitter refuses it (no such account)."""
    job_id = f"hook-{shop_id}-{uuid.uuid4().hex[:8]}"
    request = JobRequested(
        job_id=job_id,
        shop_id=shop_id,
        account_id=f"missing-{uuid.uuid4().hex[:6]}",
        job_type=JobType.INVENTORY_REPORT,
    )
    await publisher.publish(JOB_REQUESTS, job_id, request)
    return job_id


def jobs_in(received: list[Received]) -> set[str]:
    return {json.loads(r.body)["job"]["id"] for r in received}


async def deliveries(client: httpx.AsyncClient, webhook_id: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/v1/webhooks/{webhook_id}/deliveries")
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["data"]
    return rows


async def test_a_shop_receives_its_own_failed_job_signed(
    system: Stack,
    shops: dict[str, httpx.AsyncClient],
    publisher: EventPublisher,
    receiver: Receiver,
) -> None:
    one = await add_webhook(shops["shop1"], {"url": receiver.url("/one"), "events": ["job.error"]})
    two = await add_webhook(shops["shop2"], {"url": receiver.url("/two")})
    # Each shop sees only its own webhook, and never a secret.
    listed = (await shops["shop2"].get("/v1/webhooks")).json()["data"]
    assert [w["id"] for w in listed] == [two["id"]]
    assert "secret" not in listed[0]
    assert (await shops["shop2"].get(f"/v1/webhooks/{one['id']}/deliveries")).status_code == 404

    theirs = await failing_job(publisher, "shop2")
    mine = await failing_job(publisher, "shop1")

    await eventually(lambda: mine in jobs_in(receiver.at("/one")), "shop1's job.error")
    await eventually(lambda: theirs in jobs_in(receiver.at("/two")), "shop2's job.error")
    # The notifier handled shop2's job (shop2's receiver has it), yet shop1's never did.
    assert jobs_in(receiver.at("/one")) == {mine}
    assert jobs_in(receiver.at("/two")) == {theirs}

    got = receiver.at("/one")[0]
    body = json.loads(got.body)
    assert body["type"] == "job.error"
    assert body["job"]["shop_id"] == "shop1" and body["job"]["status"] == "error"
    assert body["id"] == got.headers[DELIVERY_HEADER]
    header = got.headers[SIGNATURE_HEADER]
    assert verify(one["secret"], header, got.body, int(time.time()))
    assert not verify(two["secret"], header, got.body, int(time.time())), "any secret passes"
    assert not verify(one["secret"], header, got.body + " ", int(time.time())), "body unsigned"

    async def logged() -> list[dict[str, Any]]:
        return await deliveries(shops["shop1"], one["id"])

    async def delivered_once() -> bool:
        return [(r["attempt"], r["outcome"]) for r in await logged()] == [(1, "delivered")]

    await eventually(delivered_once, "the delivery in shop1's log")
    row = (await logged())[0]
    assert row["job_id"] == mine and row["status_code"] == 200
    assert row["delivery_id"] == body["id"]


async def test_a_failing_receiver_is_tried_again_with_backoff(
    system: Stack,
    shops: dict[str, httpx.AsyncClient],
    publisher: EventPublisher,
    receiver: Receiver,
) -> None:
    receiver.failing["/flaky"] = 3
    hook = await add_webhook(
        shops["shop1"],
        {"url": receiver.url("/flaky"), "events": ["job.error"], "job_types": ["inventory_report"]},
    )
    job_id = await failing_job(publisher, "shop1")

    async def attempts() -> list[dict[str, Any]]:
        rows = await deliveries(shops["shop1"], hook["id"])
        return sorted(rows, key=lambda r: r["attempt"])

    async def delivered() -> bool:
        return any(r["outcome"] == "delivered" for r in await attempts())

    await eventually(delivered, "the flaky receiver's delivery")
    rows = await attempts()
    assert [(r["attempt"], r["status_code"], r["outcome"]) for r in rows] == [
        (1, 500, "retrying"),
        (2, 500, "retrying"),
        (3, 500, "retrying"),
        (4, 200, "delivered"),
    ]
    assert {r["job_id"] for r in rows} == {job_id}
    # One delivery: the same id in every attempt, what the receiver dedupes on.
    sent = receiver.at("/flaky")
    assert len(sent) == 4
    assert len({r.headers[DELIVERY_HEADER] for r in sent}) == 1
    assert len({r.body for r in sent}) == 1
    # Backoff: each retry waited longer than the one before (30 s, 60 s, 120 s scaled).
    times = [datetime.fromisoformat(r["at"]) for r in rows]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    scale = system.time_scale
    assert gaps[0] >= 30 / scale and gaps[1] >= 60 / scale and gaps[2] >= 120 / scale
