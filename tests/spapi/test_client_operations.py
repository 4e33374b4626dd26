"""Every client operation: what goes on the wire and what comes back typed."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from shared.spapi.errors import DocumentTooLarge, MaybeAccepted, TransientError
from shared.spapi.models import (
    CompressionAlgorithm,
    FeedDocument,
    IdentifiersType,
    ProcessingStatus,
    ReportDocument,
    SubmissionStatus,
)
from tests.spapi.conftest import Api
from tests.spapi.fake_amazon import json_response, server_error
from tests.spapi.payloads import (
    CATALOG_SEARCH,
    FEED,
    REPORT,
    SEARCH_ORDERS,
)

MARKETPLACE = "A1PA6795UKMFR9"


def body(request: httpx.Request) -> object:
    return json.loads(request.content)


async def test_create_feed_document_sends_the_content_type(api: Api) -> None:
    api.fake.sequence(
        "POST",
        "/feeds/2021-06-30/documents",
        json_response(201, {"feedDocumentId": "doc-1", "url": "https://s3.test/up?sig=x"}),
    )

    result = await api.client.create_feed_document("application/json; charset=UTF-8")

    assert result.status == 201
    assert result.value.feed_document_id == "doc-1"
    assert body(api.fake.requests[0]) == {"contentType": "application/json; charset=UTF-8"}


async def test_upload_puts_bytes_without_the_access_token(api: Api) -> None:
    api.fake.route("PUT", "/up", lambda _: httpx.Response(200))

    await api.client.upload_feed_document(
        "https://s3.test/up?X-Amz-Signature=abc", b'{"a":1}', "application/json; charset=UTF-8"
    )

    sent = api.fake.requests[0]
    assert sent.content == b'{"a":1}'
    assert sent.headers["content-type"] == "application/json; charset=UTF-8"
    assert "x-amz-access-token" not in sent.headers
    assert api.fake.lwa_requests == []  # a presigned URL needs no token


async def test_create_feed_sends_amazons_field_names(api: Api) -> None:
    api.fake.sequence("POST", "/feeds/2021-06-30/feeds", json_response(202, {"feedId": "50012345"}))

    result = await api.client.create_feed(
        "JSON_LISTINGS_FEED", [MARKETPLACE], "doc-1", feed_options={"k": "v"}
    )

    assert result.status == 202
    assert result.value.feed_id == "50012345"
    assert body(api.fake.requests[0]) == {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [MARKETPLACE],
        "inputFeedDocumentId": "doc-1",
        "feedOptions": {"k": "v"},
    }


async def test_get_feed_parses_the_feed_and_exposes_the_rate_limit(api: Api) -> None:
    api.fake.sequence(
        "GET",
        "/feeds/2021-06-30/feeds/50012345",
        json_response(
            200, FEED, headers={"x-amzn-RateLimit-Limit": "2.0", "x-amzn-RequestId": "r-9"}
        ),
    )

    result = await api.client.get_feed("50012345")

    assert result.rate_limit == 2.0
    assert result.request_id == "r-9"
    feed = result.value
    assert feed.processing_status is ProcessingStatus.DONE
    assert feed.processing_status.is_final
    assert feed.created_time == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert feed.result_feed_document_id == "amzn1.tortuga.4.eu.result"


async def test_rate_limit_is_none_when_absent_or_garbled(api: Api) -> None:
    api.fake.sequence(
        "GET",
        "/feeds/2021-06-30/feeds/1",
        json_response(200, FEED),
        json_response(200, FEED, headers={"x-amzn-RateLimit-Limit": "fast"}),
    )
    assert (await api.client.get_feed("1")).rate_limit is None
    assert (await api.client.get_feed("1")).rate_limit is None


async def test_ids_are_escaped_in_paths(api: Api) -> None:
    api.fake.route("GET", "/feeds/2021-06-30/feeds/a/b", lambda _: json_response(200, FEED))

    await api.client.get_feed("a/b")

    assert api.fake.requests[0].url.raw_path == b"/feeds/2021-06-30/feeds/a%2Fb"


async def test_get_feeds_filters_and_next_token_alone(api: Api) -> None:
    page = {"feeds": [FEED], "nextToken": "tok"}
    api.fake.sequence("GET", "/feeds/2021-06-30/feeds", json_response(200, page))

    first = await api.client.get_feeds(
        feed_types=["JSON_LISTINGS_FEED", "POST_ORDER_FULFILLMENT_DATA"],
        processing_statuses=["DONE"],
        page_size=100,
        created_since=datetime(2026, 11, 1, 1, 0, tzinfo=timezone(timedelta(hours=1))),
    )
    await api.client.get_feeds(feed_types=["JSON_LISTINGS_FEED"], next_token="tok")

    assert first.value.next_token == "tok"
    assert len(first.value.feeds) == 1
    assert dict(api.fake.requests[0].url.params) == {
        "feedTypes": "JSON_LISTINGS_FEED,POST_ORDER_FULFILLMENT_DATA",
        "processingStatuses": "DONE",
        "pageSize": "100",
        "createdSince": "2026-11-01T00:00:00Z",
    }
    assert dict(api.fake.requests[1].url.params) == {"nextToken": "tok"}


async def test_get_feeds_needs_types_or_token(api: Api) -> None:
    with pytest.raises(ValueError):
        await api.client.get_feeds()
    with pytest.raises(ValueError):
        await api.client.get_feeds(feed_types=["X"], page_size=101)


async def test_get_feed_document_and_download_gunzips(api: Api) -> None:
    api.fake.sequence(
        "GET",
        "/feeds/2021-06-30/documents/res-1",
        json_response(
            200,
            {
                "feedDocumentId": "res-1",
                "url": "https://s3.test/res-1?sig=1",
                "compressionAlgorithm": "GZIP",
            },
        ),
    )
    report = b'{"header": {"sellerId": "A1", "version": "2.0", "feedId": "1"}}'
    api.fake.route("GET", "/res-1", lambda _: httpx.Response(200, content=gzip.compress(report)))

    document = (await api.client.get_feed_document("res-1")).value
    downloaded = await api.client.download_document(document)

    assert document.compression_algorithm is CompressionAlgorithm.GZIP
    assert downloaded.value == report
    assert "x-amz-access-token" not in api.fake.requests[-1].headers


async def test_download_of_an_uncompressed_document(api: Api) -> None:
    api.fake.route("GET", "/plain", lambda _: httpx.Response(200, content=b"sku\tasin\n"))
    doc = ReportDocument(report_document_id="d", url="https://s3.test/plain")
    assert (await api.client.download_document(doc)).value == b"sku\tasin\n"


async def test_download_when_gzip_flagged_but_already_inflated(api: Api) -> None:
    api.fake.route("GET", "/inflated", lambda _: httpx.Response(200, content=b"{}"))
    doc = FeedDocument(
        feed_document_id="d",
        url="https://s3.test/inflated",
        compression_algorithm=CompressionAlgorithm.GZIP,
    )
    assert (await api.client.download_document(doc)).value == b"{}"


async def test_reports_lifecycle_calls(api: Api) -> None:
    api.fake.sequence(
        "POST", "/reports/2021-06-30/reports", json_response(202, {"reportId": "9001"})
    )
    api.fake.sequence("GET", "/reports/2021-06-30/reports/9001", json_response(200, REPORT))
    api.fake.sequence(
        "GET",
        "/reports/2021-06-30/documents/rd-1",
        json_response(200, {"reportDocumentId": "rd-1", "url": "https://s3.test/rd-1"}),
    )

    created = await api.client.create_report(
        "GET_MERCHANT_LISTINGS_ALL_DATA",
        [MARKETPLACE],
        data_start_time=datetime(2026, 11, 1, tzinfo=UTC),
    )
    report = await api.client.get_report("9001")
    document = await api.client.get_report_document("rd-1")

    assert created.value.report_id == "9001"
    assert body(api.fake.requests[0]) == {
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "marketplaceIds": [MARKETPLACE],
        "dataStartTime": "2026-11-01T00:00:00Z",
    }
    assert report.value.processing_status is ProcessingStatus.IN_PROGRESS
    assert report.value.report_document_id is None
    assert document.value.compression_algorithm is None


async def test_naive_datetimes_are_refused(api: Api) -> None:
    with pytest.raises(ValueError):
        await api.client.create_report(
            "GET_MERCHANT_LISTINGS_ALL_DATA", [MARKETPLACE], data_start_time=datetime(2026, 1, 1)
        )


async def test_search_catalog_items_by_ean(api: Api) -> None:
    api.fake.sequence("GET", "/catalog/2022-04-01/items", json_response(200, CATALOG_SEARCH))

    result = await api.client.search_catalog_items(
        ["4006381333931", "0000000000000"], IdentifiersType.EAN, MARKETPLACE
    )

    assert dict(api.fake.requests[0].url.params) == {
        "identifiers": "4006381333931,0000000000000",
        "identifiersType": "EAN",
        "marketplaceIds": MARKETPLACE,
        "includedData": "identifiers,summaries",
        "pageSize": "20",
    }
    item = result.value.items[0]
    assert item.asin == "B000TEST01"
    assert item.identifiers is not None  # what the ASIN lookup matches EANs against
    assert [(i.identifier_type, i.identifier) for i in item.identifiers[0].identifiers] == [
        ("EAN", "4006381333931"),
        ("UPC", "006381333931"),
    ]
    assert item.summaries is not None and item.summaries[0].item_name == "Highlighter, yellow"
    assert item.sales_ranks == [{"marketplaceId": MARKETPLACE, "ranks": []}]


async def test_search_catalog_items_by_sku_sends_the_seller_id(api: Api) -> None:
    api.fake.sequence("GET", "/catalog/2022-04-01/items", json_response(200, CATALOG_SEARCH))
    await api.client.search_catalog_items(["SKU-1"], "SKU", MARKETPLACE)
    assert api.fake.requests[0].url.params["sellerId"] == "A1SELLERTEST"


async def test_search_catalog_items_takes_at_most_20_identifiers(api: Api) -> None:
    with pytest.raises(ValueError):
        await api.client.search_catalog_items([str(n) for n in range(21)], "EAN", MARKETPLACE)
    with pytest.raises(ValueError):
        await api.client.search_catalog_items([], "EAN", MARKETPLACE)
    with pytest.raises(ValueError):
        await api.client.search_catalog_items(["1,2"], "EAN", MARKETPLACE)
    assert api.fake.requests == []


async def test_search_orders_2026(api: Api) -> None:
    api.fake.sequence("GET", "/orders/2026-01-01/orders", json_response(200, SEARCH_ORDERS))

    result = await api.client.search_orders(
        created_after=datetime(2026, 11, 26, tzinfo=UTC),
        marketplace_ids=[MARKETPLACE],
        max_results_per_page=20,
        included_data=["PROCEEDS", "FULFILLMENT"],
        pagination_token="prev",
    )

    assert dict(api.fake.requests[0].url.params) == {
        "createdAfter": "2026-11-26T00:00:00Z",
        "marketplaceIds": MARKETPLACE,
        "maxResultsPerPage": "20",
        "paginationToken": "prev",
        "includedData": "PROCEEDS,FULFILLMENT",
    }
    page = result.value
    assert page.next_token == "2YgYW55"
    order = page.orders[0]
    assert order.proceeds is not None and order.proceeds.grand_total is not None
    assert order.proceeds.grand_total.amount == Decimal("39.98")
    assert order.order_items[0].product.seller_sku == "TSHIRT-RED-M"


async def test_search_orders_time_filters_are_validated(api: Api) -> None:
    moment = datetime(2026, 11, 26, tzinfo=UTC)
    with pytest.raises(ValueError):
        await api.client.search_orders()
    with pytest.raises(ValueError):
        await api.client.search_orders(created_after=moment, last_updated_after=moment)
    with pytest.raises(ValueError):
        await api.client.search_orders(created_after=moment, last_updated_before=moment)


async def test_download_inflates_what_storage_sends_with_content_encoding_once(api: Api) -> None:
    """Storage may label a GZIP document ``Content-Encoding: gzip``: the raw bytes are read
    and inflated once here (httpx does not inflate them first, unbounded)."""
    rows = b"sku\tasin\n" * 100
    api.fake.route(
        "GET",
        "/encoded",
        lambda _: httpx.Response(
            200, content=gzip.compress(rows), headers={"Content-Encoding": "gzip"}
        ),
    )
    doc = ReportDocument(
        report_document_id="d",
        url="https://s3.test/encoded",
        compression_algorithm=CompressionAlgorithm.GZIP,
    )
    assert (await api.client.download_document(doc)).value == rows


async def test_download_of_a_gzip_bomb_is_refused_past_the_bound(api: Api) -> None:
    bomb = gzip.compress(b"\0" * (16 << 20))
    api.fake.route("GET", "/bomb", lambda _: httpx.Response(200, content=bomb))
    doc = ReportDocument(report_document_id="d", url="https://s3.test/bomb")
    with pytest.raises(DocumentTooLarge, match="inflates to more than 1 MiB"):
        await api.client.download_document(doc, max_bytes=1 << 20)


PATCH_PATH = "/listings/2021-08-01/items/A1SELLERTEST/A/B 1"


async def test_patch_listings_item_sends_amazons_shape(api: Api) -> None:
    api.fake.sequence(
        "PATCH",
        PATCH_PATH,
        json_response(
            200,
            {"sku": "A/B 1", "status": "ACCEPTED", "submissionId": "sub-1", "issues": []},
            headers={"x-amzn-RateLimit-Limit": "5.0"},
        ),
    )

    result = await api.client.patch_listings_item(
        "A/B 1",
        [MARKETPLACE],
        "PRODUCT",
        [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
            },
            {"op": "delete", "path": "/attributes/purchasable_offer"},
        ],
        validation_preview=True,
        included_data=["identifiers", "issues"],
    )

    assert result.value.status is SubmissionStatus.ACCEPTED
    assert result.value.submission_id == "sub-1"
    assert result.rate_limit == 5.0
    sent = api.fake.requests[0]
    assert sent.method == "PATCH"
    assert sent.url.raw_path.startswith(b"/listings/2021-08-01/items/A1SELLERTEST/A%2FB%201?")
    assert dict(sent.url.params) == {
        "marketplaceIds": MARKETPLACE,
        "includedData": "identifiers,issues",
        "mode": "VALIDATION_PREVIEW",
    }
    assert body(sent) == {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
            },
            {"op": "delete", "path": "/attributes/purchasable_offer"},
        ],
    }


async def test_patch_listings_item_invalid_is_an_answer_with_issues(api: Api) -> None:
    api.fake.sequence(
        "PATCH",
        PATCH_PATH,
        json_response(
            200,
            {
                "sku": "A/B 1",
                "status": "INVALID",
                "submissionId": "sub-2",
                "issues": [
                    {
                        "code": "90220",
                        "message": "'quantity' is required but not supplied.",
                        "severity": "ERROR",
                        "attributeNames": ["fulfillment_availability"],
                        "categories": ["MISSING_ATTRIBUTE"],
                    }
                ],
            },
        ),
    )

    result = await api.client.patch_listings_item(
        "A/B 1", [MARKETPLACE], "PRODUCT", [{"op": "delete", "path": "/attributes/x"}]
    )

    assert result.value.status is SubmissionStatus.INVALID
    [issue] = result.value.issues
    assert issue.describe() == (
        "90220: 'quantity' is required but not supplied. [fulfillment_availability]"
    )


async def test_patch_listings_item_after_a_5xx_is_worth_another_try_not_maybe_accepted(
    api: Api,
) -> None:
    """A patch sets values: sent twice it sets the same ones, so unlike createFeed a 5xx
    is a plain transient error (sent again by Metered, under a fresh grant); the client
    itself sends it once."""
    answer = {"sku": "A/B 1", "status": "ACCEPTED", "submissionId": "s"}
    api.fake.route("PATCH", PATCH_PATH, lambda _: json_response(200, answer))
    api.fake.inject("PATCH", PATCH_PATH, server_error(reached=True))

    with pytest.raises(TransientError) as raised:
        await api.client.patch_listings_item(
            "A/B 1", [MARKETPLACE], "PRODUCT", [{"op": "delete", "path": "/attributes/x"}]
        )

    assert not isinstance(raised.value, MaybeAccepted)
    assert len(api.fake.api_requests(PATCH_PATH)) == 1
    again = await api.client.patch_listings_item(
        "A/B 1", [MARKETPLACE], "PRODUCT", [{"op": "delete", "path": "/attributes/x"}]
    )
    assert again.value.status is SubmissionStatus.ACCEPTED


async def test_patch_listings_item_checks_its_arguments(api: Api) -> None:
    with pytest.raises(ValueError, match="marketplace"):
        await api.client.patch_listings_item("S", [], "PRODUCT", [{"op": "delete", "path": "/x"}])
    with pytest.raises(ValueError):
        await api.client.patch_listings_item("S", [MARKETPLACE], "PRODUCT", [])
    with pytest.raises(ValueError):
        await api.client.patch_listings_item(
            "S", [MARKETPLACE], "PRODUCT", [{"op": "move", "path": "/attributes/x"}]
        )
    assert api.fake.requests == []
