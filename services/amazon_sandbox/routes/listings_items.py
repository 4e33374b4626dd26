"""Listings Items API 2021-08-01: patchListingsItem, one SKU changed at once.

Validation follows Amazon's model (listingsItems_2021-08-01.json): ``marketplaceIds``
and the body ``{productType, patches}`` are required, ``op`` is one of add, replace,
merge, delete, ``value`` an array of objects; anything else is a 400 in Amazon's error
shape. A well-formed request is answered 200 with ``{sku, status, submissionId, issues}``:
``ACCEPTED`` and applied to the seller's listing at once, or ``INVALID`` with the issues
the same PATCH message would get in a JSON_LISTINGS_FEED (``listings_feed.patch_listing``,
so both ways of changing a SKU keep the same rules). ``mode=VALIDATION_PREVIEW`` checks
without applying and answers ``VALID`` or ``INVALID``.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.amazon_sandbox.clock import isoformat
from services.amazon_sandbox.errors import invalid_input
from services.amazon_sandbox.gateway import Call, sp_api
from services.amazon_sandbox.listings_feed import (
    OFFER_ATTRIBUTE,
    PATCH_OPS,
    FeedContext,
    Issue,
    IssueCode,
    Severity,
    patch_listing,
)
from services.amazon_sandbox.params import json_object, query_list

# {sku:path}: a SKU may hold a "/" (sent escaped, seen decoded).
PATH = "/listings/2021-08-01/items/{sellerId}/{sku:path}"

INCLUDED_DATA = frozenset({"identifiers", "issues"})
VALIDATION_PREVIEW = "VALIDATION_PREVIEW"

# The model's issue categories, for the sandbox's issue codes (categories are required).
_CATEGORIES: dict[IssueCode, str] = {
    IssueCode.MESSAGE_SCHEMA: "INVALID_ATTRIBUTE",
    IssueCode.INVALID_VALUE: "INVALID_ATTRIBUTE",
    IssueCode.REQUIRED_MISSING: "MISSING_ATTRIBUTE",
}


def patch_listings_item(call: Call) -> Response:
    seller_id = call.path("sellerId")
    sku = call.path("sku")
    if seller_id != call.seller.seller_id:
        raise invalid_input(
            f"sellerId '{seller_id}' is not the selling partner of the access token."
        )
    query = call.request.query_params
    marketplaces = query_list(query, "marketplaceIds")
    if not marketplaces:
        raise invalid_input("marketplaceIds is required.")
    unknown = [m for m in marketplaces if m not in call.seller.marketplace_ids]
    if unknown:
        raise invalid_input(f"The seller is not registered in marketplace(s) {', '.join(unknown)}.")
    included = query_list(query, "includedData") or ["issues"]
    bad = [name for name in included if name not in INCLUDED_DATA]
    if bad:
        raise invalid_input(f"Invalid includedData: {', '.join(bad)}.")
    mode = query.get("mode")
    if mode is not None and mode != VALIDATION_PREVIEW:
        raise invalid_input(f"Invalid mode '{mode}'; the only mode is {VALIDATION_PREVIEW}.")
    preview = mode == VALIDATION_PREVIEW
    if "identifiers" in included and not preview:
        raise invalid_input("includedData identifiers can only be requested in VALIDATION_PREVIEW.")
    product_type, patches = _patch_request(json_object(call.body))

    submission_id = uuid.uuid4().hex
    context = FeedContext(
        seller_id=call.seller.seller_id,
        feed_id=submission_id,
        marketplace_ids=marketplaces,
        catalog=call.seller.catalog,
        now=isoformat(call.state.clock.wall()),
    )
    # The patch is checked against, and applied to, the SKU on each marketplace named;
    # one that fails anywhere is applied nowhere, and its issues are reported once.
    outcomes = [
        patch_listing(sku, product_type, patches, call.seller.listings_in(m).get(sku), context)
        for m in marketplaces
    ]
    issues = list({issue: None for o in outcomes for issue in o.issues})
    outcome = next((o for o in outcomes if o.issues), outcomes[0])
    invalid = any(issue.severity is Severity.ERROR for issue in issues)
    if invalid:
        status = "INVALID"
    elif preview:
        status = "VALID"
    else:
        status = "ACCEPTED"
        for marketplace, applied in zip(marketplaces, outcomes, strict=True):
            assert applied.listing is not None  # applied: the SKU has a listing
            call.seller.listings_in(marketplace)[sku] = applied.listing
    body: dict[str, Any] = {"sku": sku, "status": status, "submissionId": submission_id}
    if "issues" in included:
        body["issues"] = [_issue_json(issue, marketplaces) for issue in issues]
    if "identifiers" in included:
        listing = outcome.listing
        body["identifiers"] = (
            [{"marketplaceId": m, "asin": listing.asin} for m in marketplaces] if listing else []
        )
    return JSONResponse(body)


def _patch_request(body: dict[str, Any]) -> tuple[str, list[Any]]:
    """ListingsItemPatchRequest as the model types it: a 400 for what does not fit."""
    product_type = body.get("productType")
    if not isinstance(product_type, str) or not product_type:
        raise invalid_input("productType is required and must be a non-empty string.")
    patches = body.get("patches")
    if not isinstance(patches, list) or not patches:
        raise invalid_input("patches is required and must be an array of at least 1 operation.")
    for index, patch in enumerate(patches):
        where = f"patches[{index}]"
        if not isinstance(patch, dict):
            raise invalid_input(f"{where} must be an object.")
        if patch.get("op") not in PATCH_OPS:
            raise invalid_input(f"{where}.op must be one of add, replace, merge, delete.")
        if not isinstance(patch.get("path"), str):
            raise invalid_input(f"{where}.path is required and must be a string.")
        value = patch.get("value")
        if "value" in patch and (
            not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
        ):
            raise invalid_input(f"{where}.value must be an array of objects.")
    return product_type, patches


def _issue_json(issue: Issue, marketplaces: list[str]) -> dict[str, Any]:
    category = _CATEGORIES.get(issue.code)
    if issue.attribute_name and issue.attribute_name.startswith(OFFER_ATTRIBUTE):
        category = "INVALID_PRICE"
    body: dict[str, Any] = {
        "code": issue.code.value,
        "message": issue.message,
        "severity": issue.severity.value,
        "categories": [category] if category else [],
        "marketplaceIds": marketplaces,
    }
    if issue.attribute_name:
        body["attributeNames"] = [issue.attribute_name]
    return body


routes = [Route(PATH, sp_api("patchListingsItem", patch_listings_item), methods=["PATCH"])]
