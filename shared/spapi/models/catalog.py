"""Catalog Items API 2022-04-01: what ``searchCatalogItems`` answers.

The data sets the system reads (identifiers, summaries, product types) are typed field for
field; the rest (attributes, images, sales ranks, …) is kept as plain JSON because nothing
here interprets it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from shared.spapi.models.base import CamelModel

MAX_IDENTIFIERS_PER_SEARCH = 20


class IdentifiersType(StrEnum):
    ASIN = "ASIN"
    EAN = "EAN"
    GTIN = "GTIN"
    ISBN = "ISBN"
    JAN = "JAN"
    MINSAN = "MINSAN"
    SKU = "SKU"  # needs the sellerId parameter
    UPC = "UPC"


class ItemIdentifier(CamelModel):
    identifier_type: str
    identifier: str


class ItemIdentifiersByMarketplace(CamelModel):
    marketplace_id: str
    identifiers: list[ItemIdentifier]


class ItemBrowseClassification(CamelModel):
    display_name: str
    classification_id: str
    parent: ItemBrowseClassification | None = None


class ItemContributorRole(CamelModel):
    display_name: str | None = None
    value: str


class ItemContributor(CamelModel):
    role: ItemContributorRole
    value: str


class ItemSummaryByMarketplace(CamelModel):
    marketplace_id: str
    adult_product: bool | None = None
    autographed: bool | None = None
    brand: str | None = None
    browse_classification: ItemBrowseClassification | None = None
    color: str | None = None
    contributors: list[ItemContributor] | None = None
    item_classification: str | None = None
    item_name: str | None = None
    manufacturer: str | None = None
    memorabilia: bool | None = None
    model_number: str | None = None
    package_quantity: int | None = None
    part_number: str | None = None
    release_date: str | None = None
    size: str | None = None
    style: str | None = None
    trade_in_eligible: bool | None = None
    website_display_group: str | None = None
    website_display_group_name: str | None = None


class ItemProductTypeByMarketplace(CamelModel):
    marketplace_id: str | None = None
    product_type: str | None = None


class Item(CamelModel):
    asin: str
    attributes: dict[str, Any] | None = None
    classifications: list[dict[str, Any]] | None = None
    dimensions: list[dict[str, Any]] | None = None
    identifiers: list[ItemIdentifiersByMarketplace] | None = None
    images: list[dict[str, Any]] | None = None
    product_types: list[ItemProductTypeByMarketplace] | None = None
    relationships: list[dict[str, Any]] | None = None
    sales_ranks: list[dict[str, Any]] | None = None
    summaries: list[ItemSummaryByMarketplace] | None = None
    vendor_details: list[dict[str, Any]] | None = None


class CatalogPagination(CamelModel):
    next_token: str | None = None
    previous_token: str | None = None


class BrandRefinement(CamelModel):
    number_of_results: int
    brand_name: str


class ClassificationRefinement(CamelModel):
    number_of_results: int
    display_name: str
    classification_id: str


class Refinements(CamelModel):
    brands: list[BrandRefinement] = []
    classifications: list[ClassificationRefinement] = []


class ItemSearchResults(CamelModel):
    number_of_results: int
    pagination: CatalogPagination | None = None
    refinements: Refinements | None = None
    items: list[Item]
