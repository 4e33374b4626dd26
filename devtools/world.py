"""A seller at the (sandbox) Amazon and its account in the system, for end-to-end tests
and benchmarks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from devtools.stack import SECRET_KEY
from devtools.topics_read import collect
from shared.crypto import seal_credentials
from shared.events import AccountRegistered, Event, JobEvent, JobRequested, ListingState
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.spapi.auth import LwaCredentials
from shared.topics import ACCOUNTS, JOB_EVENTS, JOB_REQUESTS, LISTINGS, TopicSpec, listing_key

MARKETPLACE = "A1PA6795UKMFR9"
SYNC_BATCH = 5_000  # synced listings sent at once by open_shop
TERMINAL = {"JobDone", "JobFailed", "JobCanceled"}


# A seller's quotas at the sandbox with every operation the workers call unthrottled:
# benchmarks of the pipeline's own speed, not Amazon's limits. JSON_LISTINGS_FEED is
# the sandbox's rolling limit of listings feeds (5 per 5 minutes), on top of createFeed.
LIFTED_SANDBOX_QUOTAS: dict[str, dict[str, float]] = {
    **{
        op: {"burst": 100_000, "rate_per_s": 100_000.0}
        for op in (
            "createFeedDocument",
            "createFeed",
            "getFeed",
            "getFeeds",
            "getFeedDocument",
            "createReport",
            "getReport",
            "getReportDocument",
            "searchCatalogItems",
        )
    },
    "JSON_LISTINGS_FEED": {"max_calls": 100_000, "window_s": 300.0},
}


def ean(n: int) -> str:
    body = f"40{n:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def order_id(n: int) -> str:
    return f"302-{n:07d}-{n:07d}"


@dataclass
class Seller:
    """One seller at Amazon with its catalog, and the shop account linked to it."""

    name: str
    shop_id: str
    catalog_size: int = 20
    listed: int = 10  # SKU-0 … SKU-<listed-1> already sell on Amazon
    orders: int = 3
    quotas: dict[str, Any] | None = None
    # Where the seller sells (amazon.de first); its listed SKUs are on every one of them.
    marketplaces: list[str] = field(default_factory=lambda: [MARKETPLACE])
    seller_id: str = field(default_factory=lambda: "A" + uuid.uuid4().hex[:12].upper())
    refresh_token: str = field(default_factory=lambda: f"Atzr|{uuid.uuid4().hex}")

    @property
    def account_id(self) -> str:
        return f"acc-{self.name}"

    def asin(self, n: int) -> str:
        return f"B0{self.name[:2].upper()}{n:06d}"

    def sku(self, n: int) -> str:
        return f"{self.name}-SKU-{n}"

    def sandbox_payload(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        body: dict[str, Any] = {
            "seller_id": self.seller_id,
            "refresh_token": self.refresh_token,
            "marketplace_ids": list(self.marketplaces),
            "catalog": [
                {"asin": self.asin(n), "ean": ean(n), "title": f"Product {n}"}
                for n in range(self.catalog_size)
            ],
            "listings": [
                {
                    "sku": self.sku(n),
                    "asin": self.asin(n),
                    "quantity": 10,
                    "price": 20.0,
                    "currency": "EUR",
                }
                for n in range(self.listed)
            ],
            "orders": [
                {
                    "AmazonOrderId": order_id(n),
                    "PurchaseDate": (now - timedelta(hours=n + 1)).isoformat(),
                    "LastUpdateDate": (now - timedelta(hours=n + 1)).isoformat(),
                    "OrderStatus": "Unshipped",
                    "MarketplaceId": MARKETPLACE,
                    "FulfillmentChannel": "MFN",
                    "OrderTotal": {"CurrencyCode": "EUR", "Amount": "20.00"},
                    "OrderItems": [
                        {
                            "OrderItemId": f"{n:014d}",
                            "SellerSKU": self.sku(n),
                            "ASIN": self.asin(n),
                            "QuantityOrdered": 1,
                        }
                    ],
                }
                for n in range(self.orders)
            ],
        }
        if self.quotas:
            body["quotas"] = self.quotas
        return body

    def listing(self, n: int, marketplace_id: str | None = None) -> ListingState:
        """The seller's n-th SKU as an active listing already synced with Amazon (on
        ``marketplace_id``; None: a record of before listings had a marketplace, which
        stands for the account's first)."""
        return ListingState(
            account_id=self.account_id,
            shop_id=self.shop_id,
            sku=self.sku(n),
            marketplace_id=marketplace_id,
            asin=self.asin(n),
            status="active",
            quantity=10,
        )

    def account(self) -> AccountRegistered:
        creds = LwaCredentials(
            client_id="amzn1.application-oa2-client.e2e",
            client_secret="e2e-client-secret",
            refresh_token=self.refresh_token,
            seller_id=self.seller_id,
        )
        return AccountRegistered(
            account_id=self.account_id,
            shop_id=self.shop_id,
            name=f"Shop {self.name}",
            seller_id=self.seller_id,
            region="EU",
            marketplace_ids=list(self.marketplaces),
            credentials=seal_credentials(SECRET_KEY, creds, account_id=self.account_id),
        )

    def request(self, job_type: JobType, job_id: str | None = None, **body: Any) -> JobRequested:
        return JobRequested(
            job_id=job_id or f"{self.name}-{job_type.value}-{uuid.uuid4().hex[:6]}",
            shop_id=self.shop_id,
            account_id=self.account_id,
            job_type=job_type,
            **body,
        )


async def open_shop(
    sandbox_url: str, publisher: EventPublisher, seller: Seller, synced_skus: range | None = None
) -> None:
    """Register the seller at the sandbox and its account (and synced listings) here."""
    # A seller of a million listings takes the sandbox seconds to build.
    async with httpx.AsyncClient(timeout=600.0) as http:
        (
            await http.post(f"{sandbox_url}/_sandbox/sellers", json=seller.sandbox_payload())
        ).raise_for_status()
    await publisher.publish(ACCOUNTS, seller.account_id, seller.account())
    # A seller of one marketplace keeps records as they were before listings had one, so
    # the tests that use it go on reading old records; several: one per marketplace.
    markets: list[str | None] = [None] if len(seller.marketplaces) == 1 else [*seller.marketplaces]
    synced = [(n, market) for n in synced_skus or range(0) for market in markets]
    # In flight by the thousand: one acknowledged send at a time took minutes a million.
    for start in range(0, len(synced), SYNC_BATCH):
        batch: list[tuple[TopicSpec, str | None, Event]] = []
        for n, market in synced[start : start + SYNC_BATCH]:
            listing = seller.listing(n, market)
            batch.append((LISTINGS, listing_key(seller.account_id, listing.sku, market), listing))
        await publisher.publish_many(batch)


async def submit(publisher: EventPublisher, *requests: JobRequested) -> None:
    await publisher.publish_many([(JOB_REQUESTS, r.job_id, r) for r in requests])


async def job_events(
    bootstrap: str, job_ids: set[str], timeout_s: float = 90.0, until_terminal: bool = True
) -> dict[str, list[JobEvent]]:
    """Every event of these jobs, once each has a terminal one."""

    def done(found: list[Event]) -> bool:
        ended = {e.job_id for e in found if isinstance(e, JobEvent) and e.event_type in TERMINAL}
        return ended >= job_ids

    found = await collect(
        bootstrap,
        JOB_EVENTS.name,
        done if until_terminal else lambda f: True,
        where=lambda e: isinstance(e, JobEvent) and e.job_id in job_ids,
        timeout_s=timeout_s,
    )
    by_job: dict[str, list[JobEvent]] = {j: [] for j in job_ids}
    for event in found:
        assert isinstance(event, JobEvent)
        by_job[event.job_id].append(event)
    return by_job


async def sandbox_listings(
    sandbox_url: str, seller: Seller, marketplace_id: str | None = None
) -> dict[str, dict[str, Any]]:
    """The seller's listings at the sandbox on one marketplace (default: its first)."""
    params = {"marketplaceId": marketplace_id} if marketplace_id else {}
    async with httpx.AsyncClient() as http:
        body = (
            await http.get(
                f"{sandbox_url}/_sandbox/sellers/{seller.seller_id}/listings", params=params
            )
        ).json()
    return {row["sku"]: row for row in body["listings"]}


async def sandbox_stats(sandbox_url: str, seller: Seller) -> dict[str, dict[str, int]]:
    async with httpx.AsyncClient() as http:
        body = (
            await http.get(f"{sandbox_url}/_sandbox/stats", params={"seller_id": seller.seller_id})
        ).json()
    ops: dict[str, dict[str, int]] = body["operations"]
    return ops
