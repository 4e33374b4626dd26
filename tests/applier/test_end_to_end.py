"""The poller and the applier as real processes, on the real broker, against the real
sandbox and the real throttle service.

Each test plays the submitter: it registers a seller in the sandbox, submits a real feed
or report through ``SpApiClient``, and publishes the account and the job's events up to
``JobSubmitted`` exactly as the submitter writes them. Then it reads what the poller and
the applier write back: job events, listing states, inventory rows.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.topics_read import collect, read_to_end
from shared.crypto import seal_credentials
from shared.events import (
    AccountRegistered,
    Event,
    InventoryRow,
    ItemState,
    JobCreated,
    JobDone,
    JobEvent,
    JobFailed,
    JobLogged,
    JobProcessing,
    JobReserved,
    JobResultReady,
    JobSubmitted,
    ListingState,
)
from shared.formats import fulfillment_feed, listings_feed
from shared.job_data import said
from shared.job_items import FulfillmentItem, QtyItem, ShippedLine
from shared.jobs import JobStatus, JobType
from shared.kafka.partitions import colocated_id
from shared.kafka.producer import EventPublisher
from shared.spapi.auth import LwaCredentials, LwaTokenProvider
from shared.spapi.client import SpApiClient
from shared.topics import (
    ACCOUNTS,
    INVENTORY,
    JOB_EVENTS,
    LISTINGS,
    listing_key,
)
from tests.stack import SECRET_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

MARKETPLACE = "A1PA6795UKMFR9"
CLIENT_ID, CLIENT_SECRET = "amzn1.application-oa2-client.test", "test-secret"
TIMEOUT_S = 30.0

TIME_SCALE = 600.0  # an Amazon minute is 0.1 s: a feed is processed in ~0.15 s


# ---------------------------------------------------------------- the running system


MAX_DOCUMENT = 4 << 20  # the applier's bound on one document, in this module


@pytest.fixture(scope="module")
def stack(topics: str, test_output_dir: Path) -> Iterator[Stack]:
    run = uuid.uuid4().hex[:8]
    system = Stack(
        bootstrap=topics,
        mongo_url="mongodb://127.0.0.1:9/unused",  # neither service touches MongoDB
        workdir=test_output_dir / f"poller-applier-{run}",
        time_scale=TIME_SCALE,
        extra_env={
            "POLLER_CONSUMER_GROUP": f"test-poller-{run}",
            "APPLIER_CONSUMER_GROUP": f"test-applier-{run}",
            "THROTTLE_CONSUMER_GROUP": f"test-throttle-{run}",
            "APPLIER_MAX_DOCUMENT_BYTES": str(MAX_DOCUMENT),
        },
    )
    try:
        system.start(["amazon_sandbox", "throttle", "poller", "applier"])
        yield system
        # Graceful shutdown: SIGTERM ends both services cleanly.
        exits = {name: system.services[name].stop() for name in ("poller", "applier")}
        assert exits == {"poller": 0, "applier": 0}, system.logs()
    finally:
        system.stop()
        print(system.logs())  # shown by pytest when a test of the module failed


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@dataclass
class Seller:
    """A seller in the sandbox and its account in the system."""

    seller_id: str
    account_id: str
    refresh_token: str
    client: SpApiClient


async def _seller(
    stack: Stack,
    http: httpx.AsyncClient,
    publisher: EventPublisher,
    listings: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    orders: list[dict[str, Any]] = (),  # type: ignore[assignment]
    registered_token: str | None = None,
) -> Seller:
    tag = uuid.uuid4().hex[:8].upper()
    seller_id, refresh_token = f"S{tag}", f"Atzr|refresh-{tag}"
    response = await http.post(
        f"{stack.sandbox_url}/_sandbox/sellers",
        json={
            "seller_id": seller_id,
            "refresh_token": refresh_token,
            "marketplace_ids": [MARKETPLACE],
            "catalog": [{"asin": item["asin"]} for item in listings],
            "listings": listings,
            "orders": orders,
        },
    )
    assert response.status_code == 201, response.text
    account_id = f"acc-{tag.lower()}"
    token = registered_token or refresh_token
    credentials = seal_credentials(
        SECRET_KEY,
        LwaCredentials(CLIENT_ID, CLIENT_SECRET, token, seller_id),
        account_id=account_id,
    )
    await publisher.publish(
        ACCOUNTS,
        account_id,
        AccountRegistered(
            account_id=account_id,
            shop_id="shop1",
            name=f"Seller {tag}",
            seller_id=seller_id,
            region="EU",
            marketplace_ids=[MARKETPLACE],
            credentials=credentials,
        ),
    )
    lwa_url = f"{stack.sandbox_url}/auth/o2/token"
    client = SpApiClient(
        http,
        LwaCredentials(CLIENT_ID, CLIENT_SECRET, refresh_token, seller_id),
        endpoint=stack.sandbox_url,
        lwa_endpoint=lwa_url,
        # The sandbox's tokens live an Amazon hour (6 real seconds here): the client must
        # count in Amazon seconds too, since it sends each call once (no re-send after a
        # rejected token: that is Metered's, under a fresh grant).
        token_provider=LwaTokenProvider(http, lwa_url, clock=lambda: time.monotonic() * TIME_SCALE),
    )
    return Seller(seller_id, account_id, refresh_token, client)


def _listing(sku: str, quantity: int = 1) -> dict[str, Any]:
    asin = "B0" + uuid.uuid5(uuid.NAMESPACE_OID, sku).hex[:8].upper()
    return {"sku": sku, "asin": asin, "quantity": quantity, "price": "10.00", "currency": "EUR"}


async def _qty_feed(seller: Seller, quantities: dict[str, int]) -> dict[str, Any]:
    """Submit a real update_qty feed; returns JobSubmitted.data as the submitter writes it."""
    (document,) = listings_feed.build_listings_feeds(
        seller.seller_id,
        MARKETPLACE,
        JobType.UPDATE_QTY,
        [QtyItem(sku=sku, quantity=q) for sku, q in quantities.items()],
    )
    upload = await seller.client.create_feed_document(listings_feed.CONTENT_TYPE)
    await seller.client.upload_feed_document(
        upload.value.url, document.body, listings_feed.CONTENT_TYPE
    )
    feed = await seller.client.create_feed(
        listings_feed.FEED_TYPE, [MARKETPLACE], upload.value.feed_document_id
    )
    return {
        "feed_id": feed.value.feed_id,
        "feed_type": listings_feed.FEED_TYPE,
        "marketplace_id": MARKETPLACE,
        "input_document_id": upload.value.feed_document_id,
        "messages": {str(k): v for k, v in document.message_skus.items()},
        "submitted_at": datetime.now(UTC).isoformat(),
    }


async def _report(seller: Seller) -> dict[str, Any]:
    report = await seller.client.create_report("GET_MERCHANT_LISTINGS_ALL_DATA", [MARKETPLACE])
    return {
        "report_id": report.value.report_id,
        "report_type": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "marketplace_id": MARKETPLACE,
        "submitted_at": datetime.now(UTC).isoformat(),
    }


BEFORE = {"asin": None, "status": "active", "quantity": 1, "price": "10.00", "currency": "EUR"}


def _job_events(
    seller: Seller,
    job_type: JobType,
    items: list[ItemState],
    submitted: dict[str, Any],
    *,
    job_id: str | None = None,
) -> list[JobEvent]:
    """JobReserved … JobSubmitted of one job, as the submitter writes them."""
    job_id = job_id or f"e2e-{uuid.uuid4().hex[:12]}"
    common: dict[str, Any] = {
        "job_id": job_id,
        "shop_id": "shop1",
        "account_id": seller.account_id,
        "job_type": job_type,
    }
    return [
        JobReserved(
            **common,
            seq=1,
            status=JobStatus.RESERVED,
            items=items or None,
            data={"marketplace_id": MARKETPLACE, "listings_marked": bool(items)},
        ),
        JobCreated(**common, seq=2, status=JobStatus.CREATED),
        JobProcessing(**common, seq=3, status=JobStatus.PROCESSING),
        JobSubmitted(**common, seq=4, status=JobStatus.WAITING_FOR_RESULT, data=submitted),
    ]


async def _publish_job(publisher: EventPublisher, events: list[JobEvent]) -> str:
    await publisher.publish_many([(JOB_EVENTS, e.job_id, e) for e in events])
    return events[0].job_id


def _qty_items(quantities: dict[str, int]) -> list[ItemState]:
    return [
        ItemState(key=sku, request={"sku": sku, "quantity": q}, before=BEFORE)
        for sku, q in quantities.items()
    ]


async def _until_final(bootstrap: str, job_id: str) -> list[JobEvent]:
    """The job's events written after JobSubmitted, up to its last status event."""
    events = await collect(
        bootstrap,
        JOB_EVENTS.name,
        until=lambda found: any(isinstance(e, JobDone | JobFailed) for e in found),
        where=lambda e: isinstance(e, JobEvent) and e.job_id == job_id and e.seq > 4,
        timeout_s=TIMEOUT_S,
    )
    return [e for e in events if isinstance(e, JobEvent)]


async def _records(bootstrap: str, topic: str, account_id: str, count: int) -> dict[str, Event]:
    found = await collect(
        bootstrap,
        topic,
        until=lambda found: len({getattr(e, "sku", "") for e in found}) >= count,
        where=lambda e: getattr(e, "account_id", None) == account_id,
        timeout_s=TIMEOUT_S,
    )
    return {str(getattr(e, "sku", "")): e for e in found}  # the latest per SKU


async def _fault(stack: Stack, http: httpx.AsyncClient, **fault: Any) -> None:
    response = await http.post(f"{stack.sandbox_url}/_sandbox/faults", json=fault)
    assert response.status_code < 300, response.text


def _health_port(stack: Stack, name: str) -> int:
    """The port the service's health server listens on, from its "worker ready" line."""
    lines = [
        line for line in stack.services[name].log_tail(2000).splitlines() if "worker ready" in line
    ]
    return int(json.loads(lines[-1])["health_port"])


# ---------------------------------------------------------------- tests


async def test_listings_feed_with_good_and_bad_items(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher, [_listing("GOOD-1"), _listing("GOOD-2")])
    quantities = {"GOOD-1": 5, "BAD-1": 3, "GOOD-2": 0, "BAD-2": 8}
    submitted = await _qty_feed(seller, quantities)
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.UPDATE_QTY, _qty_items(quantities), submitted)
    )

    events = await _until_final(stack.bootstrap, job_id)
    assert [type(e).__name__ for e in events if not e.IS_ANNOTATION] == [
        "JobResultReady",
        "JobDone",
    ]
    ready, done = (e for e in events if not e.IS_ANNOTATION)
    assert ready.seq == 5 and ready.status is JobStatus.WAITING_FOR_RESULT
    assert isinstance(ready, JobResultReady)
    assert ready.data.processing_status == "DONE" and ready.data.result_document_id
    assert done.seq == 6 and done.status is JobStatus.DONE
    assert said(done.data) == {"processed": 4, "accepted": 2, "errors": 2, "warnings": 0}
    assert done.items is not None
    outcomes = {item.key: item for item in done.items}
    assert {k for k, i in outcomes.items() if i.status == "error"} == {"BAD-1", "BAD-2"}
    assert {k for k, i in outcomes.items() if i.status == "accepted"} == {"GOOD-1", "GOOD-2"}
    assert "does not match any listing" in outcomes["BAD-1"].messages[0]

    listings = await _records(stack.bootstrap, LISTINGS.name, seller.account_id, 4)
    states = {
        sku: listing for sku, listing in listings.items() if isinstance(listing, ListingState)
    }
    assert {sku: s.status for sku, s in states.items()} == {
        "GOOD-1": "active",
        "GOOD-2": "active",
        "BAD-1": "error",
        "BAD-2": "error",
    }
    assert states["GOOD-1"].quantity == 5 and states["GOOD-2"].quantity == 0
    assert states["GOOD-1"].price == Decimal("10.00") and states["GOOD-1"].last_job_id == job_id
    assert states["BAD-1"].issues == outcomes["BAD-1"].messages

    # Liveness and metrics on each worker's health port.
    for name, metric in (("poller", "poller_results_total"), ("applier", "applier_jobs_total")):
        port = _health_port(stack, name)
        assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert metric in metrics, metrics

    # What Amazon (the sandbox) holds agrees.
    held = (
        await http.get(f"{stack.sandbox_url}/_sandbox/sellers/{seller.seller_id}/listings")
    ).json()
    assert {row["sku"]: row["quantity"] for row in held["listings"]} == {"GOOD-1": 5, "GOOD-2": 0}


async def test_shipment_confirmations_per_order(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    shipped, unknown = "028-1111111-1111111", "028-9999999-9999999"
    order = {
        "AmazonOrderId": shipped,
        "PurchaseDate": "2026-11-26T10:00:00Z",
        "OrderStatus": "Unshipped",
        "OrderItems": [
            {
                "OrderItemId": "11111111111111",
                "SellerSKU": "O-1",
                "ASIN": "B0ORDER001",
                "QuantityOrdered": 1,
            }
        ],
    }
    seller = await _seller(stack, http, publisher, orders=[order])
    shipments = [
        FulfillmentItem(
            amazon_order_id=order_id,
            carrier="DHL",
            tracking_number=f"TRACK-{order_id[-4:]}",
            shipped_at=datetime.now(UTC),
            items=[ShippedLine(order_item_id="11111111111111", quantity=1)],
        )
        for order_id in (shipped, unknown)
    ]
    document = fulfillment_feed.build_fulfillment_feed(seller.seller_id, shipments)
    upload = await seller.client.create_feed_document(fulfillment_feed.CONTENT_TYPE)
    await seller.client.upload_feed_document(
        upload.value.url, document.body, fulfillment_feed.CONTENT_TYPE
    )
    feed = await seller.client.create_feed(
        fulfillment_feed.FEED_TYPE, [MARKETPLACE], upload.value.feed_document_id
    )
    submitted = {
        "feed_id": feed.value.feed_id,
        "feed_type": fulfillment_feed.FEED_TYPE,
        "marketplace_id": MARKETPLACE,
        "messages": {str(k): v for k, v in document.message_orders.items()},
        "submitted_at": datetime.now(UTC).isoformat(),
    }
    items = [ItemState(key=s.amazon_order_id, request=s.model_dump(mode="json")) for s in shipments]
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.ORDERS_FULFILLMENT, items, submitted)
    )
    done = [e for e in await _until_final(stack.bootstrap, job_id) if not e.IS_ANNOTATION][-1]
    assert isinstance(done, JobDone) and done.items is not None
    outcomes = {item.key: item for item in done.items}
    assert outcomes[shipped].status == "accepted"
    assert outcomes[unknown].status == "error" and "not found" in outcomes[unknown].messages[0]
    assert said(done.data) == {"processed": 2, "accepted": 1, "errors": 1, "warnings": 0}


async def test_fatal_feed_fails_the_job_and_unmarks_its_listings(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher, [_listing("F-1")])
    await _fault(stack, http, seller_id=seller.seller_id, fatal_feeds=True)
    submitted = await _qty_feed(seller, {"F-1": 4})
    events = _job_events(seller, JobType.UPDATE_QTY, _qty_items({"F-1": 4}), submitted)
    job_id = events[0].job_id
    # The submitter marked the listing pending when it accepted the job.
    pending = ListingState(
        account_id=seller.account_id,
        shop_id="shop1",
        sku="F-1",
        status="pending",
        quantity=4,
        price=Decimal("10.00"),
        currency="EUR",
        last_job_id=job_id,
    )
    await publisher.publish(LISTINGS, listing_key(seller.account_id, "F-1"), pending)
    await _publish_job(publisher, events)

    final = await _until_final(stack.bootstrap, job_id)
    (failed,) = [e for e in final if not e.IS_ANNOTATION]
    assert isinstance(failed, JobFailed) and failed.seq == 5
    assert (failed.data.failure, failed.data.processing_status) == ("fatal", "FATAL")
    assert "ended FATAL" in failed.log[0].message
    assert failed.items is not None and failed.items[0].status == "error"

    unmarked = await collect(
        stack.bootstrap,
        LISTINGS.name,
        until=lambda found: any(getattr(e, "status", "") == "error" for e in found),
        where=lambda e: isinstance(e, ListingState) and e.account_id == seller.account_id,
        timeout_s=TIMEOUT_S,
    )
    # The job's marketplace's record replaces the record of before (no marketplace, another
    # key and so another partition: not ordered with it here).
    (error,) = [e for e in unmarked if isinstance(e, ListingState) and e.status == "error"]
    assert (error.status, error.quantity, error.last_job_id) == ("error", 1, job_id)
    assert error.marketplace_id == MARKETPLACE
    assert "FATAL" in error.issues[0]


async def test_inventory_report_becomes_inventory_rows(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    rows = [_listing("INV-1", 3), _listing("INV-2", 0), _listing("INV-3", 12)]
    seller = await _seller(stack, http, publisher, rows)
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.INVENTORY_REPORT, [], await _report(seller))
    )

    final = [e for e in await _until_final(stack.bootstrap, job_id) if not e.IS_ANNOTATION]
    assert [type(e) for e in final] == [JobResultReady, JobDone]
    assert said(final[1].data) == {
        "processed": 3,
        "accepted": 3,
        "errors": 0,
        "warnings": 0,
        "rows": 3,
        "removed": 0,
    }
    inventory = await _records(stack.bootstrap, INVENTORY.name, seller.account_id, 3)
    assert set(inventory) == {"INV-1", "INV-2", "INV-3"}
    row = inventory["INV-3"]
    assert isinstance(row, InventoryRow)
    assert (row.quantity, row.price, row.asin, row.job_id) == (
        12,
        Decimal("10.00"),
        rows[2]["asin"],
        job_id,
    )


async def test_a_report_cancelled_for_lack_of_data_imports_zero_rows(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher)  # no listings: Amazon has nothing to say
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.INVENTORY_REPORT, [], await _report(seller))
    )
    final = [e for e in await _until_final(stack.bootstrap, job_id) if not e.IS_ANNOTATION]
    assert [type(e) for e in final] == [JobResultReady, JobDone]
    ready = final[0]
    assert isinstance(ready, JobResultReady)
    assert ready.data.processing_status == "CANCELLED" and ready.data.no_data
    assert said(final[1].data)["rows"] == 0 and "no data" in final[1].log[0].message


async def test_a_corrupt_report_document_fails_the_job_with_the_reason(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher, [_listing("M-1")])
    await _fault(stack, http, seller_id=seller.seller_id, malformed_reports=True)
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.INVENTORY_REPORT, [], await _report(seller))
    )
    final = [e for e in await _until_final(stack.bootstrap, job_id) if not e.IS_ANNOTATION]
    assert [type(e) for e in final] == [JobResultReady, JobFailed]
    assert said(final[1].data)["failure"] == "malformed_result"
    assert "GZIP" in said(final[1].data)["error"]
    assert stack.services["applier"].alive()


async def test_a_report_that_inflates_past_the_bound_fails_the_job_not_the_applier(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    """A GZIP bomb (kilobytes at Amazon, 16 times the bound once inflated) ends its job in
    error with the reason; the applier reads no further and goes on with other jobs."""
    seller = await _seller(stack, http, publisher, [_listing("B-1")])
    await _fault(stack, http, seller_id=seller.seller_id, report_bomb_bytes=16 * MAX_DOCUMENT)
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.INVENTORY_REPORT, [], await _report(seller))
    )
    final = [e for e in await _until_final(stack.bootstrap, job_id) if not e.IS_ANNOTATION]
    assert [type(e) for e in final] == [JobResultReady, JobFailed]
    failed = said(final[1].data)
    assert failed["failure"] == "malformed_result"
    assert "inflates to more than 4 MiB" in failed["error"]
    assert "APPLIER_MAX_DOCUMENT_BYTES" in failed["error"]
    assert stack.services["applier"].alive()


async def test_revoked_credentials_fail_the_job_with_what_to_do(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher, registered_token="Atzr|revoked")
    submitted = {
        "feed_id": "50000000000",
        "feed_type": listings_feed.FEED_TYPE,
        "messages": {"1": "X"},
        "submitted_at": datetime.now(UTC).isoformat(),
    }
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.UPDATE_QTY, _qty_items({"X": 1}), submitted)
    )
    (failed,) = [e for e in await _until_final(stack.bootstrap, job_id) if not e.IS_ANNOTATION]
    assert said(failed.data)["failure"] == "credentials"
    assert "re-authorise" in failed.log[0].message


async def test_a_job_waiting_past_the_limit_fails(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher, [_listing("T-1")])
    # Amazon works on one feed per seller at a time: four feeds ahead keep ours queued
    # for ~0.6 s of test time.
    for _ in range(4):
        upload = await seller.client.create_feed_document(listings_feed.CONTENT_TYPE)
        await seller.client.create_feed(
            listings_feed.FEED_TYPE, [MARKETPLACE], upload.value.feed_document_id
        )
    submitted = await _qty_feed(seller, {"T-1": 2})
    submitted["submitted_at"] = (datetime.now(UTC) - timedelta(seconds=300)).isoformat()
    # 300 real seconds are 50 Amazon hours at this time scale: past the 24 h limit.
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.UPDATE_QTY, _qty_items({"T-1": 2}), submitted)
    )
    (failed,) = [e for e in await _until_final(stack.bootstrap, job_id) if not e.IS_ANNOTATION]
    assert said(failed.data)["failure"] == "timeout"
    assert "still IN_QUEUE" in failed.log[0].message


async def test_feeds_of_one_account_share_get_feeds(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher, [_listing(f"B-{n}") for n in range(3)])
    jobs = []
    for n in range(3):
        submitted = await _qty_feed(seller, {f"B-{n}": n + 1})
        jobs.append(
            _job_events(seller, JobType.UPDATE_QTY, _qty_items({f"B-{n}": n + 1}), submitted)
        )
    now = datetime.now(UTC)
    for events in jobs:  # submitted together
        events[-1] = events[-1].model_copy(
            update={"data": events[-1].data.model_copy(update={"submitted_at": now})}
        )
    await publisher.publish_many([(JOB_EVENTS, e.job_id, e) for events in jobs for e in events])
    for events in jobs:
        final = await _until_final(stack.bootstrap, events[0].job_id)
        assert isinstance(final[-1], JobDone) and said(final[-1].data)["accepted"] == 1
    stats = (
        await http.get(
            f"{stack.sandbox_url}/_sandbox/stats", params={"seller_id": seller.seller_id}
        )
    ).json()["operations"]
    assert stats["getFeeds"]["calls"] >= 1


async def test_throttled_polls_are_reported_and_retried_with_new_tokens(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher, [_listing("Q-1")])
    submitted = await _qty_feed(seller, {"Q-1": 3})
    # Amazon answers 429 to every getFeed of this seller for 5 Amazon minutes (0.5 s).
    await _fault(stack, http, seller_id=seller.seller_id, operation="getFeed", throttle_storm_s=300)
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.UPDATE_QTY, _qty_items({"Q-1": 3}), submitted)
    )
    final = await _until_final(stack.bootstrap, job_id)
    assert isinstance(final[-1], JobDone) and said(final[-1].data)["accepted"] == 1
    stats = (
        await http.get(
            f"{stack.sandbox_url}/_sandbox/stats", params={"seller_id": seller.seller_id}
        )
    ).json()["operations"]
    assert stats["getFeed"]["throttled"] >= 1


async def test_transient_errors_are_logged_on_the_job_and_retried(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher, [_listing("R-1")])
    submitted = await _qty_feed(seller, {"R-1": 3})
    await _fault(
        stack, http, seller_id=seller.seller_id, operation="getFeed", error_rate=1.0, status=503
    )
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.UPDATE_QTY, _qty_items({"R-1": 3}), submitted)
    )
    logged = await collect(
        stack.bootstrap,
        JOB_EVENTS.name,
        until=lambda found: bool(found),
        where=lambda e: isinstance(e, JobLogged) and e.job_id == job_id,
        timeout_s=TIMEOUT_S,
    )
    assert isinstance(logged[0], JobLogged)
    assert logged[0].seq == 4  # an annotation: the seq of the newest status event
    assert "retry 1" in logged[0].log[0].message and "TransientError" in logged[0].log[0].message
    await http.delete(f"{stack.sandbox_url}/_sandbox/faults")  # Amazon recovers
    final = await _until_final(stack.bootstrap, job_id)
    assert isinstance(final[-1], JobDone) and final[-1].seq == 6


async def test_a_killed_poller_loses_no_job_and_writes_its_result_once(
    stack: Stack, http: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    seller = await _seller(stack, http, publisher, [_listing("K-1")])
    # Amazon is slow to answer: the poller is killed in the middle of its status call.
    await _fault(stack, http, seller_id=seller.seller_id, operation="getFeed", latency_ms=5000)
    submitted = await _qty_feed(seller, {"K-1": 6})
    job_id = await _publish_job(
        publisher, _job_events(seller, JobType.UPDATE_QTY, _qty_items({"K-1": 6}), submitted)
    )
    poller = stack.services["poller"]
    await eventually(
        lambda: any(
            "waiting for Amazon" in line and job_id in line
            for line in poller.log_tail(1000).splitlines()
        ),
        "the poller to take the job on",
    )
    # Killed while the job is its own: before or during its (slow) getFeed, nothing of
    # the job may be lost and its result must be written once.
    stack.kill("poller")
    await http.delete(f"{stack.sandbox_url}/_sandbox/faults")
    written = await read_to_end(stack.bootstrap, JOB_EVENTS.name)
    assert not [e for e in written if isinstance(e, JobEvent) and e.job_id == job_id and e.seq > 4]
    poller.start()

    final = await _until_final(stack.bootstrap, job_id)
    assert isinstance(final[-1], JobDone) and said(final[-1].data)["accepted"] == 1
    # A later job on the same partition of amazon.job-events, through the same poller and
    # applier: both read a partition in order, so once it is done, whatever the restarted
    # poller was going to write again for the first job has been written.
    marker_feed = await _qty_feed(seller, {"K-1": 6})
    marker_id = colocated_id(f"e2e-marker-{uuid.uuid4().hex[:8]}", job_id, JOB_EVENTS.partitions)
    await _publish_job(
        publisher,
        _job_events(
            seller, JobType.UPDATE_QTY, _qty_items({"K-1": 6}), marker_feed, job_id=marker_id
        ),
    )
    marker = await _until_final(stack.bootstrap, marker_id)
    assert isinstance(marker[-1], JobDone)
    everything = await read_to_end(stack.bootstrap, JOB_EVENTS.name)
    kinds = [
        type(e).__name__
        for e in everything
        if isinstance(e, JobEvent) and e.job_id == job_id and not e.IS_ANNOTATION
    ]
    assert kinds.count("JobResultReady") == 1 and kinds.count("JobDone") == 1
