"""A seller's catalog (what Amazon sells, found by EAN/UPC/ASIN) and listings (its offers)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any


class ListingStatus(StrEnum):
    """The status column of Amazon's merchant listings report."""

    ACTIVE = "Active"  # buyable: a price and stock
    INACTIVE = "Inactive"  # priced, but no stock
    INCOMPLETE = "Incomplete"  # no offer price yet, so it cannot be bought


@dataclass(frozen=True, slots=True)
class CatalogItem:
    asin: str
    ean: str | None = None
    upc: str | None = None
    title: str | None = None
    brand: str | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """One SKU of the seller. Frozen: feed processing builds new ones, so a feed that fails
    halfway leaves the seller's listings untouched."""

    sku: str
    asin: str
    quantity: int = 0
    price: Decimal | None = None
    currency: str | None = None
    product_type: str = "PRODUCT"
    condition: str = "new_new"
    title: str | None = None
    created_at: str = ""  # ISO-8601, shown as open-date in reports
    attributes: dict[str, Any] = field(default_factory=dict)  # attributes the sandbox keeps as-is

    @property
    def status(self) -> ListingStatus:
        if self.price is None:
            return ListingStatus.INCOMPLETE
        return ListingStatus.ACTIVE if self.quantity > 0 else ListingStatus.INACTIVE

    def to_admin(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "asin": self.asin,
            "quantity": self.quantity,
            "price": float(self.price) if self.price is not None else None,
            "currency": self.currency,
            "status": self.status.value,
        }


def _gtin14(code: str) -> str:
    """EAN-13, UPC-12 and GTIN-14 of one product are the same number, zero-padded."""
    return code.strip().zfill(14)


class Catalog:
    """Lookups of catalog items by every identifier the Catalog Items API searches by."""

    def __init__(self, items: Iterable[CatalogItem]) -> None:
        self.items = list(items)
        self._by_asin = {item.asin: item for item in self.items}
        self._by_gtin: dict[str, CatalogItem] = {}
        for item in self.items:
            for code in (item.ean, item.upc):
                if code:
                    self._by_gtin.setdefault(_gtin14(code), item)

    def by_asin(self, asin: str) -> CatalogItem | None:
        return self._by_asin.get(asin.strip())

    def by_product_code(self, code: str) -> CatalogItem | None:
        """By EAN, UPC, GTIN, JAN or ISBN-13: all spellings of one GTIN."""
        if not code.strip().isdigit():
            return None
        return self._by_gtin.get(_gtin14(code))
