"""SpApiClient against the real sandbox process over HTTP (docs/design.md §7).

Starts ``python -m services.amazon_sandbox`` on a free port with ``--time-scale 60`` and
drives every client operation, validating each answer with the client's models and the
documents with ``shared.formats``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from devtools.ports import free_port
from devtools.probes import http_answers
from devtools.processes import ChildProcess
from shared.formats import fulfillment_feed, listings_feed
from shared.formats.fulfillment_report import parse_fulfillment_report
from shared.formats.inventory_report import parse_inventory_report
from shared.formats.orders_page import SEARCH_INCLUDED_DATA, page_from_search
from shared.formats.processing_report import MessageOutcome, parse_processing_report
from shared.job_items import (
    FulfillmentItem,
    QtyItem,
    QtyPriceItem,
    SendProductItem,
    ShippedLine,
)
from shared.jobs import JobType
from shared.quotas import QuotaClass
from shared.spapi import (
    AuthError,
    LwaCredentials,
    PermanentError,
    RetryPolicy,
    SpApiClient,
    Throttled,
)
from shared.spapi.endpoints import sandbox
from shared.spapi.models import (
    IdentifiersType,
    IssueSeverity,
    ProcessingStatus,
    SubmissionStatus,
)
from tests.waiting import eventually

SELLER = "A1SANDBOXCLIENT"
REFRESH = "Atzr|sandbox-client-test"
DE = "A1PA6795UKMFR9"
ORDER_ID = "302-0000001-0000001"
ORDER_ITEM_ID = "10000000000001"


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = ["--host", "127.0.0.1", "--port", str(port), "--time-scale", "60"]
    sandbox = ChildProcess(
        "amazon_sandbox",
        [sys.executable, "-m", "services.amazon_sandbox", *argv],
        log_path=tmp_path_factory.mktemp("sandbox") / "sandbox.log",
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    sandbox.start()
    try:
        sandbox.wait_ready(lambda: http_answers(url), 30)
        yield url
    finally:
        sandbox.stop(10)


@pytest.fixture(scope="module")
async def client(sandbox_url: str) -> AsyncIterator[SpApiClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        seeded = await http.post(
            f"{sandbox_url}/_sandbox/sellers",
            json={
                "seller_id": SELLER,
                "refresh_token": REFRESH,
                "marketplace_ids": [DE],
                "catalog": [
                    {"asin": "B0SANDBOX1", "ean": "4006381333931", "title": "Highlighter"},
                    {"asin": "B0SANDBOX2", "ean": "4006381333948", "title": "Pen"},
                ],
                "listings": [
                    {
                        "sku": "PEN-1",
                        "asin": "B0SANDBOX2",
                        "quantity": 5,
                        "price": "3.00",
                        "currency": "EUR",
                    },
                ],
                "orders": [
                    {
                        "AmazonOrderId": ORDER_ID,
                        "PurchaseDate": "2026-11-26T08:00:00Z",
                        "LastUpdateDate": "2026-11-26T08:00:00Z",
                        "OrderStatus": "Unshipped",
                        "FulfillmentChannel": "MFN",
                        "MarketplaceId": DE,
                        "OrderTotal": {"CurrencyCode": "EUR", "Amount": "6.00"},
                        "OrderItems": [
                            {
                                "OrderItemId": ORDER_ITEM_ID,
                                "SellerSKU": "PEN-1",
                                "ASIN": "B0SANDBOX2",
                                "QuantityOrdered": 2,
                            },
                        ],
                    }
                ],
            },
        )
        assert seeded.status_code == 201, seeded.text
        endpoints = sandbox(sandbox_url)
        credentials = LwaCredentials(
            client_id="amzn1.application-oa2-client.sandbox",
            client_secret="sandbox-secret",
            refresh_token=REFRESH,
            seller_id=SELLER,
        )
        yield SpApiClient(
            http,
            credentials,
            endpoint=endpoints.api_base_url,
            lwa_endpoint=endpoints.lwa_url,
            retry=RetryPolicy(max_attempts=3, base_delay_s=0.05),
        )


async def _until_final_feed(client: SpApiClient, feed_id: str) -> ProcessingStatus:
    seen: list[ProcessingStatus] = []

    async def final() -> bool:
        seen.append((await client.get_feed(feed_id)).value.processing_status)
        return seen[-1].is_final

    await eventually(final, f"feed {feed_id} to reach a final status")
    return seen[-1]


async def _until_final_report(client: SpApiClient, report_id: str) -> ProcessingStatus:
    seen: list[ProcessingStatus] = []

    async def final() -> bool:
        seen.append((await client.get_report(report_id)).value.processing_status)
        return seen[-1].is_final

    await eventually(final, f"report {report_id} to reach a final status")
    return seen[-1]


async def test_catalog_lookup_by_ean(client: SpApiClient) -> None:
    result = await client.search_catalog_items(
        ["4006381333931", "0000000000000"], IdentifiersType.EAN, DE
    )
    asins = {item.asin for item in result.value.items}
    assert asins == {"B0SANDBOX1"}
    assert result.rate_limit is not None


async def test_listings_feed_round_trip(client: SpApiClient) -> None:
    items = [
        SendProductItem(
            sku="HL-1",
            asin="B0SANDBOX1",
            quantity=4,
            price=Decimal("1.99"),
            currency="EUR",
            condition="new",
        ),
    ]
    [document] = listings_feed.build_listings_feeds(SELLER, DE, JobType.SEND_PRODUCTS, items)
    upload = (await client.create_feed_document(listings_feed.CONTENT_TYPE)).value
    await client.upload_feed_document(upload.url, document.body, listings_feed.CONTENT_TYPE)
    created = await client.create_feed(listings_feed.FEED_TYPE, [DE], upload.feed_document_id)

    assert await _until_final_feed(client, created.value.feed_id) is ProcessingStatus.DONE
    feed = (await client.get_feed(created.value.feed_id)).value
    assert feed.result_feed_document_id
    result_doc = (await client.get_feed_document(feed.result_feed_document_id)).value
    content = (await client.download_document(result_doc)).value
    report = parse_processing_report(content, document.message_skus)
    assert report.items["HL-1"].outcome in (MessageOutcome.ACCEPTED, MessageOutcome.WARNING)

    listed = await client.get_feeds(feed_types=[listings_feed.FEED_TYPE])
    assert created.value.feed_id in {f.feed_id for f in listed.value.feeds}


async def test_qty_price_patch_and_an_unknown_sku(client: SpApiClient) -> None:
    items = [
        QtyPriceItem(sku="PEN-1", quantity=9, price=Decimal("2.50"), currency="EUR"),
        QtyPriceItem(sku="NO-SUCH-SKU", quantity=1, price=Decimal("1.00"), currency="EUR"),
    ]
    [document] = listings_feed.build_listings_feeds(SELLER, DE, JobType.UPDATE_QTY_PRICE, items)
    upload = (await client.create_feed_document(listings_feed.CONTENT_TYPE)).value
    await client.upload_feed_document(upload.url, document.body, listings_feed.CONTENT_TYPE)
    feed_id = (
        await client.create_feed(listings_feed.FEED_TYPE, [DE], upload.feed_document_id)
    ).value.feed_id
    assert await _until_final_feed(client, feed_id) is ProcessingStatus.DONE
    feed = (await client.get_feed(feed_id)).value
    assert feed.result_feed_document_id
    doc = (await client.get_feed_document(feed.result_feed_document_id)).value
    report = parse_processing_report(
        (await client.download_document(doc)).value, document.message_skus
    )
    assert report.items["PEN-1"].outcome is MessageOutcome.ACCEPTED
    assert report.items["NO-SUCH-SKU"].outcome is MessageOutcome.ERROR


async def test_inventory_report_round_trip(client: SpApiClient) -> None:
    created = await client.create_report("GET_MERCHANT_LISTINGS_ALL_DATA", [DE])
    report_id = created.value.report_id
    assert await _until_final_report(client, report_id) is ProcessingStatus.DONE
    report = (await client.get_report(report_id)).value
    assert report.report_document_id
    document = (await client.get_report_document(report.report_document_id)).value
    parsed = parse_inventory_report((await client.download_document(document)).value)
    assert "PEN-1" in {row.sku for row in parsed.rows}
    assert parsed.problems == []


async def test_search_orders(client: SpApiClient) -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    searched = await client.search_orders(
        created_after=since, marketplace_ids=[DE], included_data=SEARCH_INCLUDED_DATA
    )
    record = next(
        o for o in page_from_search(searched.value).orders if o.amazon_order_id == ORDER_ID
    )
    assert record.items[0].sku == "PEN-1" and record.items[0].quantity == 2


async def test_fulfillment_feed_round_trip(client: SpApiClient) -> None:
    shipped = FulfillmentItem(
        amazon_order_id=ORDER_ID,
        carrier="DHL",
        tracking_number="JJD000390007",
        shipped_at=datetime.now(UTC) - timedelta(minutes=5),
        items=[ShippedLine(order_item_id=ORDER_ITEM_ID, quantity=1)],
    )
    document = fulfillment_feed.build_fulfillment_feed(SELLER, [shipped])
    upload = (await client.create_feed_document(fulfillment_feed.CONTENT_TYPE)).value
    await client.upload_feed_document(upload.url, document.body, fulfillment_feed.CONTENT_TYPE)
    feed_id = (
        await client.create_feed(fulfillment_feed.FEED_TYPE, [DE], upload.feed_document_id)
    ).value.feed_id
    assert await _until_final_feed(client, feed_id) is ProcessingStatus.DONE
    feed = (await client.get_feed(feed_id)).value
    assert feed.result_feed_document_id
    doc = (await client.get_feed_document(feed.result_feed_document_id)).value
    report = parse_fulfillment_report(
        (await client.download_document(doc)).value, document.message_orders
    )
    assert report.orders[ORDER_ID].outcome is MessageOutcome.ACCEPTED


async def test_sandbox_429_becomes_throttled_with_the_quota_class(sandbox_url: str) -> None:
    seller = "A1SANDBOXTHROTTLE"
    async with httpx.AsyncClient(timeout=10) as http:
        seeded = await http.post(
            f"{sandbox_url}/_sandbox/sellers",
            json={
                "seller_id": seller,
                "refresh_token": "Atzr|throttle",
                "marketplace_ids": [DE],
                "catalog": [{"asin": "B0SANDBOX1", "ean": "4006381333931"}],
                "quotas": {"searchCatalogItems": {"burst": 1, "rate_per_s": 0.001}},
            },
        )
        assert seeded.status_code == 201, seeded.text
        endpoints = sandbox(sandbox_url)
        throttled_client = SpApiClient(
            http,
            LwaCredentials("amzn1.application-oa2-client.sandbox", "s", "Atzr|throttle", seller),
            endpoint=endpoints.api_base_url,
            lwa_endpoint=endpoints.lwa_url,
        )
        await throttled_client.search_catalog_items(["4006381333931"], "EAN", DE)
        with pytest.raises(Throttled) as caught:
            await throttled_client.search_catalog_items(["4006381333931"], "EAN", DE)
    assert caught.value.quota_class is QuotaClass.ASIN_LOOKUP
    assert [e.code for e in caught.value.errors] == ["QuotaExceeded"]


async def test_sandbox_rejects_an_unknown_refresh_token_as_auth_error(sandbox_url: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        endpoints = sandbox(sandbox_url)
        stranger = SpApiClient(
            http,
            LwaCredentials("amzn1.application-oa2-client.sandbox", "s", "Atzr|nobody", "A1NOBODY"),
            endpoint=endpoints.api_base_url,
            lwa_endpoint=endpoints.lwa_url,
        )
        with pytest.raises(AuthError) as caught:
            await stranger.get_feed("1")
    assert "re-authorise the app" in str(caught.value)


async def test_patch_listings_item_sets_one_sku_at_once(
    client: SpApiClient, sandbox_url: str
) -> None:
    message = listings_feed.listing_message(
        JobType.UPDATE_QTY, QtyItem(sku="PEN-1", quantity=0), DE, 1
    )
    preview = await client.patch_listings_item(
        "PEN-1",
        [DE],
        message["productType"],
        message["patches"],
        validation_preview=True,
        included_data=["identifiers", "issues"],
    )
    accepted = await client.patch_listings_item(
        "PEN-1", [DE], message["productType"], message["patches"]
    )
    unknown = await client.patch_listings_item(
        "NO-SUCH-SKU", [DE], message["productType"], message["patches"]
    )

    assert preview.value.status is SubmissionStatus.VALID
    assert preview.value.identifiers and preview.value.identifiers[0].asin == "B0SANDBOX2"
    assert accepted.value.status is SubmissionStatus.ACCEPTED
    assert accepted.value.issues == []
    assert accepted.rate_limit == 5.0
    assert unknown.value.status is SubmissionStatus.INVALID
    [issue] = unknown.value.issues
    assert issue.severity is IssueSeverity.ERROR and "NO-SUCH-SKU" in issue.describe()
    async with httpx.AsyncClient() as http:
        rows = (await http.get(f"{sandbox_url}/_sandbox/sellers/{SELLER}/listings")).json()
    assert {r["sku"]: r["quantity"] for r in rows["listings"]}["PEN-1"] == 0


async def test_patch_listings_item_refused_by_the_model_is_permanent(
    client: SpApiClient,
) -> None:
    with pytest.raises(PermanentError) as caught:
        await client.patch_listings_item(
            "PEN-1", ["ATVPDKIKX0DER"], "PRODUCT", [{"op": "delete", "path": "/attributes/x"}]
        )
    assert caught.value.status == 400
    assert "not registered" in str(caught.value)
