"""Jobs of the size Amazon allows: 25,000 items through the API and 25,000 SKUs coalesced
from catalog events, each done with every item readable page by page, and no message on
any topic over the bound (docs/design.md §10, §11).

The four run at once on one stack, as four shops would: each test checks its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from devtools.topics_read import largest_message
from devtools.world import Seller, ean, open_shop
from shared.events import StockChanged
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.limits import MAX_ITEMS, MAX_MESSAGE_BYTES
from shared.topics import CATALOG_EVENTS, LISTINGS, listing_key
from tests.e2e.conftest import PIPELINE, make_stack
from tests.stack import ADMIN_KEY, Stack
from tests.waiting import eventually

# Four 25,000-item jobs share the stack; the first test's setup waits for all of them.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1200)]

# Jobs of 25,000 items side by side on a shared machine: waits end a hung run only.
HUNG_S = 900.0

N = MAX_ITEMS


@pytest.fixture(scope="module")
def stack(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    # The projector on its own, as deployed at this size: four jobs' projection must not
    # hold up the API's answers.
    stack = make_stack(topics, mongo_url, test_output_dir / "e2e", API_RUN_PROJECTOR="false")
    try:
        stack.start([*PIPELINE, "projector", "api"])
        yield stack
    finally:
        stack.stop()


def api(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=httpx.Timeout(120.0),
    )


async def wait_done(http: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = {}

    async def check() -> bool:
        nonlocal job
        answer = await http.get(f"/v1/jobs/{job_id}")
        job = answer.json() if answer.status_code == 200 else {}
        return job.get("status") in ("done", "error", "canceled")

    await eventually(check, f"job {job_id} to end", every_s=0.5, timeout_s=HUNG_S)
    assert job.get("status") == "done", job
    return job


async def item_pages(http: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get(f"/v1/jobs/{job_id}/items", params=params)).json()
        rows += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def big_seller(name: str) -> Seller:
    return Seller(name, shop_id=f"shop-{name}", catalog_size=N, listed=N, orders=0)


Outcome = tuple[list[dict[str, Any]], list[dict[str, Any]]]  # the jobs, their item rows


def request_item(job_type: JobType, seller: Seller, n: int) -> dict[str, Any]:
    if job_type is JobType.SEND_PRODUCTS:
        return {
            "sku": seller.sku(n),
            "ean": ean(n),
            "quantity": 5,
            "price": "12.50",
            "currency": "EUR",
        }
    if job_type is JobType.UPDATE_QTY_PRICE:
        return {"sku": seller.sku(n), "quantity": n % 100, "price": "9.90", "currency": "EUR"}
    return {"sku": seller.sku(n)}


def api_seller(job_type: JobType) -> Seller:
    return big_seller(f"big{job_type.value.replace('_', '')[:10]}")


async def through_the_api(stack: Stack, publisher: EventPublisher, job_type: JobType) -> Outcome:
    seller = api_seller(job_type)
    async with api(stack) as http:
        body = {
            "shop_id": seller.shop_id,
            "account_id": seller.account_id,
            "job_type": job_type.value,
            "items": [request_item(job_type, seller, n) for n in range(N)],
        }

        async def accepted_or_refused() -> list[httpx.Response]:
            answer = await http.post("/v1/jobs", json=body)
            # 404 until the account reaches the projection; nothing is created meanwhile.
            return [] if answer.status_code == 404 else [answer]

        (answer,) = await eventually(
            accepted_or_refused,
            "the account to reach the projection",
            every_s=0.5,
            timeout_s=HUNG_S,
        )
        assert answer.status_code == 202, answer.text
        job = await wait_done(http, answer.json()["job_id"])
        return [job], await item_pages(http, job["id"])


async def coalesced(stack: Stack, publisher: EventPublisher) -> Outcome:
    seller = big_seller("bigauto")
    await publisher.publish_many(
        [
            (LISTINGS, listing_key(seller.account_id, seller.sku(n)), seller.listing(n))
            for n in range(N)
        ]
    )
    # The projection has read them all; the submitter reads the same compacted topic.
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.mongo_url)
    try:
        listings = client.get_default_database()["listings"]

        async def all_projected() -> bool:
            return await listings.count_documents({"account_id": seller.account_id}) >= N

        await eventually(
            all_projected, "the projection to hold every listing", every_s=0.5, timeout_s=HUNG_S
        )
    finally:
        await client.close()
    await publisher.publish_many(
        [
            (
                CATALOG_EVENTS,
                seller.shop_id,
                StockChanged(shop_id=seller.shop_id, sku=seller.sku(n), quantity=n % 77),
            )
            for n in range(N)
        ]
    )
    async with api(stack) as http:
        jobs: list[dict[str, Any]] = []

        async def all_done() -> bool:
            nonlocal jobs
            page = (
                await http.get("/v1/jobs", params={"account_id": seller.account_id, "limit": 200})
            ).json()
            jobs = page["data"]
            return sum(j["items"]["total"] for j in jobs) >= N and all(
                j["status"] == "done" for j in jobs
            )

        await eventually(all_done, "every coalesced job to be done", every_s=0.5, timeout_s=HUNG_S)
        return jobs, [r for j in jobs for r in await item_pages(http, j["id"])]


API_KINDS = [JobType.SEND_PRODUCTS, JobType.UPDATE_QTY_PRICE, JobType.STOP_PRODUCTS]


@pytest.fixture(scope="module")
async def outcomes(stack: Stack, publisher: EventPublisher) -> dict[str, Outcome | BaseException]:
    """Every scenario run to its end at the same time (a failure is kept, not raised, so
    each test reports its own)."""
    names = [*(k.value for k in API_KINDS), "coalesced"]
    # One at a time: the sandbox builds each seller's 25,000 listings in one request.
    for seller in [*(api_seller(k) for k in API_KINDS), big_seller("bigauto")]:
        await open_shop(stack.sandbox_url, publisher, seller)
    results = await asyncio.gather(
        *(through_the_api(stack, publisher, k) for k in API_KINDS),
        coalesced(stack, publisher),
        return_exceptions=True,
    )
    return dict(zip(names, results, strict=True))


def outcome_of(outcomes: dict[str, Outcome | BaseException], name: str) -> Outcome:
    result = outcomes[name]
    if isinstance(result, BaseException):
        raise result
    return result


@pytest.mark.parametrize("job_type", API_KINDS)
async def test_a_job_of_25000_items_through_the_api_is_done_item_by_item(
    outcomes: dict[str, Outcome | BaseException], job_type: JobType
) -> None:
    (job,), rows = outcome_of(outcomes, job_type.value)
    assert job["status"] == "done" and job["items"]["total"] == N, job
    assert len(rows) == N
    assert len({r["key"] for r in rows}) == N
    accepted = sum(1 for r in rows if r["status"] in ("accepted", "warning"))
    assert accepted == N, {r["status"] for r in rows}


async def test_25000_skus_coalesced_into_automatic_jobs_are_done_item_by_item(
    outcomes: dict[str, Outcome | BaseException],
) -> None:
    jobs, rows = outcome_of(outcomes, "coalesced")
    assert sum(j["items"]["total"] for j in jobs) == N, jobs
    assert {j["status"] for j in jobs} == {"done"}
    assert len({r["key"] for r in rows}) == N
    assert all(r["status"] == "accepted" for r in rows)


async def test_no_message_on_any_topic_is_over_the_bound(
    stack: Stack, outcomes: dict[str, Outcome | BaseException]
) -> None:
    size, where = await largest_message(stack.bootstrap)
    print(f"\nlargest message on any topic after four 25,000-item jobs: {size} bytes ({where})")
    assert size > 100_000  # the run did carry large parts and chunks
    assert size <= MAX_MESSAGE_BYTES
