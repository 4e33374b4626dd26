"""A SKU going out of stock reaches Amazon by patchListingsItem, without a feed, and does
not wait behind a large automatic job that waits for a feed token."""

from __future__ import annotations

import pytest

from devtools.stock_out import time_stock_out
from devtools.topics_read import read_to_end
from devtools.world import Seller, job_events, open_shop, sandbox_listings, sandbox_stats, submit
from shared.events import (
    Event,
    JobDone,
    JobEvent,
    JobLogged,
    JobReserved,
    ListingState,
    StockChanged,
)
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.topics import CATALOG_EVENTS, JOB_EVENTS, LISTINGS
from tests.e2e.synced import until_listings_known
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

# The drained seller has one feed token and (for the test's life) no more.
THROTTLE_OVERRIDES = {"A2DRAINEDSELLER": {"feed_submit": {"burst": 1, "rate_per_s": 0.000001}}}


async def _account_events(pipeline: Stack, seller: Seller) -> list[JobEvent]:
    events = await read_to_end(
        pipeline.bootstrap,
        JOB_EVENTS.name,
        where=lambda e: isinstance(e, JobEvent) and e.account_id == seller.account_id,
    )
    return [e for e in events if isinstance(e, JobEvent)]


async def _listing(pipeline: Stack, seller: Seller, sku: str) -> ListingState | None:
    def mine(e: Event) -> bool:
        return isinstance(e, ListingState) and e.account_id == seller.account_id and e.sku == sku

    found = await read_to_end(pipeline.bootstrap, LISTINGS.name, where=mine)
    # Newest by when it was written: a listing's records before and after it gained its
    # marketplace in the key sit on different partitions, so topic order says nothing.
    states = [e for e in found if isinstance(e, ListingState)]
    return max(states, key=lambda e: e.occurred_at) if states else None


async def _urgent_job(pipeline: Stack, seller: Seller, sku: str) -> str:
    """The id of the urgent automatic job that carries ``sku``."""
    for event in await _account_events(pipeline, seller):
        if (
            isinstance(event, JobReserved)
            and event.data.urgent
            and any(i.key == sku for i in event.items or [])
        ):
            return event.job_id
    raise AssertionError(f"no urgent automatic job carries {sku}")


async def test_a_stock_out_goes_by_patch_with_no_feed_and_the_listing_synced(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("urgent", shop_id="shop-urgent", listed=6, orders=0)
    await open_shop(pipeline.sandbox_url, publisher, seller, synced_skus=range(6))
    await until_listings_known(pipeline.bootstrap, publisher, seller, range(6))
    feeds_before = (await sandbox_stats(pipeline.sandbox_url, seller))["createFeed"]["calls"]
    sku = seller.sku(3)

    seconds = await time_stock_out(
        pipeline.sandbox_url,
        publisher,
        shop_id=seller.shop_id,
        seller_id=seller.seller_id,
        sku=sku,
    )

    job_id = await _urgent_job(pipeline, seller, sku)
    events = (await job_events(pipeline.bootstrap, {job_id}))[job_id]
    done = events[-1]
    assert isinstance(done, JobDone)
    assert (done.data.processed, done.data.accepted, done.data.errors) == (1, 1, 0)
    assert [e.event_type for e in events if not e.IS_ANNOTATION] == [
        "JobReserved",
        "JobCreated",
        "JobProcessing",
        "JobDone",  # no waiting_for_result: the answer was the result
    ]
    recorded = [i for e in events if isinstance(e, JobLogged) for i in e.items or []]
    assert [(i.key, i.status) for i in recorded] == [(sku, "accepted")]
    assert [(i.key, i.status) for i in done.items or []] == [(sku, "accepted")]
    listing = await eventually(
        lambda: _listing(pipeline, seller, sku), f"{sku}'s listing state to be written"
    )
    assert listing is not None
    assert (listing.status, listing.quantity, listing.last_job_id) == ("active", 0, job_id)
    assert listing.as_of is not None
    stats = await sandbox_stats(pipeline.sandbox_url, seller)
    assert stats["createFeed"]["calls"] == feeds_before
    assert stats["patchListingsItem"] == {"calls": 1, "accepted": 1, "throttled": 0, "errors": 0}
    print(f"\nstock to 0 visible at the sandbox after {seconds:.2f}s (real)")

    # An explicit stop of one SKU goes the same way, and its listing leaves the sync.
    stop = seller.request(JobType.STOP_PRODUCTS, items=[{"sku": seller.sku(4)}])
    await submit(publisher, stop)
    stopped = (await job_events(pipeline.bootstrap, {stop.job_id}))[stop.job_id]
    assert isinstance(stopped[-1], JobDone) and stopped[-1].data.accepted == 1
    assert (await sandbox_listings(pipeline.sandbox_url, seller))[seller.sku(4)]["quantity"] == 0
    stop_listing = await eventually(
        lambda: _stopped(pipeline, seller, seller.sku(4)), "the stopped listing state"
    )
    assert stop_listing is not None
    assert (stop_listing.quantity, stop_listing.last_job_id) == (0, stop.job_id)
    assert (await sandbox_stats(pipeline.sandbox_url, seller))["createFeed"][
        "calls"
    ] == feeds_before


async def _stopped(pipeline: Stack, seller: Seller, sku: str) -> ListingState | None:
    listing = await _listing(pipeline, seller, sku)
    return listing if listing is not None and listing.status == "stopped" else None


async def test_a_stock_out_does_not_wait_for_the_large_job_waiting_for_a_feed_token(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller(
        "drained", shop_id="shop-drained", listed=30, orders=0, seller_id="A2DRAINEDSELLER"
    )
    await open_shop(pipeline.sandbox_url, publisher, seller, synced_skus=range(30))
    # Spend the account's one feed token on an explicit job.
    first = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(29), "quantity": 8}])
    await submit(publisher, first)
    assert isinstance(
        (await job_events(pipeline.bootstrap, {first.job_id}))[first.job_id][-1], JobDone
    )
    feeds = (await sandbox_stats(pipeline.sandbox_url, seller))["createFeed"]["calls"]
    assert feeds == 1

    # A large automatic quantity job forms and waits for a feed token that will not come.
    quantities = {seller.sku(n): 7 for n in range(29)}

    async def waiting_job() -> str | None:
        events = await _account_events(pipeline, seller)
        held: dict[str, set[str]] = {}
        for e in events:
            if e.job_id != first.job_id:
                held.setdefault(e.job_id, set()).update(i.key for i in e.items or [])
        full = [job for job, skus in held.items() if skus >= set(quantities)]
        if full:
            return full[0]
        await publisher.publish_many(
            [
                (
                    CATALOG_EVENTS,
                    seller.shop_id,
                    StockChanged(shop_id=seller.shop_id, sku=sku, quantity=qty),
                )
                for sku, qty in quantities.items()
            ]
        )
        return None

    large = await eventually(waiting_job, "an automatic job of every SKU", every_s=1.0)

    sku = seller.sku(2)
    seconds = await time_stock_out(
        pipeline.sandbox_url,
        publisher,
        shop_id=seller.shop_id,
        seller_id=seller.seller_id,
        sku=sku,
    )

    urgent = await _urgent_job(pipeline, seller, sku)
    events = (await job_events(pipeline.bootstrap, {urgent}))[urgent]
    assert isinstance(events[-1], JobDone) and events[-1].data.accepted == 1
    large_events = [e for e in await _account_events(pipeline, seller) if e.job_id == large]
    assert [e.status.value for e in large_events if not e.IS_ANNOTATION] == ["reserved"]
    # The large job will send SKU 2's new quantity, not the older 7, when its token comes.
    last_for_sku = [i for e in large_events for i in e.items or [] if i.key == sku][-1]
    assert last_for_sku.request["quantity"] == 0
    assert (await sandbox_stats(pipeline.sandbox_url, seller))["createFeed"]["calls"] == feeds
    at_amazon = await sandbox_listings(pipeline.sandbox_url, seller)
    assert at_amazon[sku]["quantity"] == 0
    assert at_amazon[seller.sku(3)]["quantity"] == 10  # the large job's 7 is not there yet
    print(f"\nstock to 0 behind a drained feed quota: visible after {seconds:.2f}s (real)")
