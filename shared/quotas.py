"""Quota classes and their default limits (docs/design.md §3), declared once.

A quota key is (seller id, region, quota class): Amazon counts a selling partner's calls
per operation, whichever shop, account or marketplace of ours makes them. The defaults are
Amazon's published rate and burst of each operation (from the operation's description in
Amazon's models), plus the seed's own caps (the PrestaShop module's manual). The numbers are
Amazon-time; ``AMAZON_JOBS_TIME_SCALE`` divides durations (multiplies rates) at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from shared.jobs import JobType


class QuotaClass(StrEnum):
    FEED_SUBMIT = "feed_submit"  # createFeed
    FEED_DOCUMENT = "feed_document"  # createFeedDocument
    FEED_STATUS = "feed_status"  # getFeed
    FEED_LIST = "feed_list"  # getFeeds: its own, much smaller bucket
    FEED_RESULT = "feed_result"  # getFeedDocument
    REPORT_REQUEST = "report_request"  # createReport
    REPORT_STATUS = "report_status"  # getReport
    REPORT_RESULT = "report_result"  # getReportDocument
    ORDERS_PAGE = "orders_page"  # one page of orders
    ASIN_LOOKUP = "asin_lookup"  # searchCatalogItems by EAN/UPC
    LISTING_PATCH = "listing_patch"  # patchListingsItem: one SKU, at once


@dataclass(frozen=True, slots=True)
class QuotaSpec:
    burst: int
    rate_per_s: float  # tokens restored per second of Amazon time
    # At most this many grants in any rolling hour: the seed's caps, which Amazon's
    # bucket alone would exceed (a full bucket plus an hour of restores).
    hourly_cap: int | None = None
    # At most ``window_cap`` grants in any rolling ``window_s`` Amazon seconds: a second
    # limit Amazon puts on the same calls (JSON_LISTINGS_FEED: 5 per 5 minutes per region).
    window_cap: int | None = None
    window_s: float = 300.0

    def scaled(self, time_scale: float) -> QuotaSpec:
        """The same limits with Amazon time compressed ``time_scale`` times."""
        return replace(
            self, rate_per_s=self.rate_per_s * time_scale, window_s=self.window_s / time_scale
        )


# Amazon's published numbers, as written in the models (0.0083/s, not 1/120: a bucket that
# refills a hair faster than Amazon's runs ahead of it over hours).
DEFAULT_QUOTAS: dict[QuotaClass, QuotaSpec] = {
    # createFeed 0.0083/s burst 15; the seed's 30 per hour; JSON_LISTINGS_FEED's 5 per 5
    # minutes. One class for every feed type, since Amazon's createFeed bucket is one: a
    # fulfillment feed counts in the 5-minute window too (it only ever waits in a burst).
    QuotaClass.FEED_SUBMIT: QuotaSpec(15, 0.0083, hourly_cap=30, window_cap=5, window_s=300.0),
    QuotaClass.FEED_DOCUMENT: QuotaSpec(15, 0.5),  # createFeedDocument
    QuotaClass.FEED_STATUS: QuotaSpec(15, 2.0),  # getFeed
    QuotaClass.FEED_LIST: QuotaSpec(10, 0.0222),  # getFeeds
    QuotaClass.FEED_RESULT: QuotaSpec(10, 0.0222),  # getFeedDocument
    # createReport 0.0167/s burst 15; the seed's 60 inventory reports per hour.
    QuotaClass.REPORT_REQUEST: QuotaSpec(15, 0.0167, hourly_cap=60),
    QuotaClass.REPORT_STATUS: QuotaSpec(15, 2.0),  # getReport
    QuotaClass.REPORT_RESULT: QuotaSpec(15, 0.0167),  # getReportDocument
    QuotaClass.ORDERS_PAGE: QuotaSpec(20, 0.0056),  # searchOrders (Orders 2026-01-01)
    # searchCatalogItems 2/s burst 2; the seed's 18,000 look-ups per hour (above what 2/s
    # allows, so it never binds at Amazon's rate; it does under an override).
    QuotaClass.ASIN_LOOKUP: QuotaSpec(2, 2.0, hourly_cap=18_000),
    QuotaClass.LISTING_PATCH: QuotaSpec(5, 5.0),  # patchListingsItem
}

# SP-API operation ids (as in Amazon's models) that a quota class limits together.
OPERATION_CLASS: dict[str, QuotaClass] = {
    "createFeed": QuotaClass.FEED_SUBMIT,
    "createFeedDocument": QuotaClass.FEED_DOCUMENT,
    "getFeed": QuotaClass.FEED_STATUS,
    "getFeeds": QuotaClass.FEED_LIST,
    "getFeedDocument": QuotaClass.FEED_RESULT,
    "createReport": QuotaClass.REPORT_REQUEST,
    "getReport": QuotaClass.REPORT_STATUS,
    "getReportDocument": QuotaClass.REPORT_RESULT,
    "searchOrders": QuotaClass.ORDERS_PAGE,
    "searchCatalogItems": QuotaClass.ASIN_LOOKUP,
    "patchListingsItem": QuotaClass.LISTING_PATCH,
}

# The quota class a job's first Amazon call is queued under.
SUBMIT_CLASS: dict[JobType, QuotaClass] = {
    JobType.SEND_PRODUCTS: QuotaClass.FEED_SUBMIT,
    JobType.UPDATE_QTY: QuotaClass.FEED_SUBMIT,
    JobType.UPDATE_PRICE: QuotaClass.FEED_SUBMIT,
    JobType.UPDATE_QTY_PRICE: QuotaClass.FEED_SUBMIT,
    JobType.STOP_PRODUCTS: QuotaClass.FEED_SUBMIT,
    JobType.STOP_REMOVE_PRODUCTS: QuotaClass.FEED_SUBMIT,
    JobType.ORDERS_FULFILLMENT: QuotaClass.FEED_SUBMIT,
    JobType.INVENTORY_REPORT: QuotaClass.REPORT_REQUEST,
    JobType.ORDERS_IMPORT: QuotaClass.ORDERS_PAGE,
}

# Base priority per job type (higher is served first); waiting adds to it (ageing).
# Order from the contract: fulfillment and stop, then quantity, price, send, reports.
BASE_PRIORITY: dict[JobType, int] = {
    JobType.ORDERS_FULFILLMENT: 1000,
    JobType.STOP_PRODUCTS: 1000,
    JobType.STOP_REMOVE_PRODUCTS: 1000,
    JobType.UPDATE_QTY: 500,
    JobType.UPDATE_QTY_PRICE: 500,
    JobType.UPDATE_PRICE: 250,
    JobType.SEND_PRODUCTS: 125,
    JobType.ORDERS_IMPORT: 50,
    JobType.INVENTORY_REPORT: 25,
}
