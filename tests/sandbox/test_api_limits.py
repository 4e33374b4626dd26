"""Amazon's published limits over HTTP: per-seller buckets at the models' numbers, the
JSON_LISTINGS_FEED window on top of createFeed's bucket, restores at the published rate
(time-scaled), and overrides per seller."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from services.amazon_sandbox.app import create_app
from services.amazon_sandbox.clock import ManualClock
from services.amazon_sandbox.settings import SandboxSettings
from tests.sandbox.conftest import MARKETPLACE, SELLER, Sandbox

OTHER = "A3OTHER"
OTHER_TOKEN = "Atzr|other"
TIME_SCALE = 60.0
FULFILLMENT = "POST_ORDER_FULFILLMENT_DATA"
LISTINGS = "JSON_LISTINGS_FEED"


async def search_catalog(sandbox: Sandbox, auth: dict[str, str]) -> httpx.Response:
    return await sandbox.client.get(
        "/catalog/2022-04-01/items",
        params={
            "identifiers": "4006381333931",
            "identifiersType": "EAN",
            "marketplaceIds": MARKETPLACE,
        },
        headers=auth,
    )


async def create_feed(
    sandbox: Sandbox, auth: dict[str, str], document_id: str, feed_type: str
) -> httpx.Response:
    return await sandbox.client.post(
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": feed_type,
            "marketplaceIds": [MARKETPLACE],
            "inputFeedDocumentId": document_id,
        },
        headers=auth,
    )


async def test_third_immediate_catalog_search_is_429_and_another_seller_is_unaffected(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    await sandbox.register(seller_id=OTHER, refresh_token=OTHER_TOKEN)
    other = await sandbox.login(OTHER_TOKEN)
    codes = [(await search_catalog(sandbox, auth)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # searchCatalogItems: burst 2
    assert [(await search_catalog(sandbox, other)).status_code for _ in range(2)] == [200, 200]
    assert (await sandbox.stats(SELLER))["searchCatalogItems"] == {
        "calls": 3,
        "accepted": 2,
        "throttled": 1,
        "errors": 0,
    }
    assert (await sandbox.stats(OTHER))["searchCatalogItems"]["throttled"] == 0


async def test_sixth_listings_feed_in_five_minutes_is_429_while_a_fulfillment_feed_goes_through(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    document = await sandbox.upload(auth, b"{}")
    codes = []
    for _ in range(6):
        codes.append((await create_feed(sandbox, auth, document, LISTINGS)).status_code)
        sandbox.clock.advance(10)
    assert codes == [202] * 5 + [429]
    throttled = await create_feed(sandbox, auth, document, LISTINGS)
    assert throttled.status_code == 429
    assert throttled.json()["errors"][0]["code"] == "QuotaExceeded"
    assert "Retry-After" not in throttled.headers
    # createFeed's own bucket (burst 15) still has tokens: other feed types go through.
    fulfillment = await create_feed(sandbox, auth, document, FULFILLMENT)
    assert fulfillment.status_code == 202
    assert fulfillment.headers["x-amzn-RateLimit-Limit"] == "0.0083"
    # The window rolls: the first feed (t=0) leaves it five Amazon minutes later.
    sandbox.clock.advance(300 - 60 - 0.1)
    assert (await create_feed(sandbox, auth, document, LISTINGS)).status_code == 429
    sandbox.clock.advance(0.1)
    assert (await create_feed(sandbox, auth, document, LISTINGS)).status_code == 202
    assert (await create_feed(sandbox, auth, document, LISTINGS)).status_code == 429
    assert (await sandbox.stats())["createFeed"] == {
        "calls": 11,
        "accepted": 7,
        "throttled": 4,
        "errors": 0,
    }


async def test_listings_feed_window_is_per_seller(sandbox: Sandbox, auth: dict[str, str]) -> None:
    await sandbox.register(seller_id=OTHER, refresh_token=OTHER_TOKEN)
    other = await sandbox.login(OTHER_TOKEN)
    mine, theirs = await sandbox.upload(auth, b"{}"), await sandbox.upload(other, b"{}")
    for _ in range(5):
        assert (await create_feed(sandbox, auth, mine, LISTINGS)).status_code == 202
    assert (await create_feed(sandbox, auth, mine, LISTINGS)).status_code == 429
    assert (await create_feed(sandbox, other, theirs, LISTINGS)).status_code == 202


async def test_the_listings_feed_window_can_be_lifted_per_seller(sandbox: Sandbox) -> None:
    await sandbox.register(
        quotas={
            "createFeed": {"burst": 100, "rate_per_s": 1},
            "JSON_LISTINGS_FEED": {"max_calls": 50, "window_s": 300},
        }
    )
    auth = await sandbox.login()
    document = await sandbox.upload(auth, b"{}")
    codes = [(await create_feed(sandbox, auth, document, LISTINGS)).status_code for _ in range(51)]
    assert codes == [202] * 50 + [429]


@pytest.mark.parametrize(
    "quotas",
    [
        {"JSON_LISTINGS_FEED": {"burst": 5, "rate_per_s": 1}},
        {"createFeed": {"max_calls": 5, "window_s": 300}},
        {"createFeed": {"burst": 5, "rate_per_s": 1, "hourly_cap": 30}},
    ],
)
async def test_overrides_must_fit_the_limit_they_name(
    sandbox: Sandbox, quotas: dict[str, object]
) -> None:
    response = await sandbox.client.post(
        "/_sandbox/sellers",
        json={"seller_id": "S", "refresh_token": "t", "marketplace_ids": ["M"], "quotas": quotas},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


@pytest.fixture
async def scaled() -> AsyncIterator[Sandbox]:
    """A sandbox at time scale 60 (an Amazon minute per real second), on a manual clock."""
    clock = ManualClock(time_scale=TIME_SCALE)
    app = create_app(SandboxSettings(time_scale=TIME_SCALE), clock=clock, rng=random.Random(1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://s") as client:
        sandbox = Sandbox(client, clock)
        await sandbox.register()
        yield sandbox


Call = Callable[[], Awaitable[httpx.Response]]


async def search_catalog_call(sandbox: Sandbox, auth: dict[str, str]) -> Call:
    return lambda: search_catalog(sandbox, auth)


async def fulfillment_feed_call(sandbox: Sandbox, auth: dict[str, str]) -> Call:
    document = await sandbox.upload(auth, b"<AmazonEnvelope/>", "text/xml")
    return lambda: create_feed(sandbox, auth, document, FULFILLMENT)


async def get_orders_call(sandbox: Sandbox, auth: dict[str, str]) -> Call:
    params = {"MarketplaceIds": MARKETPLACE, "CreatedAfter": "2025-11-01T00:00:00Z"}
    return lambda: sandbox.client.get("/orders/v0/orders", params=params, headers=auth)


async def create_report_call(sandbox: Sandbox, auth: dict[str, str]) -> Call:
    body = {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [MARKETPLACE]}
    return lambda: sandbox.client.post("/reports/2021-06-30/reports", json=body, headers=auth)


async def get_feed_call(sandbox: Sandbox, auth: dict[str, str]) -> Call:
    return lambda: get_feed(sandbox, auth)  # a 404 takes its token too


async def get_feed(sandbox: Sandbox, auth: dict[str, str]) -> httpx.Response:
    return await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=auth)


# The models' usage plans (spapi-models/*.json): burst, and rate as Amazon writes it.
@pytest.mark.parametrize(
    ("make_call", "burst", "rate"),
    [
        (search_catalog_call, 2, "2.0"),
        (fulfillment_feed_call, 15, "0.0083"),
        (get_orders_call, 20, "0.0167"),
        (create_report_call, 15, "0.0167"),
        (get_feed_call, 15, "2.0"),
    ],
    ids=["searchCatalogItems", "createFeed", "getOrders", "createReport", "getFeed"],
)
async def test_burst_then_tokens_come_back_at_the_published_rate_time_scaled(
    scaled: Sandbox,
    make_call: Callable[[Sandbox, dict[str, str]], Awaitable[Call]],
    burst: int,
    rate: str,
) -> None:
    call = await make_call(scaled, await scaled.login())
    first = [await call() for _ in range(burst)]
    assert all(r.status_code != 429 for r in first), [r.status_code for r in first]
    assert {r.headers["x-amzn-RateLimit-Limit"] for r in first} == {rate}  # Amazon units
    assert (await call()).status_code == 429
    # One token per 1/rate Amazon seconds, which the time scale makes 60 times shorter.
    period = 1 / float(rate) / TIME_SCALE
    scaled.clock.advance(period * 0.99)
    assert (await call()).status_code == 429
    scaled.clock.advance(period * 0.01)
    assert (await call()).status_code != 429
    assert (await call()).status_code == 429
