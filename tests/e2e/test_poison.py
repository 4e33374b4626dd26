"""No input stops the system (docs/design.md §12): a message just under the broker's limit
that cannot be processed, on each inbound topic, ends as a dead letter within the message
bound; the next normal message of another shop is processed; no service process exits.

Black-box: messages in, topics out, and the processes' liveness. Every service runs as a
process, the API too (its projector is the owner that dead-letters ``amazon.accounts``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.topics_read import collect
from devtools.world import TERMINAL, Seller, job_events, open_shop, submit
from shared.events import DeadLettered, JobEvent, StockChanged
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.limits import MAX_MESSAGE_BYTES
from shared.topics import ACCOUNTS, CATALOG_EVENTS, JOB_REQUESTS
from tests.e2e.conftest import PIPELINE, make_stack
from tests.kafka_helpers import dead_letters_of
from tests.stack import ADMIN_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SIZE = 1_000_000  # the topics take 1 MiB; our own messages stay under 512 KiB
JOBS = Seller("poisonjobs", shop_id="shop-pj")
CATALOG = Seller("poisoncat", shop_id="shop-pc", catalog_size=5, listed=5, orders=0)
LATE = Seller("poisonacc", shop_id="shop-pa")


@pytest.fixture(scope="module")
def pipeline(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    """Every service, the API included, on a database of its own."""
    db_url = mongo_url.rsplit("/", 1)[0] + f"/poison_{uuid.uuid4().hex[:8]}"
    stack = make_stack(topics, db_url, test_output_dir / "e2e")
    try:
        stack.start([*PIPELINE, "api"])
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
async def shops(pipeline: Stack, publisher: EventPublisher) -> None:
    for seller in (JOBS, CATALOG):
        await open_shop(pipeline.sandbox_url, publisher, seller, range(CATALOG.listed))


def padded(payload: dict[str, Any], field: str, unit: Any) -> bytes:
    """``payload`` as JSON with ``field`` grown from ``unit`` to just under SIZE bytes."""
    base = len(json.dumps({**payload, field: [] if isinstance(unit, dict) else ""}))
    if isinstance(unit, dict):
        each = len(json.dumps(unit)) + 2
        value: Any = [unit] * ((SIZE - base) // each)
    else:
        value = unit * (SIZE - base - 1)
    raw = json.dumps({**payload, field: value}).encode()
    assert SIZE - 100 < len(raw) <= SIZE, len(raw)
    return raw


def envelope(event_type: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": "2026-11-27T10:00:00Z",
    }


async def assert_dead_lettered(
    stack: Stack, topic: str, key: str, value: bytes, group: str
) -> DeadLettered:
    [(size, letter)] = await dead_letters_of(stack.bootstrap, key, 1, timeout_s=90)
    assert size <= MAX_MESSAGE_BYTES
    assert (letter.original_topic, letter.consumer_group) == (topic, group)
    assert (letter.raw_stored, letter.raw_value) == ("reference", None)
    assert letter.raw_size == len(value)
    assert letter.raw_sha256 == hashlib.sha256(value).hexdigest()
    assert letter.raw_head is not None and value.startswith(letter.raw_head.encode())
    return letter


def assert_all_alive(stack: Stack) -> None:
    exited = {n: s.log_tail(20) for n, s in stack.services.items() if not s.alive()}
    assert not exited, f"exited: {exited}"
    assert {n: s.starts for n, s in stack.services.items()} == dict.fromkeys(stack.services, 1)


async def test_a_huge_request_nobody_can_read_is_dead_lettered_and_the_next_one_runs(
    pipeline: Stack, publisher: EventPublisher, shops: None
) -> None:
    """About 20,000 items under a job id no job can have: the submitter's letter refers to
    it, and another shop's request behind it runs to the end."""
    key = f"poison-{uuid.uuid4().hex[:8]}"
    request = {
        **envelope("JobRequested"),
        "job_id": f"{key} is not an id!",
        "shop_id": "shop-poison",
        "account_id": "acc-poison",
        "job_type": "update_qty",
    }
    value = padded(request, "items", {"sku": "POISON-SKU-000000000001", "quantity": 1})
    await publisher.publish_raw(JOB_REQUESTS.name, key.encode(), value)
    normal = JOBS.request(JobType.UPDATE_QTY, items=[{"sku": JOBS.sku(0), "quantity": 4}])
    await submit(publisher, normal)

    letter = await assert_dead_lettered(
        pipeline,
        JOB_REQUESTS.name,
        key,
        value,
        pipeline.extra_env["SUBMITTER_CONSUMER_GROUP"],
    )
    assert "job_id" in letter.error
    events = await job_events(pipeline.bootstrap, {normal.job_id})
    assert events[normal.job_id][-1].event_type == "JobDone"
    assert_all_alive(pipeline)


async def test_a_huge_catalog_event_nobody_can_read_is_dead_lettered_and_the_next_one_runs(
    pipeline: Stack, publisher: EventPublisher, shops: None
) -> None:
    """A stock change whose shop id is a megabyte long, then another shop's stock change:
    that one becomes an automatic job that ends done."""
    key = f"poison-{uuid.uuid4().hex[:8]}"
    change = {**envelope("StockChanged"), "sku": "A", "quantity": 1}
    value = padded(change, "shop_id", "x")
    await publisher.publish_raw(CATALOG_EVENTS.name, key.encode(), value)
    normal = StockChanged(shop_id=CATALOG.shop_id, sku=CATALOG.sku(2), quantity=17)
    await publisher.publish(CATALOG_EVENTS, CATALOG.shop_id, normal)

    letter = await assert_dead_lettered(
        pipeline,
        CATALOG_EVENTS.name,
        key,
        value,
        pipeline.extra_env["SUBMITTER_CONSUMER_GROUP"],
    )
    assert "shop_id" in letter.error
    done = await collect(
        pipeline.bootstrap,
        "amazon.job-events",
        lambda found: bool(found),
        where=lambda e: (
            isinstance(e, JobEvent)
            and e.account_id == CATALOG.account_id
            and e.event_type in TERMINAL
        ),
        timeout_s=90,
    )
    assert [e.event_type for e in done] == ["JobDone"]
    assert_all_alive(pipeline)


async def test_a_huge_account_nobody_can_read_is_dead_lettered_and_the_next_one_is_used(
    pipeline: Stack, publisher: EventPublisher, shops: None
) -> None:
    """An account whose name is a megabyte long: the API's projector dead-letters it
    (every worker only skips it); an account registered after it is projected and used."""
    key = f"acc-poison-{uuid.uuid4().hex[:8]}"
    account = {
        **envelope("AccountRegistered"),
        "account_id": key,
        "shop_id": "shop-poison",
        "seller_id": "A1POISON",
        "region": "EU",
        "marketplace_ids": ["A1PA6795UKMFR9"],
        "credentials": {"key_id": "k1", "ciphertext": "c2VjcmV0"},
    }
    value = padded(account, "name", "x")
    await publisher.publish_raw(ACCOUNTS.name, key.encode(), value)
    await open_shop(pipeline.sandbox_url, publisher, LATE)

    letter = await assert_dead_lettered(
        pipeline, ACCOUNTS.name, key, value, pipeline.extra_env["PROJECTOR_CONSUMER_GROUP"]
    )
    assert "name" in letter.error
    async with httpx.AsyncClient(
        base_url=pipeline.api_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    ) as api:

        async def projected() -> bool:
            rows = (await api.get("/v1/accounts", params={"limit": 500})).json()["data"]
            return LATE.account_id in {r["id"] for r in rows}

        await eventually(projected, "the late account in the projection")
    job = LATE.request(JobType.UPDATE_QTY, items=[{"sku": LATE.sku(1), "quantity": 2}])
    await submit(publisher, job)
    events = await job_events(pipeline.bootstrap, {job.job_id})
    assert events[job.job_id][-1].event_type == "JobDone"
    assert_all_alive(pipeline)
