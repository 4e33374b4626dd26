"""An automatic job asks for its createFeed token as soon as it is full; one that is not
full keeps collecting for its coalesce window (docs/design.md §4). The window here is a
week of Amazon time, far beyond the test: what goes to Amazon went because it was full."""

from __future__ import annotations

from decimal import Decimal

import pytest

from devtools.topics_read import read_to_end
from devtools.world import Seller, open_shop, sandbox_listings
from shared.events import Event, JobEvent, PriceChanged, StockChanged
from shared.jobs import JobStatus, JobType
from shared.kafka.producer import EventPublisher
from shared.topics import CATALOG_EVENTS, JOB_EVENTS
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

FULL = 20
STACK_ENV = {
    "SUBMITTER_AUTO_JOB_MAX_ITEMS": str(FULL),
    "SUBMITTER_COALESCE_WINDOW_S": str(7 * 86_400),
}


async def automatic_jobs(
    pipeline: Stack, seller: Seller, job_type: JobType
) -> dict[str, list[JobEvent]]:
    def mine(event: Event) -> bool:
        return (
            isinstance(event, JobEvent)
            and event.account_id == seller.account_id
            and event.job_type is job_type
        )

    jobs: dict[str, list[JobEvent]] = {}
    for event in await read_to_end(pipeline.bootstrap, JOB_EVENTS.name, where=mine):
        assert isinstance(event, JobEvent)
        jobs.setdefault(event.job_id, []).append(event)
    return jobs


def skus_of(events: list[JobEvent]) -> set[str]:
    return {item.key for event in events for item in event.items or []}


async def test_a_full_automatic_job_goes_to_amazon_while_a_partial_one_keeps_collecting(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("fulljob", shop_id="shop-fulljob", catalog_size=FULL, listed=FULL, orders=0)
    await open_shop(pipeline.sandbox_url, publisher, seller, synced_skus=range(FULL))

    # One price change: a job of its own kind that stays far from full. Sent again until
    # the submitter knows the listing as synced (until then it drops the change).
    price = PriceChanged(
        shop_id=seller.shop_id, sku=seller.sku(0), price=Decimal("9.99"), currency="EUR"
    )

    async def partial_job() -> str:
        jobs = await automatic_jobs(pipeline, seller, JobType.UPDATE_PRICE)
        if not jobs:
            await publisher.publish(CATALOG_EVENTS, seller.shop_id, price)
            return ""
        (job_id,) = jobs
        return job_id

    partial = await eventually(partial_job, "an automatic price job", every_s=0.5)

    # Stock changes of every SKU fill a job to its last item; missing ones are sent again.
    quantities = {seller.sku(n): 100 + n for n in range(FULL)}

    async def full_job_done() -> str:
        jobs = await automatic_jobs(pipeline, seller, JobType.UPDATE_QTY)
        taken = set().union(*map(skus_of, jobs.values())) if jobs else set()
        missing = [sku for sku in quantities if sku not in taken]
        await publisher.publish_many(
            [
                (
                    CATALOG_EVENTS,
                    seller.shop_id,
                    StockChanged(shop_id=seller.shop_id, sku=s, quantity=quantities[s]),
                )
                for s in missing
            ]
        )
        done = [j for j, events in jobs.items() if events[-1].event_type == "JobDone"]
        return done[0] if done else ""

    full = await eventually(full_job_done, "the full stock job to be done", every_s=0.5)

    stock_jobs = await automatic_jobs(pipeline, seller, JobType.UPDATE_QTY)
    assert list(stock_jobs) == [full]
    assert skus_of(stock_jobs[full]) == set(quantities)
    at_amazon = await sandbox_listings(pipeline.sandbox_url, seller)
    assert {sku: at_amazon[sku]["quantity"] for sku in quantities} == quantities
    # The price job opened first and is still collecting: it asked for no token.
    price_events = (await automatic_jobs(pipeline, seller, JobType.UPDATE_PRICE))[partial]
    assert {e.status for e in price_events} == {JobStatus.RESERVED}
    assert at_amazon[seller.sku(0)]["price"] == 20.0
