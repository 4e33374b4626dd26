"""No value from one shop can stop the others (docs/design.md §10, §12): values at the
edges — integers past 2**63, 1e309, NaN, NUL and control characters, 1 MB strings, deep
nesting, wrong types — through the HTTP API are a 422 naming the field; as raw bytes on
amazon.job-requests, prestashop.catalog-events and amazon.job-events each becomes a
dead letter with the reason (a job request with a bad payload: a job in ``error`` with
the reason); and a job of another shop published after all of them is projected.

One system for the module (every service a process, the API too). test_poison.py has the
messages near the broker's size limit; this module has the values.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from devtools.topics_read import records_to_end
from devtools.world import TERMINAL, Seller, open_shop, submit
from shared.chunking import request_parts
from shared.codec import decode
from shared.events import DeadLettered, JobEvent
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.topics import CATALOG_EVENTS, DEAD_LETTERS, JOB_EVENTS, JOB_REQUESTS
from tests.e2e.conftest import PIPELINE, make_stack
from tests.stack import ADMIN_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SHOP = Seller("poisonval", shop_id="shop-pv", catalog_size=5, listed=5, orders=0)
LATER = Seller("poisonlater", shop_id="shop-pl", catalog_size=5, listed=5, orders=0)
MB = "x" * 1_000_000
DEEP = 100_000  # deeper than any parser's stack
NESTED = 500  # within the parser's stack: a value of the wrong shape


@pytest.fixture(scope="module")
def pipeline(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    db_url = mongo_url.rsplit("/", 1)[0] + f"/poisonval_{uuid.uuid4().hex[:8]}"
    # Parts of a request wait 2 s for the rest (test_a_retried_request_in_parts…).
    stack = make_stack(topics, db_url, test_output_dir / "e2e", SUBMITTER_ASSEMBLY_TIMEOUT_S="2")
    try:
        stack.start([*PIPELINE, "api"])
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
async def api(pipeline: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=pipeline.api_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60
    ) as client:
        yield client


@pytest.fixture(scope="module")
async def shop(pipeline: Stack, publisher: EventPublisher, api: httpx.AsyncClient) -> Seller:
    """The shop the API cases name, its account projected (else every case is a 404)."""
    await open_shop(pipeline.sandbox_url, publisher, SHOP, range(SHOP.listed))

    async def projected() -> bool:
        reply = await api.get(f"/v1/accounts/{SHOP.account_id}/listings")
        return reply.status_code == 200

    await eventually(projected, f"account {SHOP.account_id} in the projection")
    return SHOP


async def until_status(api: httpx.AsyncClient, job_id: str, status: str) -> None:
    """Until the API shows the job in ``status``."""

    async def shown() -> bool:
        reply = await api.get(f"/v1/jobs/{job_id}")
        return reply.status_code == 200 and reply.json()["status"] == status

    await eventually(shown, f"job {job_id} {status} in the API")


def envelope(event_type: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": "2026-11-27T10:00:00Z",
    }


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# ------------------------------------------------------------------ through the API


def job(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "shop_id": SHOP.shop_id,
        "account_id": SHOP.account_id,
        "job_type": "update_qty",
        "items": [{"sku": SHOP.sku(0), "quantity": 3}],
    }
    return {**body, **over}


def qty(value: Any) -> dict[str, Any]:
    return job(items=[{"sku": SHOP.sku(0), "quantity": value}])


def shipped(**over: Any) -> dict[str, Any]:
    item = {
        "amazon_order_id": "028-1234567-1234567",
        "carrier": "DHL",
        "tracking_number": "00340434161234567890",
        "shipped_at": "2026-11-27T09:00:00Z",
        "items": [{"order_item_id": "12345678901234", "quantity": 1}],
    }
    return job(job_type="orders_fulfillment", items=[{**item, **over}])


def account(**over: Any) -> dict[str, Any]:
    body = {
        "account_id": "acc-pv-new",
        "shop_id": SHOP.shop_id,
        "name": "Poison",
        "seller_id": "A1POISON",
        "region": "EU",
        "marketplace_ids": ["A1PA6795UKMFR9"],
        "lwa": {"client_id": "c", "client_secret": "s", "refresh_token": "Atzr|t"},
    }
    return {**body, **over}


def literal(body: dict[str, Any], field: str, written: str) -> bytes:
    """``body`` as JSON with the value of ``field`` (0 in ``body``) written as ``written``:
    what json.dumps would never write (NaN, 1e309, 5,000 digits, nesting too deep)."""
    return json.dumps(body).replace(f'"{field}": 0', f'"{field}": {written}').encode()


def price(value: Any) -> dict[str, Any]:
    return job(job_type="update_price", items=[{"sku": "A", "price": value, "currency": "EUR"}])


LWA = {"client_id": "c", "client_secret": "s"}
JOBS, ACCOUNTS = "/v1/jobs", "/v1/accounts"
API_CASES: list[tuple[str, str, bytes | dict[str, Any], str]] = [
    ("quantity 2**70", JOBS, qty(2**70), "items.0.quantity"),
    ("quantity -1", JOBS, qty(-1), "items.0.quantity"),
    ("quantity 1e309", JOBS, literal(qty(0), "quantity", "1e309"), "items.0.quantity"),
    ("quantity NaN", JOBS, literal(qty(0), "quantity", "NaN"), "items.0.quantity"),
    ("quantity 7…7", JOBS, literal(qty(0), "quantity", "7" * 5000), "items.0.quantity"),
    ("quantity as text", JOBS, qty("3"), "items.0.quantity"),
    ("quantity 3.5", JOBS, qty(3.5), "items.0.quantity"),
    ("price 1e309", JOBS, literal(price(0), "price", "1e309"), "items.0.price"),
    ("price of 20 digits", JOBS, price("12345678901234567890"), "items.0.price"),
    ("priority 2**70", JOBS, job(priority=2**70), "priority"),
    ("priority Infinity", JOBS, literal(job(priority=0), "priority", "Infinity"), "priority"),
    ("NUL in a SKU", JOBS, job(items=[{"sku": "A\x00B", "quantity": 1}]), "items.0.sku"),
    ("a bell in a carrier", JOBS, shipped(carrier="DH\x07L"), "items.0.carrier"),
    ("a 1 MB SKU", JOBS, job(items=[{"sku": MB, "quantity": 1}]), "items.0.sku"),
    ("a 1 MB account id", JOBS, job(account_id=MB), "account_id"),
    ("a 1 MB job id", JOBS, job(job_id=MB), "job_id"),
    ("NUL in a job id", JOBS, job(job_id="j\x00"), "job_id"),
    ("nesting in an item", JOBS, qty(json.loads(deep(NESTED))), "items.0.quantity"),
    ("nesting past the parser", JOBS, literal(job(items=0), "items", deep(DEEP)), "body"),
    ("params of an item job", JOBS, job(params={"n": 2**70}), "params"),
    ("a field no item has", JOBS, job(items=[{"sku": "A", "quantity": 1, "x": []}]), "items.0.x"),
    ("items as an object", JOBS, job(items={"sku": "A"}), "items"),
    ("a job type as a number", JOBS, job(job_type=5), "job_type"),
    ("25,001 items", JOBS, job(items=[{"sku": "S", "quantity": 1}] * 25_001), "items"),
    ("NUL in an account name", ACCOUNTS, account(name="Po\x00ison"), "name"),
    ("a 1 MB marketplace id", ACCOUNTS, account(marketplace_ids=[MB]), "marketplace_ids.0"),
    (
        "a 1 MB refresh token",
        ACCOUNTS,
        account(lwa={**LWA, "refresh_token": MB}),
        "lwa.refresh_token",
    ),
    ("a region as a list", ACCOUNTS, account(region=["EU"]), "region"),
]


@pytest.mark.parametrize(
    ("path", "body", "field"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
async def test_a_value_at_the_edge_through_the_api_is_a_422_naming_the_field(
    api: httpx.AsyncClient, shop: Seller, path: str, body: bytes | dict[str, Any], field: str
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = await api.post(path, content=content, headers={"Content-Type": "application/json"})
    assert reply.status_code == 422, reply.text[:500]
    error = reply.json()["error"]
    assert error["message"].startswith(f"{field}:"), error["message"][:500]
    assert len(reply.content) < 10_000  # the reason, not the value echoed back


# ------------------------------------------------------------------ through raw Kafka bytes


def request_with(key: str, **over: Any) -> dict[str, Any]:
    return {
        **envelope("JobRequested"),
        "job_id": key,
        "shop_id": SHOP.shop_id,
        "account_id": SHOP.account_id,
        "job_type": "update_qty",
        "items": [{"sku": SHOP.sku(1), "quantity": 2}],
        **over,
    }


def change_with(key: str, **over: Any) -> dict[str, Any]:
    return {**envelope("StockChanged"), "shop_id": key, "sku": "SKU-1", "quantity": 2, **over}


def job_event_with(key: str, **over: Any) -> dict[str, Any]:
    """A job's one event, done at once: no worker has anything to drive."""
    return {
        **envelope("JobDone"),
        "job_id": key,
        "seq": 1,
        "shop_id": "shop-pv-events",
        "account_id": "acc-pv-events",
        "job_type": "update_qty",
        "status": "done",
        **over,
    }


def nan(payload: dict[str, Any], field: str) -> bytes:
    return json.dumps({**payload, field: 0}).replace(f'"{field}": 0', f'"{field}": NaN').encode()


def nested_too_deep(payload: dict[str, Any], field: str) -> bytes:
    text = json.dumps({**payload, field: 0})
    return text.replace(f'"{field}": 0', f'"{field}": {deep(DEEP)}').encode()


def key_of(kind: str) -> str:
    return f"pv-{kind}-{uuid.uuid4().hex[:8]}"


# Dead letters: (topic, key, value, who writes the letter, what its reason says).
def letter_cases() -> list[tuple[str, str, bytes, str, str]]:
    cases: list[tuple[str, str, bytes, str, str]] = []
    for kind, make, payload_field in (
        ("request", request_with, "items"),
        ("change", change_with, "quantity"),
        ("event", job_event_with, "data"),
    ):
        topic = {"request": JOB_REQUESTS, "change": CATALOG_EVENTS, "event": JOB_EVENTS}[kind]
        owner = "PROJECTOR" if kind == "event" else "SUBMITTER"
        k = key_of(f"{kind}-nan")
        cases.append((topic.name, k, nan(make(k), payload_field), owner, "malformed JSON"))
        k = key_of(f"{kind}-deep")
        cases.append((topic.name, k, nested_too_deep(make(k), payload_field), owner, "nested"))
    k = key_of("request-nul")
    cases.append(
        (JOB_REQUESTS.name, k, json.dumps(request_with(f"{k}\x00")).encode(), "SUBMITTER", "job_id")
    )
    k = key_of("request-type")
    cases.append(
        (
            JOB_REQUESTS.name,
            k,
            json.dumps(request_with(k, items="all")).encode(),
            "SUBMITTER",
            "items",
        )
    )
    k = key_of("change-huge")
    cases.append(
        (
            CATALOG_EVENTS.name,
            k,
            json.dumps(change_with(k, quantity=2**70)).encode(),
            "SUBMITTER",
            "quantity",
        )
    )
    k = key_of("change-nul")
    cases.append(
        (
            CATALOG_EVENTS.name,
            k,
            json.dumps(change_with(k, sku="A\x00")).encode(),
            "SUBMITTER",
            "sku",
        )
    )
    k = key_of("change-mb")
    cases.append(
        (
            CATALOG_EVENTS.name,
            k,
            json.dumps(change_with(k, sku=MB[:300_000])).encode(),
            "SUBMITTER",
            "sku",
        )
    )
    k = key_of("change-text")
    cases.append(
        (
            CATALOG_EVENTS.name,
            k,
            json.dumps(change_with(k, quantity="2")).encode(),
            "SUBMITTER",
            "quantity",
        )
    )
    k = key_of("change-bell")
    shipped_change = {
        **envelope("OrderShipped"),
        "shop_id": k,
        "account_id": "acc-x",
        "amazon_order_id": "028-1234567-1234567",
        "carrier": "DH\x07L",
        "tracking_number": "1",
        "shipped_at": "2026-11-27T09:00:00Z",
        "items": [{"order_item_id": "1", "quantity": 1}],
    }
    cases.append(
        (CATALOG_EVENTS.name, k, json.dumps(shipped_change).encode(), "SUBMITTER", "carrier")
    )
    # A job event's data is typed (shared.job_data): a value out of range or a key of no
    # payload is refused on reading, by the projector as by every worker.
    k = key_of("event-huge")
    cases.append(
        (
            JOB_EVENTS.name,
            k,
            json.dumps(job_event_with(k, data={"processed": 2**70})).encode(),
            "PROJECTOR",
            "data.processed: Input should be less than or equal",
        )
    )
    k = key_of("event-nul-key")
    cases.append(
        (
            JOB_EVENTS.name,
            k,
            json.dumps(job_event_with(k, data={"a\x00b": 1})).encode(),
            "PROJECTOR",
            "Extra inputs are not permitted",
        )
    )
    # Item requests are open objects: such an event decodes, and the projector cannot
    # write it to MongoDB.
    k = key_of("event-item")
    item = {"key": "A", "status": "accepted", "request": {"quantity": -(2**64)}}
    cases.append(
        (
            JOB_EVENTS.name,
            k,
            json.dumps(job_event_with(k, items=[item])).encode(),
            "PROJECTOR",
            "OverflowError",
        )
    )
    return cases  # fmt: skip


async def letters_by_key(bootstrap: str, wanted: dict[str, str]) -> dict[str, DeadLettered]:
    """The first letter of each key written by its consumer group: read from the start of
    amazon.dead-letters until every one is there."""
    consumer = AIOKafkaConsumer(
        DEAD_LETTERS.name,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: dict[str, DeadLettered] = {}
    try:
        while len(found) < len(wanted):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for rec in records:
                    key = (rec.key or b"").decode("utf-8", "replace")
                    if key in wanted and key not in found and rec.value is not None:
                        letter = decode(rec.value, DEAD_LETTERS.event_types)
                        assert isinstance(letter, DeadLettered)
                        if letter.consumer_group == wanted[key]:
                            found[key] = letter
    finally:
        await consumer.stop()
    return found


async def ended_jobs(bootstrap: str, job_ids: set[str]) -> dict[str, list[JobEvent]]:
    """Every event of these jobs once each has a terminal one, read past the poison on
    amazon.job-events (which devtools.world.job_events would choke on)."""
    consumer = AIOKafkaConsumer(
        JOB_EVENTS.name,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: dict[str, list[JobEvent]] = {j: [] for j in job_ids}
    try:
        while not all(f and f[-1].event_type in TERMINAL for f in found.values()):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for rec in records:
                    if (rec.key or b"").decode("utf-8", "replace") not in job_ids:
                        continue
                    event = decode(rec.value)
                    assert isinstance(event, JobEvent)
                    found[event.job_id].append(event)
    finally:
        await consumer.stop()
    return found


async def events_now(bootstrap: str, job_id: str) -> list[JobEvent]:
    """Every event of the job on amazon.job-events up to its end now (the poison on the
    topic is keyed otherwise, so it is never decoded)."""
    records = await records_to_end(bootstrap, JOB_EVENTS.name)
    events = [decode(r.value) for r in records if r.key == job_id.encode() and r.value]
    assert all(isinstance(e, JobEvent) for e in events), events
    return [e for e in events if isinstance(e, JobEvent)]


async def test_values_at_the_edge_on_the_bus_are_dead_letters_or_failed_jobs_and_the_next_shop_runs(
    pipeline: Stack, publisher: EventPublisher, api: httpx.AsyncClient, shop: Seller
) -> None:
    groups = {
        "SUBMITTER": pipeline.extra_env["SUBMITTER_CONSUMER_GROUP"],
        "PROJECTOR": pipeline.extra_env["PROJECTOR_CONSUMER_GROUP"],
    }
    cases = letter_cases()
    # Requests that decode but whose items or params are bad: jobs in error.
    failing: dict[str, dict[str, Any]] = {
        key_of("request-huge"): {"items": [{"sku": SHOP.sku(1), "quantity": 2**70}]},
        key_of("request-bell"): {"items": [{"sku": "A\x07", "quantity": 1}]},
        key_of("request-params"): {"params": {"n": 2**70}},
        key_of("request-priority"): {"priority": 10**30},
    }
    for topic, key, value, _, _ in cases:
        await publisher.publish_raw(topic, key.encode(), value)
    for key, over in failing.items():
        value = json.dumps(request_with(key, **over)).encode()
        await publisher.publish_raw(JOB_REQUESTS.name, key.encode(), value)
    # Then another shop's job, after all of them.
    await open_shop(pipeline.sandbox_url, publisher, LATER, range(LATER.listed))
    later = LATER.request(JobType.UPDATE_QTY, items=[{"sku": LATER.sku(2), "quantity": 6}])
    await submit(publisher, later)

    letters = await letters_by_key(
        pipeline.bootstrap, {key: groups[owner] for _, key, _, owner, _ in cases}
    )
    for topic, key, _, _, why in cases:
        assert letters[key].original_topic == topic
        assert why in letters[key].error, (key, letters[key].error)

    events = await ended_jobs(pipeline.bootstrap, set(failing))
    for key, over in failing.items():
        (failed,) = events[key]
        assert failed.event_type == "JobFailed"
        field = next(iter(over))
        assert field in failed.log[-1].message, failed.log[-1].message

    await until_status(api, later.job_id, "done")
    for key in failing:
        row = (await api.get(f"/v1/jobs/{key}")).json()
        assert row["status"] == "error", row
    ready = await api.get("/readyz")
    assert ready.status_code == 200, ready.text
    exited = {n: s.log_tail(20) for n, s in pipeline.services.items() if not s.alive()}
    assert not exited, exited


# ------------------------------------------------------------------ requests in parts


async def test_a_retried_request_in_parts_is_one_job(
    pipeline: Stack, publisher: EventPublisher, api: httpx.AsyncClient, shop: Seller
) -> None:
    """A request in parts runs; the API asked again answers 202 and sends nothing; parts of
    it sent again (a retry the API could not finish) change nothing, even once they would
    have waited past SUBMITTER_ASSEMBLY_TIMEOUT_S for the rest."""
    request = SHOP.request(
        JobType.UPDATE_QTY, items=[{"sku": SHOP.sku(n), "quantity": n + 1} for n in range(4)]
    )
    parts = request_parts(request, budget=80)  # a few items a part
    assert len(parts) > 1
    await publisher.publish_many([(JOB_REQUESTS, request.job_id, p) for p in parts])
    await until_status(api, request.job_id, "done")

    again = await api.post(
        "/v1/jobs",
        json={
            "job_id": request.job_id,
            "shop_id": SHOP.shop_id,
            "account_id": SHOP.account_id,
            "job_type": "update_qty",
            "items": request.items,
        },
    )
    assert again.status_code == 202, again.text
    # As a retry sends it: the same part, a new event id.
    await publisher.publish(
        JOB_REQUESTS, request.job_id, parts[0].model_copy(update={"event_id": uuid.uuid4()})
    )
    # A request whose second part never comes: once it is refused, the first one's lone
    # repeated part would have been too.
    marker = SHOP.request(JobType.UPDATE_QTY, items=request.items)
    first, *_ = request_parts(marker, budget=80)
    await publisher.publish(JOB_REQUESTS, marker.job_id, first)
    marked = await ended_jobs(pipeline.bootstrap, {marker.job_id})
    assert [e.event_type for e in marked[marker.job_id]] == ["JobFailed"]
    assert "parts came within" in marked[marker.job_id][0].log[-1].message

    kinds = [e.event_type for e in await events_now(pipeline.bootstrap, request.job_id)]
    assert kinds[-1] == "JobDone" and "JobFailed" not in kinds, kinds
    assert kinds.count("JobReserved") == 1
