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
from services.api.pagination import after_desc, decode_cursor, encode_cursor
from shared.crypto import seal_credentials
from shared.events import AccountRegistered
from shared.spapi.auth import LwaCredentials
from shared.topics import ACCOUNTS

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], route_class=StrictJsonRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 422, 503)
}


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
    if cursor:
        (after,) = decode_cursor(cursor, (str,))
        query["_id"] = {"$gt": after}
    docs = await db.accounts.find(query).sort("_id", 1).limit(limit + 1).to_list()
    more = len(docs) > limit
    docs = docs[:limit]
    return Page[AccountRow](
        data=[_account(d) for d in docs],
        next_cursor=encode_cursor([docs[-1]["_id"]]) if more else None,
    )


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


async def _by_sku(
    db: Db, collection: str, account_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    query: dict[str, Any] = {"account_id": account_id}
    if cursor:
        (after,) = decode_cursor(cursor, (str,))
        query["sku"] = {"$gt": after}
    docs = (
        await db[collection]
        .find(query)
        .sort([("account_id", 1), ("sku", 1)])
        .limit(limit + 1)
        .to_list()
    )
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, encode_cursor([docs[-1]["sku"]]) if more else None


@router.get("/{account_id}/listings", response_model=Page[ListingRow], responses=ERRORS)
async def listings(
    account_id: str,
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
) -> Page[ListingRow]:
    await visible_account(db, who, account_id)
    docs, next_cursor = await _by_sku(db, "listings", account_id, limit, cursor)
    return Page[ListingRow](data=[ListingRow(**d) for d in docs], next_cursor=next_cursor)


@router.get("/{account_id}/inventory", response_model=Page[InventoryRowOut], responses=ERRORS)
async def inventory(
    account_id: str,
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
) -> Page[InventoryRowOut]:
    await visible_account(db, who, account_id)
    docs, next_cursor = await _by_sku(db, "inventory", account_id, limit, cursor)
    return Page[InventoryRowOut](data=[InventoryRowOut(**d) for d in docs], next_cursor=next_cursor)


@router.get("/{account_id}/orders", response_model=Page[OrderRow], responses=ERRORS)
async def orders(
    account_id: str,
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Page[OrderRow]:
    """Imported orders, newest purchase first."""
    await visible_account(db, who, account_id)
    query: dict[str, Any] = {"account_id": account_id}
    if cursor:
        at, last_id = decode_cursor(cursor, (datetime, str))
        query = {"$and": [query, after_desc("purchased_at", at, last_id)]}
    docs = (
        await db.orders.find(query)
        .sort([("purchased_at", -1), ("_id", -1)])
        .limit(limit + 1)
        .to_list()
    )
    more = len(docs) > limit
    docs = docs[:limit]
    return Page[OrderRow](
        data=[OrderRow(**d) for d in docs],
        next_cursor=encode_cursor([docs[-1]["purchased_at"], docs[-1]["_id"]]) if more else None,
    )
