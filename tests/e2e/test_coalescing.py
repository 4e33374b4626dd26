"""5,000 stock changes for 500 SKUs of one account end as a handful of feeds, and Amazon
ends with each SKU's last quantity."""

from __future__ import annotations

import random
import time

import pytest

from devtools.topics_read import collect
from devtools.world import Seller, open_shop, sandbox_listings, sandbox_stats
from shared.events import JobDone, StockChanged
from shared.kafka.producer import EventPublisher
from shared.topics import CATALOG_EVENTS, JOB_EVENTS
from tests.e2e.synced import until_listings_known
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SKUS = 500
CHANGES = 5_000


async def test_stock_changes_are_coalesced_into_few_feeds(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("coal", shop_id="shop-coal", catalog_size=SKUS, listed=SKUS, orders=0)
    await open_shop(pipeline.sandbox_url, publisher, seller, synced_skus=range(SKUS))
    probes = await until_listings_known(pipeline.bootstrap, publisher, seller, range(SKUS))
    feeds_before = (await sandbox_stats(pipeline.sandbox_url, seller))["createFeed"]["calls"]
    rng = random.Random(7)
    changes = [
        StockChanged(
            shop_id=seller.shop_id,
            sku=seller.sku(rng.randrange(SKUS)),
            quantity=rng.randrange(0, 500),
        )
        for _ in range(CHANGES)
    ]
    last = {c.sku: c.quantity for c in changes}
    last.update({seller.sku(n): last.get(seller.sku(n), 10) for n in range(SKUS)})
    started = time.monotonic()
    for start in range(0, CHANGES, 500):  # as fast as the producer takes them
        await publisher.publish_many(
            [(CATALOG_EVENTS, c.shop_id, c) for c in changes[start : start + 500]]
        )
    published_s = time.monotonic() - started

    async def amazon_converged() -> bool:
        at_amazon = await sandbox_listings(pipeline.sandbox_url, seller)
        return all(at_amazon[sku]["quantity"] == qty for sku, qty in last.items())

    await eventually(amazon_converged, "every SKU's last quantity at Amazon")
    converged_s = time.monotonic() - started

    calls = (await sandbox_stats(pipeline.sandbox_url, seller))["createFeed"]["calls"]
    feeds = calls - feeds_before
    touched = len({c.sku for c in changes})
    done = await collect(
        pipeline.bootstrap,
        JOB_EVENTS.name,
        lambda found: sum(len(getattr(e, "items", None) or []) for e in found) >= touched,
        where=lambda e: (
            isinstance(e, JobDone) and e.account_id == seller.account_id and e.job_id not in probes
        ),
    )
    print(
        f"\ncoalescing: {CHANGES} changes for {SKUS} SKUs published in {published_s:.2f}s, "
        f"Amazon converged after {converged_s:.1f}s with {feeds} createFeed call(s) in "
        f"{len(done)} automatic job(s)"
    )
    assert 1 <= feeds <= 5
    assert all(isinstance(e, JobDone) and e.data.errors == 0 for e in done)
