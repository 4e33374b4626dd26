"""Quota classes and their default token buckets (docs/design.md §3), declared once.

A quota key is (seller account, region, quota class). The numbers are Amazon-time
defaults; ``AMAZON_JOBS_TIME_SCALE`` divides durations (multiplies rates) at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.jobs import JobType


class QuotaClass(StrEnum):
    FEED_SUBMIT = "feed_submit"  # createFeed
    FEED_DOCUMENT = "feed_document"  # createFeedDocument
    FEED_STATUS = "feed_status"  # getFeed, getFeeds
    FEED_RESULT = "feed_result"  # getFeedDocument
    REPORT_REQUEST = "report_request"  # createReport
    REPORT_STATUS = "report_status"  # getReport
    REPORT_RESULT = "report_result"  # getReportDocument
    ORDERS_PAGE = "orders_page"  # one page of orders
    ASIN_LOOKUP = "asin_lookup"  # searchCatalogItems by EAN/UPC
    LISTING_PATCH = "listing_patch"  # patchListingsItem: one SKU at once, no feed


@dataclass(frozen=True, slots=True)
class QuotaSpec:
    burst: int
    rate_per_s: float  # tokens restored per second of Amazon time
    hourly_cap: int | None = None  # extra limit over any rolling hour, if Amazon sets one

    def scaled(self, time_scale: float) -> QuotaSpec:
        """The same bucket with Amazon time compressed ``time_scale`` times."""
        return QuotaSpec(self.burst, self.rate_per_s * time_scale, self.hourly_cap)


DEFAULT_QUOTAS: dict[QuotaClass, QuotaSpec] = {
    QuotaClass.FEED_SUBMIT: QuotaSpec(15, 1 / 120),
    QuotaClass.FEED_DOCUMENT: QuotaSpec(15, 0.5),
    QuotaClass.FEED_STATUS: QuotaSpec(15, 2.0),
    QuotaClass.FEED_RESULT: QuotaSpec(10, 1 / 45),
    QuotaClass.REPORT_REQUEST: QuotaSpec(15, 1 / 60, hourly_cap=60),
    QuotaClass.REPORT_STATUS: QuotaSpec(15, 2.0),
    QuotaClass.REPORT_RESULT: QuotaSpec(15, 1 / 60),
    QuotaClass.ORDERS_PAGE: QuotaSpec(6, 1 / 60),
    QuotaClass.ASIN_LOOKUP: QuotaSpec(20, 5.0, hourly_cap=18_000),
    QuotaClass.LISTING_PATCH: QuotaSpec(5, 5.0),
}

# SP-API operation ids (as in Amazon's models) that a quota class limits together.
OPERATION_CLASS: dict[str, QuotaClass] = {
    "createFeed": QuotaClass.FEED_SUBMIT,
    "createFeedDocument": QuotaClass.FEED_DOCUMENT,
    "getFeed": QuotaClass.FEED_STATUS,
    "getFeeds": QuotaClass.FEED_STATUS,
    "getFeedDocument": QuotaClass.FEED_RESULT,
    "createReport": QuotaClass.REPORT_REQUEST,
    "getReport": QuotaClass.REPORT_STATUS,
    "getReportDocument": QuotaClass.REPORT_RESULT,
    "getOrders": QuotaClass.ORDERS_PAGE,
    "searchOrders": QuotaClass.ORDERS_PAGE,
    "searchCatalogItems": QuotaClass.ASIN_LOOKUP,
    "patchListingsItem": QuotaClass.LISTING_PATCH,
}

# Operations the system calls rarely or not under a class: SP-API's published defaults.
OTHER_OPERATION_DEFAULTS: dict[str, QuotaSpec] = {
    "cancelFeed": QuotaSpec(15, 2.0),
    "getReports": QuotaSpec(10, 0.0222),
    "cancelReport": QuotaSpec(10, 0.0222),
    "getOrderItems": QuotaSpec(30, 0.5),
    "confirmShipment": QuotaSpec(10, 2.0),
}


def operation_quota(operation_id: str) -> QuotaSpec:
    """Default bucket of one SP-API operation, as the sandbox enforces it."""
    quota_class = OPERATION_CLASS.get(operation_id)
    if quota_class is not None:
        return DEFAULT_QUOTAS[quota_class]
    return OTHER_OPERATION_DEFAULTS[operation_id]


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
