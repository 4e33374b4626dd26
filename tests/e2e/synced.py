"""Waiting until the submitter acts on a new shop's synced listings.

The submitter drops a catalog change for a listing it does not know as synced yet
(services/submitter/coalescing.py), and it learns accounts and listings from their topics
some time after open_shop wrote them. So a test that publishes changes right after
opening a shop first sends each listing its unchanged quantity until every one of them
shows up in an automatic job, and waits for those jobs to end.
"""

from __future__ import annotations

from devtools.topics_read import read_to_end
from devtools.world import TERMINAL, Seller
from shared.events import JobEvent, JobReserved, StockChanged
from shared.kafka.producer import EventPublisher
from shared.topics import CATALOG_EVENTS, JOB_EVENTS
from tests.waiting import eventually


async def until_listings_known(
    bootstrap: str, publisher: EventPublisher, seller: Seller, listed: range
) -> set[str]:
    """Once the submitter turns a change of each listing in ``listed`` into a job on every
    marketplace of the seller, and those jobs have ended: the ids of those (probe) jobs."""
    listings = {seller.sku(n): seller.listing(n).quantity for n in listed}

    async def probe_jobs_ended() -> set[str]:
        events = await read_to_end(
            bootstrap,
            JOB_EVENTS.name,
            where=lambda e: isinstance(e, JobEvent) and e.account_id == seller.account_id,
        )
        jobs = {e.job_id for e in events if isinstance(e, JobEvent)}
        market = {e.job_id: e.data.marketplace_id for e in events if isinstance(e, JobReserved)}
        covered = {
            (market.get(e.job_id), item.key)
            for e in events
            if isinstance(e, JobEvent)
            for item in e.items or []
        }
        missing = [
            sku for sku in listings if any((m, sku) not in covered for m in seller.marketplaces)
        ]
        if missing:
            # Dropped as not synced, or not read yet: sending again is harmless either way
            # (the same quantity, coalesced into one job).
            await publisher.publish_many(
                [
                    (
                        CATALOG_EVENTS,
                        seller.shop_id,
                        StockChanged(shop_id=seller.shop_id, sku=sku, quantity=listings[sku]),
                    )
                    for sku in missing
                ]
            )
            return set()
        ended = {e.job_id for e in events if isinstance(e, JobEvent) and e.event_type in TERMINAL}
        return jobs if jobs <= ended else set()

    return await eventually(
        probe_jobs_ended,
        "the submitter to turn every synced listing's change into a job",
        every_s=1.0,
    )
