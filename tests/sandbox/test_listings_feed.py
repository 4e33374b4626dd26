"""JSON_LISTINGS_FEED: validation, application and the processing report, without HTTP."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from services.amazon_sandbox.listings import Catalog, CatalogItem, Listing, ListingStatus
from services.amazon_sandbox.listings_feed import (
    MAX_MESSAGES,
    FeedContext,
    ListingsFeedResult,
    process_listings_feed,
)
from tests.sandbox.conftest import MARKETPLACE, SELLER
from tests.sandbox.conftest import listings_feed as feed
from tests.sandbox.conftest import quantity_message as qty_patch

CATALOG = Catalog(
    [
        CatalogItem("B000PEN001", ean="4006381333931", title="Pen"),
        CatalogItem("B000MUG001", upc="012345678905", title="Mug"),
    ]
)
CONTEXT = FeedContext(SELLER, "50001", [MARKETPLACE], CATALOG, "2026-01-01T00:00:00Z")
LISTINGS = {
    "PEN": Listing("PEN", "B000PEN001", quantity=5, price=Decimal("2.50"), currency="EUR"),
    "OLD": Listing("OLD", "B000MUG001", quantity=1, price=Decimal("9.00"), currency="EUR"),
}


def offer(price: Any, currency: Any = "EUR") -> list[dict[str, Any]]:
    return [
        {
            "marketplace_id": MARKETPLACE,
            "currency": currency,
            "audience": "ALL",
            "our_price": [{"schedule": [{"value_with_tax": price}]}],
        }
    ]


def price_patch(message_id: int, sku: str, price: Any, currency: Any = "EUR") -> dict[str, Any]:
    return {
        "messageId": message_id,
        "sku": sku,
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/purchasable_offer",
                "value": offer(price, currency),
            }
        ],
    }


def run(raw: bytes) -> ListingsFeedResult:
    return process_listings_feed(raw, CONTEXT, LISTINGS)


def issues_by_message(result: ListingsFeedResult) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {}
    for issue in result.report["issues"]:
        grouped.setdefault(issue["messageId"], []).append(issue)
    return grouped


def test_quantity_and_price_patches_apply() -> None:
    both = qty_patch(1, "PEN", 7)
    both["patches"] += price_patch(1, "PEN", 3.99)["patches"]
    result = run(feed(both))
    assert not result.fatal
    assert result.report == {
        "header": {"sellerId": SELLER, "version": "2.0", "feedId": "50001"},
        "issues": [],
        "summary": {
            "errors": 0,
            "warnings": 0,
            "messagesProcessed": 1,
            "messagesAccepted": 1,
            "messagesInvalid": 0,
        },
    }
    pen = result.listings["PEN"]
    assert (pen.quantity, pen.price, pen.currency) == (7, Decimal("3.99"), "EUR")
    assert LISTINGS["PEN"].quantity == 5  # the input mapping is left alone


def test_good_and_bad_messages_issues_point_at_the_bad_skus() -> None:
    result = run(
        feed(
            qty_patch(1, "PEN", 0),  # good: stop
            qty_patch(2, "GHOST", 3),  # unknown SKU
            qty_patch(3, "OLD", -1),  # negative quantity
            qty_patch(4, "OLD", 2.5),  # not an integer
            price_patch(5, "OLD", 0),  # price must be > 0
            price_patch(6, "OLD", 5, currency="euro"),  # not ISO-4217
            {"messageId": 7, "sku": "OLD", "operationType": "REPLACE"},  # malformed
            price_patch(8, "OLD", 12.5),  # good
        )
    )
    assert not result.fatal
    summary = result.report["summary"]
    assert summary == {
        "errors": 6,
        "warnings": 0,
        "messagesProcessed": 8,
        "messagesAccepted": 2,
        "messagesInvalid": 6,
    }
    issues = issues_by_message(result)
    assert sorted(issues) == [2, 3, 4, 5, 6, 7]
    assert issues[2][0]["sku"] == "GHOST" and issues[2][0]["code"] == "99020"
    assert issues[3][0]["attributeName"] == "fulfillment_availability.quantity"
    assert "0 or more" in issues[3][0]["message"]
    assert "integer" in issues[4][0]["message"]
    assert issues[5][0]["attributeName"] == "purchasable_offer.our_price"
    assert issues[6][0]["attributeName"] == "purchasable_offer.currency"
    assert issues[7][0]["code"] == "4002008"  # Amazon's message-schema code
    assert all(i["severity"] == "ERROR" for group in issues.values() for i in group)
    assert all(i["sku"] for group in issues.values() for i in group)
    # Valid messages applied, invalid ones not at all.
    assert result.listings["PEN"].quantity == 0
    assert result.listings["PEN"].status is ListingStatus.INACTIVE
    assert result.listings["OLD"].quantity == 1
    assert result.listings["OLD"].price == Decimal("12.5")
    assert "GHOST" not in result.listings


def test_a_message_with_one_bad_patch_is_not_applied_at_all() -> None:
    message = qty_patch(1, "PEN", 9)
    message["patches"] += price_patch(1, "PEN", -4)["patches"]
    result = run(feed(message))
    assert result.report["summary"]["messagesInvalid"] == 1
    assert result.listings["PEN"].quantity == 5


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"messageId": 0, "sku": "PEN", "operationType": "DELETE"}, "messageId"),
        ({"messageId": "1", "sku": "PEN", "operationType": "DELETE"}, "messageId"),
        ({"messageId": 1, "sku": "", "operationType": "DELETE"}, "sku"),
        ({"messageId": 1, "sku": "PEN", "operationType": "PATCH", "productType": "X"}, "patches"),
        (
            {"messageId": 1, "sku": "PEN", "operationType": "DELETE", "productType": "X"},
            "not applicable",
        ),
        (
            {"messageId": 1, "sku": "PEN", "operationType": "UPDATE", "attributes": {"a": 1}},
            "productType",
        ),
        (
            {
                "messageId": 1,
                "sku": "PEN",
                "operationType": "PATCH",
                "productType": "X",
                "patches": [{"op": "replace", "path": "/attributes/a/0/value", "value": [{}]}],
            },
            "path",
        ),
        (
            {
                "messageId": 1,
                "sku": "PEN",
                "operationType": "PATCH",
                "productType": "X",
                "patches": [{"op": "move", "path": "/attributes/a", "value": [{}]}],
            },
            "op",
        ),
        ("not an object", "object"),
    ],
)
def test_message_schema_violations_are_4002008(message: Any, problem: str) -> None:
    result = run(feed(message))
    assert not result.fatal
    [issue] = result.report["issues"]
    assert issue["code"] == "4002008"
    assert problem in issue["message"]
    assert result.report["summary"]["messagesInvalid"] == 1


def test_duplicate_message_id_is_an_issue_of_the_second_message() -> None:
    result = run(feed(qty_patch(1, "PEN", 1), qty_patch(1, "OLD", 2)))
    [issue] = result.report["issues"]
    assert (issue["messageId"], issue["sku"]) == (1, "OLD")
    assert "not unique" in issue["message"]
    assert result.listings["OLD"].quantity == 1


def update(message_id: int, sku: str, attributes: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "sku": sku,
        "operationType": "UPDATE",
        "productType": "PRODUCT",
        "requirements": "LISTING_OFFER_ONLY",
        "attributes": attributes,
    }


def test_update_creates_listings_by_suggested_asin_or_by_ean_and_upc() -> None:
    stock = [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}]
    result = run(
        feed(
            update(
                1,
                "NEW-1",
                {
                    "merchant_suggested_asin": [
                        {"value": "B000PEN001", "marketplace_id": MARKETPLACE}
                    ],
                    "condition_type": [{"value": "new_new"}],
                    "fulfillment_availability": stock,
                    "purchasable_offer": offer(1.5),
                },
            ),
            update(
                2,
                "NEW-2",
                {
                    "externally_assigned_product_identifier": [
                        {"type": "ean", "value": "4006381333931", "marketplace_id": MARKETPLACE}
                    ],
                    "purchasable_offer": offer(2),
                },
            ),
            update(
                3,
                "NEW-3",
                {  # a UPC-12 is the same GTIN as its zero-padded EAN-13
                    "externally_assigned_product_identifier": [
                        {"type": "ean", "value": "0012345678905"}
                    ]
                },
            ),
        )
    )
    assert result.report["issues"] == []
    new1, new2, new3 = (result.listings[f"NEW-{n}"] for n in (1, 2, 3))
    assert (new1.asin, new1.quantity, new1.price, new1.status) == (
        "B000PEN001",
        4,
        Decimal("1.5"),
        ListingStatus.ACTIVE,
    )
    assert (new2.asin, new2.quantity, new2.status) == ("B000PEN001", 0, ListingStatus.INACTIVE)
    assert (new3.asin, new3.price, new3.status) == ("B000MUG001", None, ListingStatus.INCOMPLETE)
    assert new1.created_at == "2026-01-01T00:00:00Z"


def test_update_needs_a_product_that_the_catalog_knows() -> None:
    result = run(
        feed(
            update(1, "X1", {"item_name": [{"value": "No identity"}]}),
            update(2, "X2", {"merchant_suggested_asin": [{"value": "B0NOTHERE0"}]}),
            update(
                3, "X3", {"externally_assigned_product_identifier": [{"type": "ean", "value": "1"}]}
            ),
        )
    )
    issues = issues_by_message(result)
    assert issues[1][0]["code"] == "90220"
    assert issues[2][0]["attributeName"] == "merchant_suggested_asin"
    assert issues[3][0]["attributeName"] == "externally_assigned_product_identifier"
    assert not {"X1", "X2", "X3"} & set(result.listings)


def test_update_of_an_existing_sku_keeps_its_asin_and_replaces_the_rest() -> None:
    result = run(feed(update(1, "PEN", {"item_name": [{"value": "Better pen"}]})))
    pen = result.listings["PEN"]
    assert (pen.asin, pen.title, pen.quantity, pen.price) == ("B000PEN001", "Better pen", 0, None)


def test_partial_update_and_delete() -> None:
    result = run(
        feed(
            {
                "messageId": 1,
                "sku": "PEN",
                "operationType": "PARTIAL_UPDATE",
                "productType": "PRODUCT",
                "attributes": {
                    "fulfillment_availability": [
                        {"fulfillment_channel_code": "DEFAULT", "quantity": 11}
                    ]
                },
            },
            {"messageId": 2, "sku": "OLD", "operationType": "DELETE"},
            {"messageId": 3, "sku": "NEVER-EXISTED", "operationType": "DELETE"},
        )
    )
    assert result.report["summary"]["messagesAccepted"] == 3  # DELETE is idempotent
    assert result.listings["PEN"].quantity == 11
    assert result.listings["PEN"].price == Decimal("2.50")
    assert "OLD" not in result.listings


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "4002001"),
        (b"[]", "4002008"),
        (feed(qty_patch(1, "PEN", 1), seller_id="SOMEONE-ELSE"), "4002006"),
        (feed(qty_patch(1, "PEN", 1), version="1.0"), "4002006"),
        (feed(), "4002008"),
        (json.dumps({"header": {"sellerId": SELLER, "version": "2.0"}}).encode(), "4002008"),
    ],
)
def test_unreadable_documents_and_bad_headers_are_fatal(raw: bytes, code: str) -> None:
    result = run(raw)
    assert result.fatal
    assert result.listings == LISTINGS
    [issue] = result.report["issues"]
    assert issue["code"] == code and "messageId" not in issue
    assert result.report["summary"]["messagesProcessed"] == 0


def test_more_than_25000_messages_is_fatal() -> None:
    messages = [{"messageId": n, "sku": "PEN", "operationType": "DELETE"} for n in range(1, 25_002)]
    assert len(messages) == MAX_MESSAGES + 1
    assert run(feed(*messages)).fatal
    assert not run(feed(*messages[:MAX_MESSAGES])).fatal


def test_a_price_ten_times_or_a_tenth_of_the_last_is_applied_with_a_warning() -> None:
    result = run(
        feed(price_patch(1, "PEN", 25), price_patch(2, "OLD", 0.9), qty_patch(3, "PEN", 1))
    )
    assert result.report["summary"] == result.report["summary"] | {
        "errors": 0,
        "warnings": 2,
        "messagesAccepted": 3,
    }
    assert [(i["messageId"], i["severity"], i["code"]) for i in result.report["issues"]] == [
        (1, "WARNING", "99040"),
        (2, "WARNING", "99040"),
    ]
    assert result.report["issues"][0]["attributeName"] == "purchasable_offer"
    assert (result.listings["PEN"].price, result.listings["OLD"].price) == (
        Decimal("25"),
        Decimal("0.9"),
    )
    # Within those bounds, no warning.
    assert (
        run(feed(price_patch(1, "PEN", 24.99), price_patch(2, "OLD", 0.91))).report["issues"] == []
    )
