"""One account on three marketplaces, on the real stack: a stock change of a synced SKU
reaches Amazon on every marketplace, an explicit update for one marketplace touches only
that one, and one without a marketplace becomes a job per marketplace."""

from __future__ import annotations

import pytest

from devtools.topics_read import read_to_end
from devtools.world import MARKETPLACE, Seller, job_events, open_shop, sandbox_listings, submit
from shared.events import JobDone, JobReserved, ListingState, StockChanged
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.topics import CATALOG_EVENTS, JOB_EVENTS, LISTINGS
from tests.e2e.synced import until_listings_known
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

DE, FR, IT = MARKETPLACE, "A13V1IB3VIYZZH", "APJ6JRA9NG5V4"


async def test_changes_reach_the_marketplaces_they_are_for(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("mk", shop_id="shop-mk", listed=3, orders=0, marketplaces=[DE, FR, IT])
    await open_shop(pipeline.sandbox_url, publisher, seller, synced_skus=range(3))
    await until_listings_known(pipeline.bootstrap, publisher, seller, range(3))

    async def quantities(sku: str) -> dict[str, int]:
        return {
            m: (await sandbox_listings(pipeline.sandbox_url, seller, m))[sku]["quantity"]
            for m in (DE, FR, IT)
        }

    # A stock change of a SKU synced on three marketplaces: three feeds, one each.
    await publisher.publish(
        CATALOG_EVENTS,
        seller.shop_id,
        StockChanged(shop_id=seller.shop_id, sku=seller.sku(0), quantity=7),
    )

    async def everywhere() -> bool:
        return await quantities(seller.sku(0)) == {DE: 7, FR: 7, IT: 7}

    await eventually(everywhere, "the new stock on amazon.de, .fr and .it")

    # An explicit update for amazon.fr alone.
    only_fr = seller.request(
        JobType.UPDATE_QTY,
        job_id="mk-fr-only",
        items=[{"sku": seller.sku(1), "quantity": 3}],
        marketplace_id=FR,
    )
    await submit(publisher, only_fr)
    events = await job_events(pipeline.bootstrap, {only_fr.job_id})
    assert isinstance(events[only_fr.job_id][-1], JobDone)
    assert await quantities(seller.sku(1)) == {DE: 10, FR: 3, IT: 10}

    # Without a marketplace: one job per marketplace, the first keeping the id.
    every = seller.request(
        JobType.UPDATE_QTY, job_id="mk-all", items=[{"sku": seller.sku(2), "quantity": 5}]
    )
    await submit(publisher, every)

    async def split_jobs() -> dict[str, str]:
        found = await read_to_end(
            pipeline.bootstrap,
            JOB_EVENTS.name,
            where=lambda e: isinstance(e, JobReserved) and e.job_id.startswith("mk-all"),
        )
        jobs = {e.job_id: e.data.marketplace_id or "" for e in found if isinstance(e, JobReserved)}
        return jobs if len(jobs) == 3 else {}

    jobs = await eventually(split_jobs, "three jobs for the three marketplaces")
    assert jobs["mk-all"] == DE and sorted(jobs.values()) == sorted([DE, FR, IT])
    ended = await job_events(pipeline.bootstrap, set(jobs))
    assert all(isinstance(e[-1], JobDone) for e in ended.values())
    assert await quantities(seller.sku(2)) == {DE: 5, FR: 5, IT: 5}

    # The sync state is kept per marketplace: .fr's SKU-1 is at 3, the others at 10.
    records = await read_to_end(
        pipeline.bootstrap,
        LISTINGS.name,
        where=lambda e: isinstance(e, ListingState) and e.sku == seller.sku(1),
    )
    latest = {e.marketplace_id: e for e in records if isinstance(e, ListingState)}
    assert latest[FR].quantity == 3 and latest[FR].status == "active"
    assert latest[FR].last_job_id == only_fr.job_id
    assert {latest[DE].quantity, latest[IT].quantity} == {10}
