"""Report documents built from listings."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from services.amazon_sandbox.listings import Listing
from services.amazon_sandbox.reports import (
    MERCHANT_LISTINGS_ACTIVE,
    MERCHANT_LISTINGS_ALL,
    OPEN_LISTINGS,
    build_report,
)

LISTINGS = [
    Listing(
        "B-SKU",
        "B000000002",
        quantity=0,
        price=Decimal("10"),
        currency="EUR",
        title="Tab\there",
        created_at="2026-01-02T03:04:05Z",
    ),
    Listing(
        "A-SKU",
        "B000000001",
        quantity=3,
        price=Decimal("2.5"),
        currency="EUR",
        title="Pen",
        condition="used_good",
        created_at="2026-01-01T00:00:00Z",
    ),
    Listing("C-SKU", "B000000003", quantity=7, title="No price yet"),
]


def rows(tsv: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(tsv.decode("utf-8")), delimiter="\t"))


def test_merchant_listings_all_data() -> None:
    tsv = build_report(MERCHANT_LISTINGS_ALL, LISTINGS)
    assert tsv is not None
    header = tsv.decode().splitlines()[0].split("\t")
    assert header[:6] == [
        "item-name",
        "item-description",
        "listing-id",
        "seller-sku",
        "price",
        "quantity",
    ]
    assert header[-1] == "status"
    table = rows(tsv)
    assert [row["seller-sku"] for row in table] == ["A-SKU", "B-SKU", "C-SKU"]
    first = table[0]
    assert first["asin1"] == first["product-id"] == "B000000001"
    assert (first["price"], first["quantity"], first["status"]) == ("2.50", "3", "Active")
    assert first["item-condition"] == "3"
    assert first["product-id-type"] == "1"
    assert first["open-date"] == "2026-01-01 00:00:00 UTC"
    assert table[1]["item-name"] == "Tab here"  # a tab inside a value must not shift columns
    assert table[1]["status"] == "Inactive"
    assert (table[2]["price"], table[2]["status"]) == ("", "Incomplete")
    assert all(len(row) == len(header) for row in table)


def test_active_listings_and_open_listings() -> None:
    active = build_report(MERCHANT_LISTINGS_ACTIVE, LISTINGS)
    assert active is not None
    assert [row["seller-sku"] for row in rows(active)] == ["A-SKU"]
    open_listings = build_report(OPEN_LISTINGS, LISTINGS)
    assert open_listings is not None
    assert open_listings.decode().splitlines()[0] == "sku\tasin\tprice\tquantity"
    assert rows(open_listings)[0] == {
        "sku": "A-SKU",
        "asin": "B000000001",
        "price": "2.50",
        "quantity": "3",
    }


def test_no_rows_means_no_document() -> None:
    assert build_report(MERCHANT_LISTINGS_ALL, []) is None
    assert build_report(MERCHANT_LISTINGS_ACTIVE, [LISTINGS[2]]) is None
