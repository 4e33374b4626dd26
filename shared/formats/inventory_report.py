"""Listings reports (GET_MERCHANT_LISTINGS_ALL_DATA, GET_FLAT_FILE_OPEN_LISTINGS_DATA).

Tab-separated with a header line whose columns vary by marketplace, era and report type,
so columns are found by name, never by position. A bad row becomes a ``RowProblem`` with
its line number; the rest of the report is still read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

# Canonical field → header names seen for it (normalised: lower case, "-" separators).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("seller-sku", "sku"),
    "asin": ("asin1", "asin"),
    "price": ("price",),
    "quantity": ("quantity", "quantity-available"),
    "status": ("status",),
    "item_name": ("item-name",),
    "fulfillment_channel": ("fulfillment-channel",),
    "open_date": ("open-date",),
    "listing_id": ("listing-id",),
    "product_id": ("product-id",),
    "product_id_type": ("product-id-type",),
    "item_condition": ("item-condition",),
}


class InventoryReportError(ValueError):
    """The document cannot be read as a listings report at all (no header, no SKU column)."""


@dataclass(frozen=True, slots=True)
class InventoryRow:
    line: int  # 1-based line in the document, the header being line 1
    sku: str
    asin: str | None
    price: Decimal | None
    quantity: int | None  # None when empty: Amazon-fulfilled rows carry no quantity
    status: str | None
    item_name: str | None
    fulfillment_channel: str | None  # DEFAULT for merchant-fulfilled, AMAZON_EU etc. for FBA
    open_date: str | None  # as Amazon wrote it ("2026-01-05 10:00:00 PST"): zone names vary
    listing_id: str | None = None
    product_id: str | None = None
    product_id_type: str | None = None
    item_condition: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # every column, by header name


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    message: str
    raw: str


@dataclass(frozen=True, slots=True)
class InventoryReport:
    rows: list[InventoryRow]
    problems: list[RowProblem]
    columns: list[str]  # the normalised header
    encoding: str  # what the bytes were decoded as


def parse_inventory_report(data: bytes | str) -> InventoryReport:
    text, encoding = decode(data) if isinstance(data, bytes) else (data, "str")
    rows: list[InventoryRow] = []
    problems: list[RowProblem] = []
    for entry in iter_inventory_rows(text):
        if isinstance(entry, InventoryRow):
            rows.append(entry)
        else:
            problems.append(entry)
    return InventoryReport(rows, problems, _header(text), encoding)


def iter_inventory_rows(data: bytes | str) -> Iterator[InventoryRow | RowProblem]:
    """Rows one by one, for reports too large to hold twice in memory."""
    text = decode(data)[0] if isinstance(data, bytes) else data
    # split("\n"), not splitlines(): item names may hold U+0085 or U+2028, which
    # splitlines() would take for line ends.
    lines = text.lstrip("\ufeff").split("\n")
    header = _normalise_header(lines[0])
    index = _column_index(header)
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        yield _row(number, raw, header, index)


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) when it is; else Windows-1252, which older EU and US
    reports use; Latin-1 as the last resort, since it decodes any byte."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _header(text: str) -> list[str]:
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    return _normalise_header(first)


def _normalise_header(line: str) -> list[str]:
    names = [_normalise(name) for name in line.rstrip("\r\n").split("\t")]
    if not any(names):
        raise InventoryReportError("the report has no header line")
    return names


def _normalise(name: str) -> str:
    return "-".join(name.strip().strip("\ufeff").lower().replace("_", " ").split())


def _column_index(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for canonical, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in header:
                index[canonical] = header.index(alias)
                break
    if "sku" not in index:
        raise InventoryReportError(
            f"no seller-sku/sku column in the header: {', '.join(header)[:300]}"
        )
    return index


def _row(
    number: int, raw: str, header: list[str], index: dict[str, int]
) -> InventoryRow | RowProblem:
    fields = raw.rstrip("\r\n").split("\t")
    if len(fields) > len(header):
        if any(f.strip() for f in fields[len(header) :]):
            return RowProblem(number, f"{len(fields)} fields for {len(header)} columns", raw)
        fields = fields[: len(header)]
    # Amazon drops trailing empty fields on some rows; missing ones are empty, not errors.
    fields += [""] * (len(header) - len(fields))

    def value(canonical: str) -> str | None:
        position = index.get(canonical)
        if position is None:
            return None
        text = fields[position].strip()
        return text or None

    sku = value("sku")
    if sku is None:
        return RowProblem(number, "empty SKU", raw)
    try:
        price = _price(value("price"))
        quantity = _quantity(value("quantity"))
    except ValueError as exc:
        return RowProblem(number, f"{sku}: {exc}", raw)
    return InventoryRow(
        line=number,
        sku=sku,
        asin=value("asin"),
        price=price,
        quantity=quantity,
        status=value("status"),
        item_name=value("item_name"),
        fulfillment_channel=value("fulfillment_channel"),
        open_date=value("open_date"),
        listing_id=value("listing_id"),
        product_id=value("product_id"),
        product_id_type=value("product_id_type"),
        item_condition=value("item_condition"),
        columns={name: fields[i] for i, name in enumerate(header) if name},
    )


def _price(text: str | None) -> Decimal | None:
    if text is None:
        return None
    # Some marketplaces write a decimal comma ("12,99"); thousands separators do not occur.
    normalised = text.replace(",", ".") if "," in text and "." not in text else text
    try:
        price = Decimal(normalised)
    except InvalidOperation:
        raise ValueError(f"price {text!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"price {text!r} is not a valid amount")
    return price


def _quantity(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"quantity {text!r} is not a number") from None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise ValueError(f"quantity {text!r} is not a whole number of units")
    return int(number)
