"""Report documents built from a seller's listings: tab-separated, as Amazon sends them.

Pure. ``build_report`` answers None when there is no row to report: Amazon then ends the
report CANCELLED instead of DONE (Reports API: "cancelled if there is no data").
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import datetime

from services.amazon_sandbox.clock import parse_iso
from services.amazon_sandbox.listings import Listing, ListingStatus

MERCHANT_LISTINGS_ALL = "GET_MERCHANT_LISTINGS_ALL_DATA"
MERCHANT_LISTINGS_ACTIVE = "GET_MERCHANT_LISTINGS_DATA"
OPEN_LISTINGS = "GET_FLAT_FILE_OPEN_LISTINGS_DATA"

# The columns of the merchant listings reports, in Amazon's order. Clients must parse by
# header name (the set varies by marketplace and era); the sandbox sends the classic set.
MERCHANT_LISTINGS_COLUMNS = (
    "item-name",
    "item-description",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "open-date",
    "image-url",
    "item-is-marketplace",
    "product-id-type",
    "zshop-shipping-fee",
    "item-note",
    "item-condition",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin1",
    "asin2",
    "asin3",
    "will-ship-internationally",
    "expedited-shipping",
    "zshop-boldface",
    "product-id",
    "bid-for-featured-placement",
    "add-delete",
    "pending-quantity",
    "fulfillment-channel",
    "merchant-shipping-group",
    "status",
)
OPEN_LISTINGS_COLUMNS = ("sku", "asin", "price", "quantity")

PRODUCT_ID_TYPE_ASIN = "1"  # the report's code for "product-id is an ASIN"
# The report's numeric item-condition for the listing's condition_type.
ITEM_CONDITIONS = {
    "used_like_new": "1",
    "used_very_good": "2",
    "used_good": "3",
    "used_acceptable": "4",
    "collectible_like_new": "5",
    "collectible_very_good": "6",
    "collectible_good": "7",
    "collectible_acceptable": "8",
    "refurbished_refurbished": "10",
    "new_new": "11",
}


def build_report(report_type: str, listings: Iterable[Listing]) -> bytes | None:
    """The report's TSV (UTF-8), or None when it has no rows."""
    builder = REPORT_BUILDERS[report_type]
    return builder(sorted(listings, key=lambda listing: listing.sku))


def merchant_listings_tsv(listings: list[Listing], *, active_only: bool = False) -> bytes | None:
    rows = [
        _merchant_listings_row(listing)
        for listing in listings
        if not active_only or listing.status is ListingStatus.ACTIVE
    ]
    return _tsv(MERCHANT_LISTINGS_COLUMNS, rows) if rows else None


def open_listings_tsv(listings: list[Listing]) -> bytes | None:
    rows = [
        {
            "sku": listing.sku,
            "asin": listing.asin,
            "price": _price(listing),
            "quantity": str(listing.quantity),
        }
        for listing in listings
    ]
    return _tsv(OPEN_LISTINGS_COLUMNS, rows) if rows else None


REPORT_BUILDERS: dict[str, Callable[[list[Listing]], bytes | None]] = {
    MERCHANT_LISTINGS_ALL: merchant_listings_tsv,
    MERCHANT_LISTINGS_ACTIVE: lambda listings: merchant_listings_tsv(listings, active_only=True),
    OPEN_LISTINGS: open_listings_tsv,
}
REPORT_TYPES = frozenset(REPORT_BUILDERS)


def _merchant_listings_row(listing: Listing) -> dict[str, str]:
    return {
        "item-name": listing.title or "",
        "listing-id": listing_id(listing.sku),
        "seller-sku": listing.sku,
        "price": _price(listing),
        "quantity": str(listing.quantity),
        "open-date": _open_date(listing.created_at),
        "item-is-marketplace": "y",
        "product-id-type": PRODUCT_ID_TYPE_ASIN,
        "item-condition": ITEM_CONDITIONS.get(listing.condition, "11"),
        "asin1": listing.asin,
        "will-ship-internationally": "N",
        "product-id": listing.asin,
        "fulfillment-channel": "DEFAULT",
        "merchant-shipping-group": "Migrated Template",
        "status": listing.status.value,
    }


def listing_id(sku: str) -> str:
    """A stable listing id per SKU, in the shape Amazon's have (date digits + hex)."""
    return "0101" + hashlib.sha1(sku.encode()).hexdigest()[:7].upper()


def _price(listing: Listing) -> str:
    return f"{listing.price:.2f}" if listing.price is not None else ""


def _open_date(created_at: str) -> str:
    try:
        moment: datetime = parse_iso(created_at)
    except ValueError:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _cell(value: str) -> str:
    # A tab or line break inside a value would shift every later column of the row.
    return value.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def _tsv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    lines = ["\t".join(columns)]
    lines.extend("\t".join(_cell(row.get(column, "")) for column in columns) for row in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")
