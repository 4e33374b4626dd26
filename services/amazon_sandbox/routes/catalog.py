"""Catalog Items API 2022-04-01: searchCatalogItems, by identifiers or keywords.

The catalog searched is the one registered for the calling seller. Datasets served:
``summaries`` (the default) and ``identifiers``; others are accepted and left out.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.amazon_sandbox.errors import invalid_input
from services.amazon_sandbox.gateway import Call, sp_api
from services.amazon_sandbox.listings import CatalogItem
from services.amazon_sandbox.params import (
    decode_page_token,
    encode_page_token,
    query_int,
    query_list,
)
from services.amazon_sandbox.state import Seller

PATH = "/catalog/2022-04-01/items"

IDENTIFIER_TYPES = frozenset({"ASIN", "EAN", "GTIN", "ISBN", "JAN", "MINSAN", "SKU", "UPC"})
INCLUDED_DATA = frozenset(
    {
        "attributes",
        "classifications",
        "dimensions",
        "identifiers",
        "images",
        "productTypes",
        "relationships",
        "salesRanks",
        "summaries",
        "vendorDetails",
    }
)
MAX_IDENTIFIERS = 20


def search_catalog_items(call: Call) -> Response:
    query = call.request.query_params
    marketplaces = query_list(query, "marketplaceIds")
    if len(marketplaces) != 1:
        raise invalid_input("marketplaceIds must name exactly one marketplace.")
    marketplace = marketplaces[0]
    included = query_list(query, "includedData") or ["summaries"]
    unknown = [name for name in included if name not in INCLUDED_DATA]
    if unknown:
        raise invalid_input(f"Invalid includedData: {', '.join(unknown)}.")
    identifiers = query_list(query, "identifiers", max_items=MAX_IDENTIFIERS)
    keywords = query_list(query, "keywords", max_items=20)
    if identifiers and keywords:
        raise invalid_input("identifiers and keywords cannot be used in the same request.")
    if identifiers:
        items = _by_identifiers(
            call.seller,
            identifiers,
            query.get("identifiersType"),
            query.get("sellerId"),
            marketplace,
        )
    elif keywords:
        items = _by_keywords(call.seller, keywords)
    else:
        raise invalid_input("Either identifiers or keywords is required.")
    page_size = query_int(query, "pageSize", 10, 1, 20)
    offset = _page_offset(query.get("pageToken"))
    page = items[offset : offset + page_size]
    pagination: dict[str, str] = {}
    if offset + page_size < len(items):
        pagination["nextToken"] = encode_page_token({"offset": offset + page_size})
    if offset > 0:
        pagination["previousToken"] = encode_page_token({"offset": max(offset - page_size, 0)})
    return JSONResponse(
        {
            "numberOfResults": len(items),
            "pagination": pagination,
            "refinements": {"brands": _brands(items), "classifications": []},
            "items": [_item_json(item, marketplace, included) for item in page],
        }
    )


def _page_offset(token: str | None) -> int:
    if token is None:
        return 0
    offset = decode_page_token(token, "pageToken").get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise invalid_input("pageToken is invalid or expired.")
    return offset


def _by_identifiers(
    seller: Seller,
    identifiers: list[str],
    identifiers_type: str | None,
    seller_id: str | None,
    marketplace: str,
) -> list[CatalogItem]:
    if identifiers_type is None:
        raise invalid_input("identifiersType is required when identifiers is given.")
    if identifiers_type not in IDENTIFIER_TYPES:
        raise invalid_input(f"Invalid identifiersType '{identifiers_type}'.")
    if identifiers_type == "SKU" and seller_id != seller.seller_id:
        raise invalid_input("sellerId of the caller is required when identifiersType is SKU.")
    found: list[CatalogItem] = []
    for identifier in identifiers:
        item = _lookup(seller, identifier, identifiers_type, marketplace)
        if item is not None and item not in found:
            found.append(item)
    return found


def _lookup(
    seller: Seller, identifier: str, identifiers_type: str, marketplace: str
) -> CatalogItem | None:
    if identifiers_type == "ASIN":
        return seller.catalog.by_asin(identifier)
    if identifiers_type == "SKU":
        listing = seller.listings_in(marketplace).get(identifier)
        return seller.catalog.by_asin(listing.asin) if listing else None
    if identifiers_type == "MINSAN":
        return None  # Italian pharmacy codes: no sandbox catalog item carries one
    return seller.catalog.by_product_code(identifier)


def _by_keywords(seller: Seller, keywords: list[str]) -> list[CatalogItem]:
    words = [word.lower() for word in keywords]
    return [
        item
        for item in seller.catalog.items
        if any(word in f"{item.title or ''} {item.brand or ''}".lower() for word in words)
    ]


def _brands(items: list[CatalogItem]) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for item in items:
        if item.brand:
            counts[item.brand] = counts.get(item.brand, 0) + 1
    return [{"numberOfResults": n, "brandName": brand} for brand, n in sorted(counts.items())]


def _item_json(item: CatalogItem, marketplace: str, included: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"asin": item.asin}
    if "identifiers" in included:
        codes = [{"identifierType": "EAN", "identifier": item.ean}] if item.ean else []
        if item.upc:
            codes.append({"identifierType": "UPC", "identifier": item.upc})
        gtin = item.ean or item.upc
        if gtin:
            codes.append({"identifierType": "GTIN", "identifier": gtin.zfill(14)})
        body["identifiers"] = [{"marketplaceId": marketplace, "identifiers": codes}]
    if "summaries" in included:
        summary: dict[str, Any] = {"marketplaceId": marketplace}
        if item.title:
            summary["itemName"] = item.title
        if item.brand:
            summary["brand"] = item.brand
        body["summaries"] = [summary]
    return body


routes = [Route(PATH, sp_api("searchCatalogItems", search_catalog_items), methods=["GET"])]
