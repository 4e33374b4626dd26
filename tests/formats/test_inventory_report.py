from __future__ import annotations

from decimal import Decimal

import pytest

from shared.formats.inventory_report import (
    InventoryReportError,
    InventoryRow,
    RowProblem,
    iter_inventory_rows,
    parse_inventory_report,
)

ALL_DATA_HEADER = (
    "item-name\titem-description\tlisting-id\tseller-sku\tprice\tquantity\topen-date\t"
    "product-id-type\titem-condition\tasin1\tproduct-id\tfulfillment-channel\tstatus"
)


def tsv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_merchant_listings_all_data() -> None:
    data = tsv(
        ALL_DATA_HEADER,
        "T-Shirt red M\tCotton\t0101X\tTSHIRT-RED-M\t19.99\t7\t2026-01-05 10:00:00 PST\t1\t11\t"
        "B000TEST01\tB000TEST01\tDEFAULT\tActive",
        "FBA mug\t\t0102Y\tMUG-1\t8.50\t\t2026-02-01 09:00:00 MET\t1\t11\tB000TEST02\t\t"
        "AMAZON_EU\tActive",
    )

    report = parse_inventory_report(data)

    assert report.problems == []
    assert report.encoding == "utf-8-sig"
    first, fba = report.rows
    assert first == InventoryRow(
        line=2,
        sku="TSHIRT-RED-M",
        asin="B000TEST01",
        price=Decimal("19.99"),
        quantity=7,
        status="Active",
        item_name="T-Shirt red M",
        fulfillment_channel="DEFAULT",
        open_date="2026-01-05 10:00:00 PST",
        listing_id="0101X",
        product_id="B000TEST01",
        product_id_type="1",
        item_condition="11",
        columns=first.columns,
    )
    assert first.columns["item-description"] == "Cotton"
    assert fba.quantity is None  # FBA rows have no quantity
    assert fba.fulfillment_channel == "AMAZON_EU"
    assert fba.line == 3


def test_open_listings_variant_with_other_column_names_and_order() -> None:
    data = tsv("sku\tasin\tprice\tquantity", "S1\tB000TEST01\t5\t3")
    [row] = parse_inventory_report(data).rows
    assert (row.sku, row.asin, row.price, row.quantity) == ("S1", "B000TEST01", Decimal(5), 3)
    assert row.status is None and row.item_name is None


def test_header_case_whitespace_underscores_and_bom() -> None:
    data = "\ufeff Seller_SKU \tASIN1\t PRICE\tQuantity\r\nS1\tB0\t1.00\t2\r\n".encode()
    report = parse_inventory_report(data)
    assert report.columns == ["seller-sku", "asin1", "price", "quantity"]
    assert [(r.sku, r.asin, r.quantity) for r in report.rows] == [("S1", "B0", 2)]


def test_cp1252_fallback() -> None:
    data = b"seller-sku\titem-name\tprice\nS1\tCaf\xe9 \x80 mug\t3.00\n"  # é, € in cp1252
    report = parse_inventory_report(data)
    assert report.encoding == "cp1252"
    assert report.rows[0].item_name == "Café € mug"


def test_latin1_as_last_resort() -> None:
    data = b"seller-sku\titem-name\nS1\tbad \x81 byte\n"  # 0x81 is undefined in cp1252
    report = parse_inventory_report(data)
    assert report.encoding == "latin-1"
    assert report.rows[0].sku == "S1"


def test_malformed_rows_are_reported_with_their_line_and_the_rest_is_read() -> None:
    data = tsv(
        "seller-sku\tprice\tquantity",
        "GOOD-1\t1.00\t1",
        "\t2.00\t2",
        "BAD-PRICE\tabc\t1",
        "BAD-QTY\t1.00\tmany",
        "NEG-QTY\t1.00\t-1",
        "FRACTION\t1.00\t1.5",
        "TOO-MANY\t1.00\t1\tsurprise",
        "",
        "GOOD-2\t2,50\t2.0",
        "SHORT",
    )

    report = parse_inventory_report(data)

    assert [(r.sku, r.line) for r in report.rows] == [("GOOD-1", 2), ("GOOD-2", 10), ("SHORT", 11)]
    assert report.rows[1].price == Decimal("2.50") and report.rows[1].quantity == 2
    assert report.rows[2].price is None and report.rows[2].quantity is None
    assert [(p.line, p.message.split(":")[0]) for p in report.problems] == [
        (3, "empty SKU"),
        (4, "BAD-PRICE"),
        (5, "BAD-QTY"),
        (6, "NEG-QTY"),
        (7, "FRACTION"),
        (8, "4 fields for 3 columns"),
    ]
    assert report.problems[1].raw == "BAD-PRICE\tabc\t1"


def test_trailing_empty_extra_fields_are_tolerated() -> None:
    [row] = parse_inventory_report(tsv("seller-sku\tquantity", "S\t1\t\t")).rows
    assert row.quantity == 1


def test_item_names_with_unicode_line_separators_stay_on_their_row() -> None:
    data = "seller-sku\titem-name\tquantity\nS1\tA\u2028B\x85C\t4\n".encode()
    [row] = parse_inventory_report(data).rows
    assert row.quantity == 4


def test_rows_can_be_streamed() -> None:
    entries = list(iter_inventory_rows(tsv("sku\tquantity", "A\t1", "\tx")))
    assert isinstance(entries[0], InventoryRow)
    assert isinstance(entries[1], RowProblem)


def test_a_report_without_a_sku_column_is_refused() -> None:
    with pytest.raises(InventoryReportError, match="sku"):
        parse_inventory_report(tsv("asin\tprice", "B0\t1"))
    with pytest.raises(InventoryReportError):
        parse_inventory_report(b"")


def test_a_report_with_only_a_header_has_no_rows() -> None:
    report = parse_inventory_report(tsv(ALL_DATA_HEADER))
    assert report.rows == [] and report.problems == []
