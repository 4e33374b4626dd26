"""The submitter's calls to Amazon (services/submitter/amazon.py) against the fake SP-API.

The real SpApiClient talks to an in-memory Amazon (tests/spapi/fake_amazon.py) and the
real Metered takes its tokens from a fake throttle that counts them per quota class:
pure, no broker. Feeds go prepare → send; reports and orders are one step each.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.submitter.amazon import (
    Aborted,
    FeedReady,
    lookup_asins,
    prepare,
    request_report,
    send,
)
from shared.formats import fulfillment_feed, listings_feed
from shared.job_data import said
from shared.jobs import JobType
from shared.metered import StillThrottled
from shared.quotas import QuotaClass
from shared.spapi import PermanentError, TransientError
from tests.fake_throttle import ACCOUNT, FakeThrottle, metered
from tests.spapi.fake_amazon import amazon_error
from tests.submitter.fake_seller import (
    CATALOG,
    DE,
    DOCUMENT,
    FR,
    LOOKUP,
    PAGES,
    SINCE,
    SUBMIT,
    Seller,
    ean,
    job,
    messages,
    product,
    run_import,
    submit_feed,
)

# ------------------------------------------------------------------ listings feeds


async def test_a_listings_feed_numbers_messages_by_ordinal_and_send_spends_the_first_token(
    seller: Seller,
) -> None:
    throttle = FakeThrottle()
    state = job(
        JobType.UPDATE_QTY,
        [
            {"sku": "PEN-1", "quantity": 4},
            {"sku": "PEN-2", "quantity": 0},
            {"sku": "INK", "quantity": 7},
        ],
    )

    _, ready, submitted = await submit_feed(seller, throttle, state)

    assert [(m["messageId"], m["sku"]) for m in messages(seller, ready.document_id)] == [
        (1, "PEN-1"),
        (2, "PEN-2"),
        (3, "INK"),
    ]
    assert seller.documents[ready.document_id][0] == listings_feed.CONTENT_TYPE
    assert seller.feeds == [
        {
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [DE],
            "inputFeedDocumentId": ready.document_id,
        }
    ]
    # The job's first token paid for createFeed: no second feed_submit token was asked for.
    assert throttle.tokens() == {SUBMIT: 1, DOCUMENT: 1}
    assert throttle.released == []
    assert submitted.data.feed_id == "feed-1"
    assert submitted.data.feed_type == "JSON_LISTINGS_FEED"
    assert submitted.data.input_document_id == ready.document_id
    assert submitted.data.marketplace_id == DE
    assert [line.message for line in submitted.log] == ["feed feed-1 submitted with 3 message(s)"]


async def test_the_jobs_marketplace_wins_over_the_accounts_first(seller: Seller) -> None:
    state = job(
        JobType.UPDATE_PRICE,
        [{"sku": "PEN-1", "price": "2.50", "currency": "EUR"}],
        data={"marketplace_id": FR},
    )

    _, ready, submitted = await submit_feed(seller, FakeThrottle(), state)

    assert seller.feeds[0]["marketplaceIds"] == [FR]
    [message] = messages(seller, ready.document_id)
    assert message["patches"][0]["value"][0]["marketplace_id"] == FR
    assert submitted.data.marketplace_id == FR


# ------------------------------------------------------------------ send_products


async def test_send_products_looks_codes_up_in_batches_of_20_and_sends_only_the_matched(
    seller: Seller,
) -> None:
    throttle = FakeThrottle()
    items = [product(n, ean=ean(n)) for n in range(1, 43)]  # ordinals 1-42: by EAN
    items.append(product(43, ean=ean(43), asin="B0GIVEN043"))  # ASIN given: no lookup
    items.append(product(44, upc="012345678944"))  # UPC only
    items.append(product(45, upc="012345678945"))  # UPC only, unknown to Amazon
    items.append(product(46, ean=ean(46), upc="012345678946"))  # EAN unknown, UPC known
    seller.catalog = {ean(n): f"B0EAN{n:05}" for n in range(1, 43) if n not in (5, 17)}
    seller.catalog |= {"012345678944": "B0UPC00044", "012345678946": "B0UPC00046"}
    state = job(JobType.SEND_PRODUCTS, items)

    _, ready, _ = await submit_feed(seller, throttle, state)

    ean_codes = [ean(n) for n in (*range(1, 43), 46)]
    assert seller.lookups == [
        ("EAN", ean_codes[:20]),
        ("EAN", ean_codes[20:40]),
        ("EAN", ean_codes[40:]),
        ("UPC", ["012345678944", "012345678945", "012345678946"]),
    ]
    assert throttle.tokens() == {SUBMIT: 1, LOOKUP: 4, DOCUMENT: 1}

    unmatched = {5, 17, 45}
    by_key = {i.key: i for i in ready.items}
    assert len(by_key) == 46
    for n in range(1, 47):
        item = by_key[f"SKU-{n:02}"]
        if n in unmatched:
            assert item.status == "error" and item.asin is None
        else:
            assert item.status == "pending" and item.asin is not None
    assert by_key["SKU-01"].asin == "B0EAN00001"
    assert by_key["SKU-43"].asin == "B0GIVEN043"
    assert by_key["SKU-44"].asin == "B0UPC00044"
    assert by_key["SKU-46"].asin == "B0UPC00046"
    assert by_key["SKU-05"].messages == [f"no Amazon item found for EAN {ean(5)} in {DE}"]
    assert by_key["SKU-45"].messages == [f"no Amazon item found for UPC 012345678945 in {DE}"]
    assert [line.message for line in ready.log] == ["3 item(s) not found at Amazon"]

    sent = messages(seller, ready.document_id)
    # Only the matched items, each under its ordinal in the job (gaps where one is missing).
    assert [m["messageId"] for m in sent] == [n for n in range(1, 47) if n not in unmatched]
    for m in sent:
        n = m["messageId"]
        assert m["sku"] == f"SKU-{n:02}"
        asin = m["attributes"]["merchant_suggested_asin"][0]["value"]
        assert asin == by_key[m["sku"]].asin


async def test_send_products_with_nothing_found_fails_without_a_feed(seller: Seller) -> None:
    throttle = FakeThrottle()
    state = job(JobType.SEND_PRODUCTS, [product(1, ean=ean(1)), product(2, upc="012345678902")])
    job_metered = metered(throttle, state.job_type)
    first = await job_metered.first_token(SUBMIT)

    outcome = await prepare(seller.client, job_metered, ACCOUNT, state)

    assert isinstance(outcome, Aborted)
    assert outcome.reason == "no item of the job could be matched to an Amazon item"
    assert [(i.key, i.status) for i in outcome.items] == [("SKU-01", "error"), ("SKU-02", "error")]
    assert seller.documents == {} and seller.feed_attempts == 0
    assert throttle.tokens() == {SUBMIT: 1, LOOKUP: 2}
    await job_metered.give_back()  # nothing was sent: the first token is still unspent
    assert throttle.released == [first]


# ------------------------------------------------------------------ fulfillment feed


def shipment(order_id: str, line: str) -> dict[str, Any]:
    shipped_at = datetime(2026, 11, 27, 9, tzinfo=UTC) - timedelta(hours=1)
    return {
        "amazon_order_id": order_id,
        "carrier": "DHL",
        "tracking_number": f"JJD{order_id[-4:]}",
        "shipped_at": shipped_at.isoformat(),
        "items": [{"order_item_id": line, "quantity": 1}],
    }


async def test_the_fulfillment_feed_numbers_messages_by_ordinal(seller: Seller) -> None:
    throttle = FakeThrottle()
    orders = ["302-0000003-0000003", "302-0000001-0000001", "302-0000002-0000002"]
    state = job(JobType.ORDERS_FULFILLMENT, [shipment(o, f"line-{o[-1]}") for o in orders])

    _, ready, submitted = await submit_feed(seller, throttle, state)

    envelope = ET.fromstring(seller.uploaded(ready.document_id))
    assert [
        (m.findtext("MessageID"), m.findtext("OrderFulfillment/AmazonOrderID"))
        for m in envelope.iter("Message")
    ] == [("1", orders[0]), ("2", orders[1]), ("3", orders[2])]
    assert envelope.findtext("Header/MerchantIdentifier") == ACCOUNT.seller_id
    assert seller.documents[ready.document_id][0] == fulfillment_feed.CONTENT_TYPE
    assert seller.feeds[0]["feedType"] == "POST_ORDER_FULFILLMENT_DATA"
    assert submitted.data.feed_type == "POST_ORDER_FULFILLMENT_DATA"
    assert throttle.tokens() == {SUBMIT: 1, DOCUMENT: 1}


# ------------------------------------------------------------------ uploads


def expired() -> httpx.Response:
    """The storage's answer to a presigned URL past its 5 minutes."""
    return httpx.Response(403, content=b"<Error><Code>AccessDenied</Code></Error>")


async def test_an_upload_to_an_expired_url_asks_for_a_new_document(seller: Seller) -> None:
    throttle = FakeThrottle()
    seller.upload_answers = [expired()]
    state = job(JobType.UPDATE_QTY, [{"sku": "PEN-1", "quantity": 1}])

    _, ready, _ = await submit_feed(seller, throttle, state)

    assert ready.document_id == "doc-2"
    assert seller.documents["doc-1"][1] is None  # never uploaded
    assert seller.feeds[0]["inputFeedDocumentId"] == "doc-2"
    assert throttle.tokens() == {SUBMIT: 1, DOCUMENT: 2}


async def test_uploads_refused_three_times_fail_before_any_feed(seller: Seller) -> None:
    throttle = FakeThrottle()
    seller.upload_answers = [expired() for _ in range(3)]
    state = job(JobType.UPDATE_QTY, [{"sku": "PEN-1", "quantity": 1}])
    job_metered = metered(throttle, state.job_type)
    await job_metered.first_token(SUBMIT)

    with pytest.raises(PermanentError) as caught:
        await prepare(seller.client, job_metered, ACCOUNT, state)

    assert caught.value.status == 403
    assert len(seller.documents) == 3 and seller.feed_attempts == 0
    assert throttle.tokens() == {SUBMIT: 1, DOCUMENT: 3}


# ------------------------------------------------------------------ throttled createFeed


async def test_a_429_on_create_feed_is_retried_on_a_fresh_token(seller: Seller) -> None:
    throttle = FakeThrottle()
    seller.create_feed_answers = [amazon_error(429, "QuotaExceeded")]
    state = job(JobType.STOP_PRODUCTS, [{"sku": "PEN-1"}])

    job_metered, ready, submitted = await submit_feed(seller, throttle, state)

    assert seller.feed_attempts == 2
    assert submitted.data.feed_id == "feed-1"
    assert throttle.throttled == [job_metered.key(SUBMIT)]
    assert throttle.tokens() == {SUBMIT: 2, DOCUMENT: 1}  # the first token, then a fresh one
    assert len(seller.documents) == 1  # the document is not built or uploaded again
    assert seller.feeds[0]["inputFeedDocumentId"] == ready.document_id


async def test_create_feed_throttled_on_every_fresh_token_is_a_transient_error(
    seller: Seller,
) -> None:
    throttle = FakeThrottle()
    seller.create_feed_answers = [amazon_error(429, "QuotaExceeded") for _ in range(50)]
    state = job(JobType.STOP_PRODUCTS, [{"sku": "PEN-1"}])
    job_metered = metered(throttle, state.job_type)
    await job_metered.first_token(SUBMIT)
    ready = await prepare(seller.client, job_metered, ACCOUNT, state)
    assert isinstance(ready, FeedReady)

    with pytest.raises(StillThrottled) as caught:
        await send(seller.client, job_metered, state, ready)

    assert isinstance(caught.value, TransientError)  # the service retries it later
    assert seller.feed_attempts == 11  # the first token and max_throttles (10) fresh ones
    assert throttle.tokens()[SUBMIT] == 11
    assert seller.feeds == []


# ------------------------------------------------------------------ reports


async def test_a_report_is_requested_with_the_first_token(seller: Seller) -> None:
    throttle = FakeThrottle()
    state = job(
        JobType.INVENTORY_REPORT,
        data={"params": {"report_type": "GET_FLAT_FILE_OPEN_LISTINGS_DATA"}},
    )
    job_metered = metered(throttle, state.job_type)
    await job_metered.first_token(QuotaClass.REPORT_REQUEST)

    submitted = await request_report(seller.client, job_metered, ACCOUNT, state)

    assert seller.reports == [
        {"reportType": "GET_FLAT_FILE_OPEN_LISTINGS_DATA", "marketplaceIds": [DE]}
    ]
    assert throttle.tokens() == {QuotaClass.REPORT_REQUEST: 1}
    assert submitted.data.report_id == "report-1"
    assert submitted.data.report_type == "GET_FLAT_FILE_OPEN_LISTINGS_DATA"


# ------------------------------------------------------------------ orders import


async def test_orders_import_publishes_each_page_with_its_cursor(seller: Seller) -> None:
    throttle = FakeThrottle()
    seller.orders = PAGES
    state = job(
        JobType.ORDERS_IMPORT, data={"params": {"since": SINCE, "page_size": 2, "by": "created"}}
    )

    finished, published = await run_import(seller, throttle, state)

    assert [
        ([o.amazon_order_id for o in orders], cursor, n) for orders, cursor, n in published
    ] == [
        (["302-0000001-0000001", "302-0000002-0000002"], "p2", 1),
        (["302-0000003-0000003"], "p3", 2),
        (["302-0000004-0000004"], None, 3),
    ]
    first = published[0][0][0]
    assert (first.account_id, first.shop_id, first.job_id) == ("acc-de", "shop1", "job-1")
    assert (first.status, first.total, first.currency) == ("UNSHIPPED", Decimal("6.00"), "EUR")
    assert first.purchased_at == datetime(2026, 11, 26, 8, tzinfo=UTC)
    assert [(line.sku, line.quantity) for line in first.items] == [("PEN-1", 2)]
    assert seller.order_tokens == [None, "p2", "p3"]
    query = seller.order_queries[0]
    assert (query["createdAfter"], query["marketplaceIds"], query["maxResultsPerPage"]) == (
        SINCE,
        DE,
        "2",
    )
    assert query["includedData"] == "FULFILLMENT,PROCEEDS"  # status and totals
    assert throttle.tokens() == {QuotaClass.ORDERS_PAGE: 3}  # the first token for page 1
    assert said(finished.data) == {"orders": 4, "pages": 3}


async def test_orders_import_resumes_at_the_checkpointed_cursor(seller: Seller) -> None:
    throttle = FakeThrottle()
    seller.orders = PAGES
    state = job(
        JobType.ORDERS_IMPORT,
        data={"params": {"since": SINCE}, "cursor": "p3", "pages": 2, "orders": 3},
    )

    finished, published = await run_import(seller, throttle, state)

    assert seller.order_tokens == ["p3"]
    assert [
        ([o.amazon_order_id for o in orders], cursor, n) for orders, cursor, n in published
    ] == [(["302-0000004-0000004"], None, 3)]
    assert said(finished.data) == {"orders": 4, "pages": 3}
    assert throttle.tokens() == {QuotaClass.ORDERS_PAGE: 1}


async def test_an_orders_import_past_its_last_page_asks_amazon_nothing(seller: Seller) -> None:
    throttle = FakeThrottle()
    state = job(
        JobType.ORDERS_IMPORT,
        data={"params": {"since": SINCE}, "cursor": None, "pages": 3, "orders": 4},
    )

    finished, published = await run_import(seller, throttle, state)

    assert seller.order_tokens == [] and published == []
    assert said(finished.data) == {"orders": 4, "pages": 3}


async def test_every_sku_carrying_a_code_is_matched_also_past_the_first_page(
    seller: Seller,
) -> None:
    throttle = FakeThrottle()
    seller.search_page = 7  # twenty codes match twenty items: three pages
    items = [product(n, ean=ean(n)) for n in range(1, 21)]
    items.append(product(21, ean=ean(3)))  # a second offer of the product of SKU-03
    seller.catalog = {ean(n): f"B0EAN{n:05}" for n in range(1, 21)}
    state = job(JobType.SEND_PRODUCTS, items)

    _, ready, _ = await submit_feed(seller, throttle, state)

    assert len(seller.lookups) == 3  # one batch of codes, read page by page
    assert throttle.tokens()[LOOKUP] == 3
    by_key = {i.key: i for i in ready.items}
    assert {k for k, i in by_key.items() if i.status == "error"} == set()
    assert by_key["SKU-21"].asin == by_key["SKU-03"].asin == "B0EAN00003"
    assert len(messages(seller, ready.document_id)) == 21


# ------------------------------------------------------------------ every feed job type


# One item of each job type that carries items, and the feed Amazon gets for it
# (docs/design.md §2).
FEED_OF: dict[JobType, tuple[str, str, dict[str, Any]]] = {
    JobType.SEND_PRODUCTS: (
        listings_feed.FEED_TYPE,
        listings_feed.CONTENT_TYPE,
        product(1, asin="B0GIVEN001"),
    ),
    JobType.UPDATE_QTY: (
        listings_feed.FEED_TYPE,
        listings_feed.CONTENT_TYPE,
        {"sku": "PEN-1", "quantity": 3},
    ),
    JobType.UPDATE_PRICE: (
        listings_feed.FEED_TYPE,
        listings_feed.CONTENT_TYPE,
        {"sku": "PEN-1", "price": "2.50", "currency": "EUR"},
    ),
    JobType.UPDATE_QTY_PRICE: (
        listings_feed.FEED_TYPE,
        listings_feed.CONTENT_TYPE,
        {"sku": "PEN-1", "quantity": 3, "price": "2.50", "currency": "EUR"},
    ),
    JobType.STOP_PRODUCTS: (listings_feed.FEED_TYPE, listings_feed.CONTENT_TYPE, {"sku": "PEN-1"}),
    JobType.STOP_REMOVE_PRODUCTS: (
        listings_feed.FEED_TYPE,
        listings_feed.CONTENT_TYPE,
        {"sku": "PEN-1"},
    ),
    JobType.ORDERS_FULFILLMENT: (
        fulfillment_feed.FEED_TYPE,
        fulfillment_feed.CONTENT_TYPE,
        shipment("302-0000001-0000001", "line-1"),
    ),
}


def test_every_job_type_with_items_is_covered_as_a_feed() -> None:
    assert set(FEED_OF) == {t for t in JobType if t.carries_items}
    assert fulfillment_feed.FEED_TYPE == "POST_ORDER_FULFILLMENT_DATA"


@pytest.mark.parametrize("job_type", list(FEED_OF))
async def test_each_feed_job_type_is_one_document_and_one_feed_of_its_type(
    seller: Seller, job_type: JobType
) -> None:
    throttle = FakeThrottle()
    feed_type, content_type, item = FEED_OF[job_type]

    _, ready, submitted = await submit_feed(seller, throttle, job(job_type, [item]))

    assert [content for content, _ in seller.documents.values()] == [content_type]
    assert seller.feeds == [
        {"feedType": feed_type, "marketplaceIds": [DE], "inputFeedDocumentId": ready.document_id}
    ]
    assert submitted.data.feed_type == feed_type
    assert throttle.tokens() == {SUBMIT: 1, DOCUMENT: 1}  # an ASIN given: nothing to look up
    assert seller.lookups == []


async def test_update_qty_price_messages_carry_the_quantity_and_the_price(seller: Seller) -> None:
    state = job(
        JobType.UPDATE_QTY_PRICE,
        [
            {"sku": "PEN-1", "quantity": 4, "price": "2.50", "currency": "EUR"},
            {"sku": "INK", "quantity": 0, "price": "19.99", "currency": "EUR"},
        ],
    )

    _, ready, _ = await submit_feed(seller, FakeThrottle(), state)

    def expected(n: int, sku: str, quantity: int, price: float) -> dict[str, Any]:
        offer = {
            "marketplace_id": DE,
            "currency": "EUR",
            "audience": "ALL",
            "our_price": [{"schedule": [{"value_with_tax": price}]}],
        }
        return {
            "messageId": n,
            "sku": sku,
            "operationType": "PATCH",
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
                },
                {"op": "replace", "path": "/attributes/purchasable_offer", "value": [offer]},
            ],
        }

    assert messages(seller, ready.document_id) == [
        expected(1, "PEN-1", 4, 2.5),
        expected(2, "INK", 0, 19.99),  # a quantity of 0 is sent, not dropped
    ]
    assert b'"value_with_tax":19.99' in seller.uploaded(ready.document_id)  # not 19.989999…


@pytest.mark.parametrize("job_type", [JobType.STOP_PRODUCTS, JobType.STOP_REMOVE_PRODUCTS])
async def test_stopping_sets_the_quantity_to_zero_and_deletes_nothing_at_amazon(
    seller: Seller, job_type: JobType
) -> None:
    # Both leave the offer at Amazon with nothing to sell; stop & remove takes the listing
    # off the shop's selling list once the feed succeeds (the applier), never DELETEs it.
    state = job(job_type, [{"sku": "PEN-1"}, {"sku": "INK"}])

    _, ready, submitted = await submit_feed(seller, FakeThrottle(), state)

    sent = messages(seller, ready.document_id)
    assert [(m["messageId"], m["sku"], m["operationType"]) for m in sent] == [
        (1, "PEN-1", "PATCH"),
        (2, "INK", "PATCH"),
    ]
    for m in sent:
        assert m["patches"] == [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
            }
        ]
    assert [line.message for line in submitted.log] == ["feed feed-1 submitted with 2 message(s)"]


# ------------------------------------------------------------------ catalog lookups


async def test_lookups_ask_the_jobs_marketplace_and_map_answers_back_by_code(
    seller: Seller,
) -> None:
    throttle = FakeThrottle()
    seller.search_reversed = True
    seller.catalog = {ean(1): "B0EAN00001", ean(2): "B0EAN00002", ean(3): "B0EAN00003"}
    items = [product(n, ean=ean(n)) for n in (1, 2, 3, 4)]  # EAN 4 unknown to Amazon
    state = job(JobType.SEND_PRODUCTS, items, data={"marketplace_id": FR})
    job_metered = metered(throttle, state.job_type)

    matched, errors = await lookup_asins(seller.client, job_metered, state, FR)

    [query] = [r.url.params for r in seller.fake.api_requests(CATALOG)]
    assert query["identifiers"] == ",".join(ean(n) for n in (1, 2, 3, 4))
    assert (query["identifiersType"], query["marketplaceIds"]) == ("EAN", FR)
    assert query["includedData"] == "identifiers,summaries"
    assert query["pageSize"] == "20"  # 20 codes can match 20 items: one page, not two
    assert [(i.key, i.asin) for i in matched] == [
        ("SKU-01", "B0EAN00001"),
        ("SKU-02", "B0EAN00002"),
        ("SKU-03", "B0EAN00003"),
    ]
    assert [(i.key, i.status, i.messages) for i in errors] == [
        ("SKU-04", "error", [f"no Amazon item found for EAN {ean(4)} in {FR}"])
    ]
    assert throttle.tokens() == {LOOKUP: 1}


async def test_a_job_whose_items_all_name_their_asin_looks_nothing_up(seller: Seller) -> None:
    throttle = FakeThrottle()
    items = [product(1, asin="B0GIVEN001", ean=ean(1)), product(2, asin="B0GIVEN002")]

    _, ready, _ = await submit_feed(seller, throttle, job(JobType.SEND_PRODUCTS, items))

    assert seller.fake.api_requests(CATALOG) == []
    assert LOOKUP not in throttle.tokens()
    assert [(i.key, i.asin) for i in ready.items] == [
        ("SKU-01", "B0GIVEN001"),
        ("SKU-02", "B0GIVEN002"),
    ]


# ------------------------------------------------------------------ report and orders params


async def test_an_inventory_report_by_default_asks_for_all_listings_of_the_jobs_marketplace(
    seller: Seller,
) -> None:
    throttle = FakeThrottle()
    state = job(JobType.INVENTORY_REPORT, data={"marketplace_id": FR})
    job_metered = metered(throttle, state.job_type)
    await job_metered.first_token(QuotaClass.REPORT_REQUEST)

    submitted = await request_report(seller.client, job_metered, ACCOUNT, state)

    # Exactly these keys: no data window (a listings report is a snapshot), no options.
    assert seller.reports == [
        {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [FR]}
    ]
    assert (submitted.data.report_type, submitted.data.marketplace_id) == (
        "GET_MERCHANT_LISTINGS_ALL_DATA",
        FR,
    )
    assert [line.message for line in submitted.log] == [
        "report report-1 (GET_MERCHANT_LISTINGS_ALL_DATA) requested"
    ]
    assert throttle.tokens() == {QuotaClass.REPORT_REQUEST: 1}


@pytest.mark.parametrize("by", ["last_update", None])
async def test_an_import_by_default_asks_for_orders_changed_since_in_pages_of_100(
    seller: Seller, by: str | None
) -> None:
    """New orders, status changes and cancellations: an import misses none unless it asks
    only for orders created since; Amazon's largest page keeps the scarce tokens few."""
    seller.orders = PAGES
    params = {"since": SINCE} | ({"by": by} if by else {})
    state = job(JobType.ORDERS_IMPORT, data={"params": params})

    await run_import(seller, FakeThrottle(), state)

    for query in seller.order_queries:  # every page repeats the filters, as Amazon wants
        assert query["lastUpdatedAfter"] == SINCE
        assert "createdAfter" not in query
        assert query["maxResultsPerPage"] == "100"  # the default page size
    assert [q.get("paginationToken") for q in seller.order_queries] == [None, "p2", "p3"]
