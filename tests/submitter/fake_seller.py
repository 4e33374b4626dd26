"""The seller's side of Amazon for the submitter's tests: a small SP-API (catalog, feed
documents and feeds, reports, pages of orders) over tests/spapi/fake_amazon.py that records
what the submitter asked for, and the jobs and calls the tests build on it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from services.submitter.amazon import FeedReady, Finished, Submitted, import_orders, prepare, send
from shared.events import ItemState, OrderImported
from shared.job_data import JobFacts
from shared.job_state import JobState
from shared.jobs import JobStatus, JobType
from shared.metered import Metered
from shared.quotas import QuotaClass
from shared.spapi import SpApiClient
from tests.fake_throttle import ACCOUNT, FakeThrottle, metered
from tests.spapi.fake_amazon import FakeAmazon, RecordingSleep, json_response

DE = ACCOUNT.marketplace_ids[0]
FR = "A13V1IB3VIYZZH"
FEEDS = "/feeds/2021-06-30"
REPORTS = "/reports/2021-06-30/reports"
CATALOG = "/catalog/2022-04-01/items"
ORDERS = "/orders/2026-01-01/orders"
SUBMIT = QuotaClass.FEED_SUBMIT
DOCUMENT = QuotaClass.FEED_DOCUMENT
LOOKUP = QuotaClass.ASIN_LOOKUP


@dataclass
class Seller:
    """One seller's Amazon: a catalog to look EANs/UPCs up in, feed documents and feeds,
    reports, and pages of orders. Records what the submitter asked for."""

    fake: FakeAmazon
    client: SpApiClient
    sleep: RecordingSleep  # the client's backoffs: LWA and document uploads (not SP-API quota)
    catalog: dict[str, str] = field(default_factory=dict)  # EAN or UPC → ASIN
    orders: dict[str | None, tuple[list[dict[str, Any]], str | None]] = field(
        default_factory=dict
    )  # pagination token → (orders, next token)
    search_page: int = 20  # items per page of searchCatalogItems (Amazon's at most)
    search_reversed: bool = False  # Amazon need not answer in the order it was asked
    upload_answers: list[httpx.Response] = field(default_factory=list)  # then 200
    create_feed_answers: list[httpx.Response] = field(default_factory=list)  # then 202
    lookups: list[tuple[str, list[str]]] = field(default_factory=list)
    documents: dict[str, tuple[str, bytes | None]] = field(default_factory=dict)
    feeds: list[dict[str, Any]] = field(default_factory=list)
    feed_attempts: int = 0
    reports: list[dict[str, Any]] = field(default_factory=list)
    order_tokens: list[str | None] = field(default_factory=list)
    order_queries: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fake.route("GET", CATALOG, self._search)
        self.fake.route("POST", f"{FEEDS}/documents", self._create_document)
        self.fake.route("PUT", "/upload", self._upload)
        self.fake.route("POST", f"{FEEDS}/feeds", self._create_feed)
        self.fake.route("POST", REPORTS, self._create_report)
        self.fake.route("GET", ORDERS, self._search_orders)

    def _search(self, request: httpx.Request) -> httpx.Response:
        kind = request.url.params["identifiersType"]
        codes = request.url.params["identifiers"].split(",")
        self.lookups.append((kind, codes))
        items = [
            {
                "asin": self.catalog[code],
                "identifiers": [
                    {
                        "marketplaceId": request.url.params["marketplaceIds"],
                        "identifiers": [{"identifierType": kind, "identifier": code}],
                    }
                ],
            }
            for code in codes
            if code in self.catalog
        ]
        if self.search_reversed:
            items.reverse()
        start = int(request.url.params.get("pageToken") or 0)
        body: dict[str, Any] = {
            "numberOfResults": len(items),
            "items": items[start : start + self.search_page],
        }
        if start + self.search_page < len(items):
            body["pagination"] = {"nextToken": str(start + self.search_page)}
        return json_response(200, body)

    def _create_document(self, request: httpx.Request) -> httpx.Response:
        doc_id = f"doc-{len(self.documents) + 1}"
        self.documents[doc_id] = (json.loads(request.content)["contentType"], None)
        url = f"https://s3.test/upload?doc={doc_id}&X-Amz-Signature=sig"
        return json_response(201, {"feedDocumentId": doc_id, "url": url})

    def _upload(self, request: httpx.Request) -> httpx.Response:
        doc_id = request.url.params["doc"]
        content_type, _ = self.documents[doc_id]
        assert request.headers["content-type"] == content_type  # Amazon rejects others
        if self.upload_answers:
            return self.upload_answers.pop(0)
        self.documents[doc_id] = (content_type, request.content)
        return httpx.Response(200)

    def _create_feed(self, request: httpx.Request) -> httpx.Response:
        self.feed_attempts += 1
        if self.create_feed_answers:
            return self.create_feed_answers.pop(0)
        self.feeds.append(json.loads(request.content))
        return json_response(202, {"feedId": f"feed-{len(self.feeds)}"})

    def _create_report(self, request: httpx.Request) -> httpx.Response:
        self.reports.append(json.loads(request.content))
        return json_response(202, {"reportId": f"report-{len(self.reports)}"})

    def _search_orders(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("paginationToken")
        self.order_tokens.append(token)
        self.order_queries.append(dict(request.url.params))
        orders, next_token = self.orders[token]
        body: dict[str, Any] = {"orders": orders}
        if next_token is not None:
            body["pagination"] = {"nextToken": next_token}
        return json_response(200, body)

    def uploaded(self, document_id: str) -> bytes:
        _, content = self.documents[document_id]
        assert content is not None, f"{document_id} was never uploaded"
        return content


def job(
    job_type: JobType, items: Sequence[dict[str, Any]] = (), data: dict[str, Any] | None = None
) -> JobState:
    """A job in ``processing``, its items in the order they were asked for."""
    now = datetime(2026, 11, 27, 10, tzinfo=UTC)
    states = {}
    for item in items:
        key = str(item.get("sku") or item["amazon_order_id"])
        states[key] = ItemState(key=key, request=item)
    return JobState(
        job_id="job-1",
        shop_id=ACCOUNT.shop_id,
        account_id=ACCOUNT.account_id,
        job_type=job_type,
        status=JobStatus.PROCESSING,
        seq=3,
        created_at=now,
        updated_at=now,
        facts=JobFacts.model_validate(data or {}),
        items=states,
    )


async def submit_feed(
    seller: Seller, throttle: FakeThrottle, state: JobState
) -> tuple[Metered, FeedReady, Submitted]:
    """The service's path for a feed job: the first token, then prepare, then send."""
    job_metered = metered(throttle, state.job_type, job_id=state.job_id)
    await job_metered.first_token(SUBMIT)
    ready = await prepare(seller.client, job_metered, ACCOUNT, state)
    assert isinstance(ready, FeedReady), ready
    submitted = await send(seller.client, job_metered, state, ready)
    return job_metered, ready, submitted


def messages(seller: Seller, document_id: str) -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(seller.uploaded(document_id))
    return list(document["messages"])


def product(n: int, **ids: str) -> dict[str, Any]:
    return {"sku": f"SKU-{n:02}", "quantity": n, "price": "9.99", "currency": "EUR"} | ids


def ean(n: int) -> str:
    return f"40063813{n:05}"


def order(order_id: str, sku: str) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "createdTime": "2026-11-26T08:00:00Z",
        "lastUpdatedTime": "2026-11-26T09:00:00Z",
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": DE},
        "proceeds": {"grandTotal": {"amount": "6.00", "currencyCode": "EUR"}},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
        "orderItems": [
            {
                "orderItemId": f"{order_id}-1",
                "quantityOrdered": 2,
                "product": {"asin": "B0SANDBOX2", "sellerSku": sku},
            }
        ],
    }


SINCE = "2026-11-01T00:00:00Z"
PAGES: dict[str | None, tuple[list[dict[str, Any]], str | None]] = {
    None: ([order("302-0000001-0000001", "PEN-1"), order("302-0000002-0000002", "PEN-2")], "p2"),
    "p2": ([order("302-0000003-0000003", "INK")], "p3"),
    "p3": ([order("302-0000004-0000004", "PEN-1")], None),
}

Published = list[tuple[list[OrderImported], str | None, int]]


async def run_import(
    seller: Seller, throttle: FakeThrottle, state: JobState
) -> tuple[Finished, Published]:
    published: Published = []

    async def publish_page(orders: list[OrderImported], cursor: str | None, page: int) -> None:
        published.append((orders, cursor, page))

    job_metered = metered(throttle, state.job_type)
    await job_metered.first_token(QuotaClass.ORDERS_PAGE)
    finished = await import_orders(seller.client, job_metered, ACCOUNT, state, publish_page)
    return finished, published
