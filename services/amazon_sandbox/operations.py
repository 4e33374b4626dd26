"""The SP-API operations the sandbox serves, by operation id as in Amazon's models."""

from __future__ import annotations

FEEDS = (
    "createFeedDocument",
    "createFeed",
    "getFeed",
    "getFeeds",
    "cancelFeed",
    "getFeedDocument",
)
REPORTS = ("createReport", "getReport", "getReports", "cancelReport", "getReportDocument")
CATALOG = ("searchCatalogItems",)
ORDERS = ("getOrders", "getOrderItems", "confirmShipment", "searchOrders")
LISTINGS = ("patchListingsItem",)

OPERATIONS = frozenset(FEEDS + REPORTS + CATALOG + ORDERS + LISTINGS)
