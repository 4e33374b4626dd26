"""Every job type from request to applied result, each service its own process, against
the real broker and the real sandbox (time-scaled)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from devtools.topics_read import collect
from devtools.world import (
    Seller,
    ean,
    job_events,
    open_shop,
    order_id,
    sandbox_listings,
    submit,
)
from shared.events import (
    CancelRequested,
    DeadLettered,
    InventoryRow,
    JobCanceled,
    JobCancelRejected,
    JobCreated,
    JobDone,
    JobEvent,
    JobFailed,
    JobReserved,
    JobSubmitted,
    ListingState,
    OrderImported,
)
from shared.job_data import said
from shared.jobs import JobStatus, JobType
from shared.kafka.producer import EventPublisher
from shared.throttle.messages import BucketSnapshot
from shared.topics import (
    DEAD_LETTERS,
    INVENTORY,
    JOB_EVENTS,
    JOB_REQUESTS,
    LISTINGS,
    ORDERS,
    THROTTLE_SNAPSHOTS,
)
from tests.stack import Stack

pytestmark = pytest.mark.integration

# The slow seller gets one feed token and practically no restore: its second job stays created.
THROTTLE_OVERRIDES = {"A2SLOWSELLER": {"feed_submit": {"burst": 1, "rate_per_s": 0.000001}}}


def statuses(events: list[JobEvent]) -> list[str]:
    return [e.event_type for e in events]


async def test_every_job_type_reaches_done_and_amazon_shows_it(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("all", shop_id="shop-all")
    await open_shop(pipeline.sandbox_url, publisher, seller)
    since = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    shipped_at = datetime.now(UTC).isoformat()
    jobs = {
        JobType.SEND_PRODUCTS: seller.request(
            JobType.SEND_PRODUCTS,
            items=[
                {
                    "sku": seller.sku(n),
                    "ean": ean(n),
                    "quantity": 5,
                    "price": "24.90",
                    "currency": "EUR",
                }
                for n in (15, 16)
            ],
        ),
        JobType.UPDATE_QTY: seller.request(
            JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 3}]
        ),
        JobType.UPDATE_PRICE: seller.request(
            JobType.UPDATE_PRICE,
            items=[{"sku": seller.sku(1), "price": "15.50", "currency": "EUR"}],
        ),
        JobType.UPDATE_QTY_PRICE: seller.request(
            JobType.UPDATE_QTY_PRICE,
            items=[{"sku": seller.sku(2), "quantity": 4, "price": "12.00", "currency": "EUR"}],
        ),
        JobType.STOP_PRODUCTS: seller.request(
            JobType.STOP_PRODUCTS, items=[{"sku": seller.sku(3)}]
        ),
        JobType.STOP_REMOVE_PRODUCTS: seller.request(
            JobType.STOP_REMOVE_PRODUCTS, items=[{"sku": seller.sku(4)}]
        ),
        JobType.ORDERS_FULFILLMENT: seller.request(
            JobType.ORDERS_FULFILLMENT,
            items=[
                {
                    "amazon_order_id": order_id(0),
                    "carrier": "DHL",
                    "tracking_number": "0034043",
                    "shipped_at": shipped_at,
                    "items": [{"order_item_id": f"{0:014d}", "quantity": 1}],
                }
            ],
        ),
        JobType.INVENTORY_REPORT: seller.request(JobType.INVENTORY_REPORT, params={}),
        JobType.ORDERS_IMPORT: seller.request(JobType.ORDERS_IMPORT, params={"since": since}),
    }
    await submit(publisher, *jobs.values())
    events = await job_events(pipeline.bootstrap, {j.job_id for j in jobs.values()})

    for job_type, request in jobs.items():
        seen = events[request.job_id]
        assert seen[-1].event_type == "JobDone", (job_type, statuses(seen), seen[-1].log)
        expected = ["JobReserved", "JobCreated", "JobProcessing"]
        if job_type is JobType.ORDERS_IMPORT:
            assert [s for s in statuses(seen) if s != "JobLogged"] == [*expected, "JobDone"]
        elif job_type is JobType.STOP_PRODUCTS:
            # One SKU to stop: by patchListingsItem, its answer recorded, no feed.
            assert statuses(seen) == [*expected, "JobLogged", "JobDone"]
        else:
            # One log line between processing and submitted: "sending the request to
            # Amazon", the mark a new owner after a crash reads (docs/design.md §15).
            assert statuses(seen) == [
                *expected,
                "JobLogged",
                "JobSubmitted",
                "JobResultReady",
                "JobDone",
            ]
            assert said(seen[3].data) == {"sending": True}
        assert [e.seq for e in seen if not e.IS_ANNOTATION] == list(
            range(1, 1 + len([e for e in seen if not e.IS_ANNOTATION]))
        )
        done = seen[-1]
        assert isinstance(done, JobDone)
        if job_type.carries_items:
            assert {i.key: i.status for i in done.items or []} == {
                i["sku"] if "sku" in i else i["amazon_order_id"]: "accepted"
                for i in request.items or []
            }, done.items

    at_amazon = await sandbox_listings(pipeline.sandbox_url, seller)
    assert at_amazon[seller.sku(15)]["asin"] == seller.asin(15)
    assert at_amazon[seller.sku(16)]["quantity"] == 5
    assert at_amazon[seller.sku(0)]["quantity"] == 3
    assert Decimal(str(at_amazon[seller.sku(1)]["price"])) == Decimal("15.50")
    assert (
        at_amazon[seller.sku(2)]["quantity"],
        Decimal(str(at_amazon[seller.sku(2)]["price"])),
    ) == (4, Decimal("12.00"))
    assert at_amazon[seller.sku(3)]["quantity"] == 0
    assert at_amazon[seller.sku(4)]["quantity"] == 0
    async with httpx.AsyncClient() as http:
        orders = (
            await http.get(f"{pipeline.sandbox_url}/_sandbox/sellers/{seller.seller_id}/orders")
        ).json()
    status = {o["AmazonOrderId"]: o["OrderStatus"] for o in orders["orders"]}
    assert status[order_id(0)] == "Shipped"  # the buyer is charged now
    assert status[order_id(1)] == "Unshipped"

    wanted = {seller.sku(n) for n in (0, 1, 2, 3, 4, 15, 16)}
    listing_states = await collect(
        pipeline.bootstrap,
        LISTINGS.name,
        lambda found: {getattr(e, "sku", None) for e in found} >= wanted,
        where=lambda e: (
            isinstance(e, ListingState)
            and e.account_id == seller.account_id
            and e.status != "pending"
        ),
    )
    latest = {e.sku: e for e in listing_states if isinstance(e, ListingState)}
    assert latest[seller.sku(3)].status == "stopped"
    assert latest[seller.sku(4)].status == "removed"
    assert (latest[seller.sku(15)].status, latest[seller.sku(15)].asin) == (
        "active",
        seller.asin(15),
    )

    rows = await collect(
        pipeline.bootstrap,
        INVENTORY.name,
        lambda f: len(f) >= seller.listed,
        where=lambda e: (
            isinstance(e, InventoryRow) and e.job_id == jobs[JobType.INVENTORY_REPORT].job_id
        ),
    )
    assert {r.sku for r in rows if isinstance(r, InventoryRow)} >= {seller.sku(n) for n in (5, 6)}
    imported = await collect(
        pipeline.bootstrap,
        ORDERS.name,
        lambda f: len(f) >= seller.orders,
        where=lambda e: (
            isinstance(e, OrderImported) and e.job_id == jobs[JobType.ORDERS_IMPORT].job_id
        ),
    )
    assert {o.amazon_order_id for o in imported if isinstance(o, OrderImported)} == {
        order_id(n) for n in range(seller.orders)
    }


async def test_a_feed_with_bad_items_is_done_with_exactly_those_in_error(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("bad", shop_id="shop-bad")
    await open_shop(pipeline.sandbox_url, publisher, seller)
    job = seller.request(
        JobType.UPDATE_QTY,
        items=[
            {"sku": seller.sku(5), "quantity": 1},
            {"sku": "NOT-AT-AMAZON", "quantity": 2},
            {"sku": seller.sku(6), "quantity": 8},
        ],
    )
    await submit(publisher, job)
    done = (await job_events(pipeline.bootstrap, {job.job_id}))[job.job_id][-1]
    assert isinstance(done, JobDone)
    outcome = {i.key: i.status for i in done.items or []}
    assert outcome == {
        seller.sku(5): "accepted",
        "NOT-AT-AMAZON": "error",
        seller.sku(6): "accepted",
    }
    bad = next(i for i in done.items or [] if i.key == "NOT-AT-AMAZON")
    assert (bad.messages and "NOT-AT-AMAZON" in " ".join(bad.messages)) or bad.messages
    assert (done.data.errors, done.data.accepted) == (1, 2)
    at_amazon = await sandbox_listings(pipeline.sandbox_url, seller)
    assert at_amazon[seller.sku(6)]["quantity"] == 8


async def test_a_fatal_feed_fails_the_job(pipeline: Stack, publisher: EventPublisher) -> None:
    seller = Seller("fatal", shop_id="shop-fatal")
    await open_shop(pipeline.sandbox_url, publisher, seller)
    async with httpx.AsyncClient() as http:
        (
            await http.post(
                f"{pipeline.sandbox_url}/_sandbox/faults",
                json={"seller_id": seller.seller_id, "fatal_feeds": True},
            )
        ).raise_for_status()
    job = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 1}])
    await submit(publisher, job)
    seen = (await job_events(pipeline.bootstrap, {job.job_id}))[job.job_id]
    assert statuses(seen)[-2:] == ["JobSubmitted", "JobFailed"]
    assert seen[-1].status is JobStatus.ERROR
    assert "FATAL" in " ".join(line.message for line in seen[-1].log)


async def test_cancel_in_created_restores_the_items(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("slow", shop_id="shop-slow", seller_id="A2SLOWSELLER")
    await open_shop(pipeline.sandbox_url, publisher, seller, synced_skus=range(3))
    first = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 1}])
    second = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(1), "quantity": 99}])
    await submit(publisher, first)
    await job_events(pipeline.bootstrap, {first.job_id})  # took the account's only token
    await submit(publisher, second)
    await collect(
        pipeline.bootstrap,
        JOB_EVENTS.name,
        lambda found: bool(found),
        where=lambda e: isinstance(e, JobCreated) and e.job_id == second.job_id,
    )
    # Queued at the throttle, no token in sight: its snapshot shows the request waiting.
    await collect(
        pipeline.bootstrap,
        THROTTLE_SNAPSHOTS.name,
        lambda found: bool(found),
        where=lambda e: (
            isinstance(e, BucketSnapshot)
            and e.quota_key.seller_id == seller.seller_id
            and e.queue_depth >= 1
        ),
    )
    await publisher.publish(
        JOB_REQUESTS, second.job_id, CancelRequested(job_id=second.job_id, shop_id=seller.shop_id)
    )
    seen = (await job_events(pipeline.bootstrap, {second.job_id}))[second.job_id]
    assert statuses(seen) == ["JobReserved", "JobCreated", "JobCanceled"]
    canceled = seen[-1]
    assert isinstance(canceled, JobCanceled)
    assert [(i.key, i.status) for i in canceled.items or []] == [(seller.sku(1), "canceled")]
    # The listing was shown pending with 99 while queued; now it is as before: active, 10.
    states = await collect(
        pipeline.bootstrap,
        LISTINGS.name,
        lambda f: len(f) >= 3,
        where=lambda e: isinstance(e, ListingState) and e.sku == seller.sku(1),
    )
    # In the order they were written (the seeded record and the job's sit under different
    # keys, so on different partitions).
    written = sorted(
        (s for s in states if isinstance(s, ListingState)), key=lambda s: s.occurred_at
    )
    assert [(s.status, s.quantity) for s in written][-2:] == [
        ("pending", 99),
        ("active", 10),
    ]
    at_amazon = await sandbox_listings(pipeline.sandbox_url, seller)
    assert at_amazon[seller.sku(1)]["quantity"] == 10  # nothing reached Amazon


async def test_cancel_while_waiting_for_the_result_is_rejected(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("lag", shop_id="shop-lag")
    await open_shop(pipeline.sandbox_url, publisher, seller)
    async with httpx.AsyncClient() as http:
        for operation in ("getFeed", "getFeeds"):
            (
                await http.post(
                    f"{pipeline.sandbox_url}/_sandbox/faults",
                    json={
                        "seller_id": seller.seller_id,
                        "operation": operation,
                        "latency_ms": 6000,
                    },
                )
            ).raise_for_status()
    job = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 2}])
    await submit(publisher, job)
    await collect(
        pipeline.bootstrap,
        JOB_EVENTS.name,
        lambda found: bool(found),
        where=lambda e: isinstance(e, JobSubmitted) and e.job_id == job.job_id,
    )
    await publisher.publish(
        JOB_REQUESTS, job.job_id, CancelRequested(job_id=job.job_id, shop_id=seller.shop_id)
    )
    seen = (await job_events(pipeline.bootstrap, {job.job_id}))[job.job_id]
    rejected = [e for e in seen if isinstance(e, JobCancelRejected)]
    assert len(rejected) == 1
    assert "waiting for result" in rejected[0].log[0].message
    assert seen[-1].event_type == "JobDone"  # the job went on


async def test_bad_input_gets_a_visible_failure_or_a_dead_letter(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("input", shop_id="shop-input")
    await open_shop(pipeline.sandbox_url, publisher, seller)
    negative = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": -5}])
    foreign = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 1}])
    foreign = foreign.model_copy(update={"shop_id": "someone-else"})
    repeated = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(1), "quantity": 1}])
    await submit(publisher, negative, foreign, repeated, repeated)
    await publisher.publish(
        JOB_REQUESTS, "ghost", CancelRequested(job_id="ghost-job", shop_id=seller.shop_id)
    )
    events = await job_events(
        pipeline.bootstrap, {negative.job_id, foreign.job_id, repeated.job_id}
    )
    failed = events[negative.job_id]
    assert statuses(failed) == ["JobFailed"] and isinstance(failed[0], JobFailed)
    assert "items.0.quantity" in failed[0].log[0].message
    assert "does not belong to shop 'someone-else'" in events[foreign.job_id][0].log[0].message
    assert (
        sum(isinstance(e, JobReserved) for e in events[repeated.job_id]) == 1
    )  # a repeat is a no-op
    letters = await collect(
        pipeline.bootstrap,
        DEAD_LETTERS.name,
        lambda f: len(f) >= 1,
        where=lambda e: isinstance(e, DeadLettered) and e.key == "ghost",
    )
    assert isinstance(letters[0], DeadLettered)
    assert letters[0].error == "cancel of unknown job 'ghost-job'"


async def test_a_feed_whose_answer_failed_is_sent_again_saying_amazon_may_hold_it_twice(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    # createFeed answered 500: Amazon may have made the feed. The client does not repeat
    # it on its own; the job sends it again later, and its log says what that may mean.
    seller = Seller("maybe", shop_id="shop-maybe")
    await open_shop(pipeline.sandbox_url, publisher, seller)
    base = pipeline.sandbox_url
    async with httpx.AsyncClient() as http:
        fault = {"seller_id": seller.seller_id, "operation": "createFeed", "error_rate": 1.0}
        (await http.post(f"{base}/_sandbox/faults", json=fault)).raise_for_status()
        job = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 4}])
        await submit(publisher, job)
        await collect(
            pipeline.bootstrap,
            JOB_EVENTS.name,
            lambda found: bool(found),
            where=lambda e: (
                isinstance(e, JobEvent)
                and e.job_id == job.job_id
                and any("may hold it twice" in line.message for line in e.log)
            ),
        )
        (await http.delete(f"{base}/_sandbox/faults")).raise_for_status()
        seen = (await job_events(pipeline.bootstrap, {job.job_id}))[job.job_id]
        query = {"seller_id": seller.seller_id}
        stats = (await http.get(f"{base}/_sandbox/stats", params=query)).json()["operations"]
    assert seen[-1].event_type == "JobDone"
    assert (await sandbox_listings(base, seller))[seller.sku(0)]["quantity"] == 4
    # Each failed createFeed was one call, said once on the job: the client repeated none.
    said = [line for e in seen for line in e.log if "may hold it twice" in line.message]
    create = stats["createFeed"]
    assert create["errors"] == len(said) >= 1
    assert create["calls"] == create["errors"] + 1
