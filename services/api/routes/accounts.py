"""Seller accounts and what the system knows of each: listings, inventory, orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api.bodies import StrictJsonRoute
from services.api.deps import Admin, Caller, Db, Publisher, Settings, visible_account
from services.api.errors import ApiError
from services.api.models import (
    AccountCreate,
    AccountRow,
    ErrorBody,
    InventoryRowOut,
    ListingRow,
    OrderRow,
    Page,
)
from services.api.pagination import Keyset, read_page
from shared.crypto import seal_credentials
from shared.events import AccountRegistered
from shared.spapi.auth import LwaCredentials
from shared.topics import ACCOUNTS

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], route_class=StrictJsonRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 422, 503)
}
BY_ID = Keyset((("_id", str),))
# Listings and inventory: one account's rows by SKU (the index is account_id, sku), then
# by _id, since a SKU has a row per marketplace.
BY_SKU = Keyset((("sku", str), ("_id", str)), fixed=("account_id",))
NEWEST_ORDER_FIRST = Keyset((("purchased_at", datetime), ("_id", str)), descending=True)


def _account(doc: dict[str, Any]) -> AccountRow:
    return AccountRow(
        id=doc["_id"],
        shop_id=doc["shop_id"],
        name=doc["name"],
        seller_id=doc["seller_id"],
        region=doc["region"],
        marketplace_ids=doc["marketplace_ids"],
        registered_at=doc.get("registered_at"),
    )


@router.get("", response_model=Page[AccountRow], responses=ERRORS)
async def list_accounts(
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Page[AccountRow]:
    query: dict[str, Any] = {} if who.is_admin else {"shop_id": who.shop_id}
    docs, next_cursor = await read_page(db.accounts, query, BY_ID, limit, cursor)
    return Page[AccountRow](data=[_account(d) for d in docs], next_cursor=next_cursor)


REGISTER_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorBody},
    413: {"model": ErrorBody, "description": "The body is larger than the API takes."},
}


@router.post("", status_code=202, response_model=AccountRow, responses=REGISTER_ERRORS)
async def register_account(
    body: AccountCreate, who: Admin, publisher: Publisher, settings: Settings
) -> AccountRow:
    """Register (or re-authorise) a seller account. The LWA secrets are encrypted with
    AMAZON_JOBS_SECRET_KEY before they leave this process, and never returned."""
    if not settings.secret_key:
        raise ApiError(503, "unavailable", "AMAZON_JOBS_SECRET_KEY is not configured")
    creds = LwaCredentials(
        client_id=body.lwa.client_id,
        client_secret=body.lwa.client_secret,
        refresh_token=body.lwa.refresh_token,
        seller_id=body.seller_id,
    )
    event = AccountRegistered(
        account_id=body.account_id,
        shop_id=body.shop_id,
        name=body.name,
        seller_id=body.seller_id,
        region=body.region,
        marketplace_ids=body.marketplace_ids,
        credentials=seal_credentials(settings.secret_key, creds, account_id=body.account_id),
    )
    await publisher.publish(ACCOUNTS, body.account_id, event)
    return AccountRow(
        id=body.account_id,
        shop_id=body.shop_id,
        name=body.name,
        seller_id=body.seller_id,
        region=body.region,
        marketplace_ids=body.marketplace_ids,
        registered_at=event.occurred_at,
    )


async def _account_rows(
    db: Db,
    who: Caller,
    account_id: str,
    collection: str,
    order: Keyset,
    limit: int,
    cursor: str | None,
    marketplace_id: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of one visible account's rows of ``collection``; listings and inventory
    rows of one marketplace when given. A row written before rows were per marketplace
    has none: it is the account's first marketplace's, and shown as such."""
    account = await visible_account(db, who, account_id)
    home = (account.get("marketplace_ids") or [None])[0]
    query: dict[str, Any] = {"account_id": account_id}
    if marketplace_id is not None:
        query["marketplace_id"] = (
            {"$in": [marketplace_id, None]} if marketplace_id == home else marketplace_id
        )
    docs, next_cursor = await read_page(db[collection], query, order, limit, cursor)
    if order is BY_SKU:
        for doc in docs:
            doc["marketplace_id"] = doc.get("marketplace_id") or home
    return docs, next_cursor


Marketplace = Annotated[
    str | None,
    Query(
        description="Only the rows of this marketplace of the account (a SKU has one per "
        "marketplace it sells on)."
    ),
]


@router.get("/{account_id}/listings", response_model=Page[ListingRow], responses=ERRORS)
async def list_listings(
    account_id: str,
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
    marketplace_id: Marketplace = None,
) -> Page[ListingRow]:
    """The sync state of the account's listings, one row per SKU and marketplace."""
    docs, next_cursor = await _account_rows(
        db, who, account_id, "listings", BY_SKU, limit, cursor, marketplace_id
    )
    return Page[ListingRow](data=[ListingRow(**d) for d in docs], next_cursor=next_cursor)


@router.get("/{account_id}/inventory", response_model=Page[InventoryRowOut], responses=ERRORS)
async def list_inventory(
    account_id: str,
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
    marketplace_id: Marketplace = None,
) -> Page[InventoryRowOut]:
    """The latest inventory report's rows, one per SKU and marketplace."""
    docs, next_cursor = await _account_rows(
        db, who, account_id, "inventory", BY_SKU, limit, cursor, marketplace_id
    )
    return Page[InventoryRowOut](data=[InventoryRowOut(**d) for d in docs], next_cursor=next_cursor)


@router.get("/{account_id}/orders", response_model=Page[OrderRow], responses=ERRORS)
async def list_orders(
    account_id: str,
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Page[OrderRow]:
    """Imported orders, newest purchase first."""
    docs, next_cursor = await _account_rows(
        db, who, account_id, "orders", NEWEST_ORDER_FIRST, limit, cursor
    )
    return Page[OrderRow](data=[OrderRow(**d) for d in docs], next_cursor=next_cursor)
