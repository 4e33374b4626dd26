"""Response bodies shaped like Amazon's published models (written for these tests)."""

from __future__ import annotations

from typing import Any

FEED: dict[str, Any] = {
    "feedId": "50012345",
    "feedType": "JSON_LISTINGS_FEED",
    "marketplaceIds": ["A1PA6795UKMFR9"],
    "createdTime": "2026-11-27T10:00:00Z",
    "processingStatus": "DONE",
    "processingStartTime": "2026-11-27T10:01:00Z",
    "processingEndTime": "2026-11-27T10:05:00Z",
    "resultFeedDocumentId": "amzn1.tortuga.4.eu.result",
}

REPORT: dict[str, Any] = {
    "reportId": "9001",
    "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
    "marketplaceIds": ["A1PA6795UKMFR9"],
    "createdTime": "2026-11-27T10:00:00+00:00",
    "processingStatus": "IN_PROGRESS",
    "processingStartTime": "2026-11-27T10:00:30Z",
}

CATALOG_SEARCH: dict[str, Any] = {
    "numberOfResults": 1,
    "pagination": {"nextToken": None},
    "refinements": {"brands": [], "classifications": []},
    "items": [
        {
            "asin": "B000TEST01",
            "identifiers": [
                {
                    "marketplaceId": "A1PA6795UKMFR9",
                    "identifiers": [
                        {"identifierType": "EAN", "identifier": "4006381333931"},
                        {"identifierType": "UPC", "identifier": "006381333931"},
                    ],
                }
            ],
            "summaries": [
                {
                    "marketplaceId": "A1PA6795UKMFR9",
                    "brand": "Stabilo",
                    "itemName": "Highlighter, yellow",
                    "browseClassification": {"displayName": "Pens", "classificationId": "1"},
                }
            ],
            "salesRanks": [{"marketplaceId": "A1PA6795UKMFR9", "ranks": []}],
        }
    ],
}

SEARCH_ORDERS: dict[str, Any] = {
    "orders": [
        {
            "orderId": "302-1234567-7654321",
            "createdTime": "2026-11-26T08:00:00Z",
            "lastUpdatedTime": "2026-11-26T09:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1PA6795UKMFR9"},
            "proceeds": {"grandTotal": {"amount": "39.98", "currencyCode": "EUR"}},
            "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"},
            "orderItems": [
                {
                    "orderItemId": "68828574383266",
                    "quantityOrdered": 2,
                    "product": {
                        "asin": "B000TEST01",
                        "sellerSku": "TSHIRT-RED-M",
                        "price": {"unitPrice": {"amount": "19.99", "currencyCode": "EUR"}},
                    },
                    "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": 2},
                }
            ],
        }
    ],
    "pagination": {"nextToken": "2YgYW55"},
    "createdBefore": "2026-11-27T09:58:00Z",
}
