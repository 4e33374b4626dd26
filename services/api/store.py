"""The MongoDB collections of the projection and the indexes every API query uses."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

Database = AsyncDatabase[dict[str, Any]]

INDEXES: dict[str, list[IndexModel]] = {
    # GET /v1/jobs: newest first, per shop (or all), filtered by account/type/status.
    "jobs": [
        IndexModel([("created_at", DESCENDING), ("_id", DESCENDING)], name="newest"),
        IndexModel(
            [("shop_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="shop_newest",
        ),
        IndexModel(
            [("account_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="account_newest",
        ),
        IndexModel(
            [("status", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="status_newest",
        ),
        # A shop's failed jobs: the status filter is rare enough that reading the shop's
        # newest rows until a page of them is found would read thousands.
        IndexModel(
            [
                ("shop_id", ASCENDING),
                ("status", ASCENDING),
                ("created_at", DESCENDING),
                ("_id", DESCENDING),
            ],
            name="shop_status_newest",
        ),
    ],
    # A job's items in pages, read by _id; this index serves a job's removal on MongoDB.
    "job_item_pages": [IndexModel([("job_id", ASCENDING), ("n", ASCENDING)], name="job_page")],
    "job_log": [
        IndexModel(
            [("job_id", ASCENDING), ("at", ASCENDING), ("seq", ASCENDING), ("_id", ASCENDING)],
            name="job_at_seq",
        )
    ],
    "listings": [
        IndexModel([("account_id", ASCENDING), ("sku", ASCENDING)], name="account_sku"),
        # GET /v1/accounts/{id}/listing-issues: an account's listings with issues, newest
        # first (a listing without issues has issues_at null, outside the range read).
        IndexModel(
            [("account_id", ASCENDING), ("issues_at", DESCENDING), ("_id", DESCENDING)],
            name="account_issues_newest",
        ),
    ],
    "inventory": [IndexModel([("account_id", ASCENDING), ("sku", ASCENDING)], name="account_sku")],
    "orders": [
        IndexModel(
            [("account_id", ASCENDING), ("purchased_at", DESCENDING), ("_id", DESCENDING)],
            name="account_newest",
        )
    ],
    "accounts": [IndexModel([("shop_id", ASCENDING), ("_id", ASCENDING)], name="shop")],
    "schedules": [IndexModel([("shop_id", ASCENDING), ("_id", ASCENDING)], name="shop")],
    "webhooks": [IndexModel([("shop_id", ASCENDING), ("_id", ASCENDING)], name="shop")],
    # A webhook's delivery log, newest first.
    "webhook_deliveries": [
        IndexModel(
            [("webhook_id", ASCENDING), ("occurred_at", DESCENDING), ("_id", DESCENDING)],
            name="webhook_newest",
        )
    ],
    "dead_letters": [IndexModel([("occurred_at", DESCENDING), ("_id", DESCENDING)], name="newest")],
    "quotas": [
        IndexModel([("seller_id", ASCENDING), ("quota_class", ASCENDING)], name="seller_class")
    ],
    # The page's charts (services/api/stats.py): an account's hours, or a shop's, in a
    # range; a seller's quota samples in a range; the same ranges pruned by age.
    "job_hours": [
        IndexModel([("account_id", ASCENDING), ("hour", ASCENDING)], name="account_hour"),
        IndexModel([("shop_id", ASCENDING), ("hour", ASCENDING)], name="shop_hour"),
        IndexModel([("hour", ASCENDING)], name="hour"),
    ],
    "quota_history": [
        IndexModel(
            [("seller_id", ASCENDING), ("region", ASCENDING), ("at", ASCENDING)],
            name="seller_at",
        ),
        IndexModel([("at", ASCENDING)], name="at"),
    ],
}


async def ensure_indexes(db: Database) -> None:
    """Create the missing indexes. Existing ones are left alone: FerretDB 1.24 drops the
    connection when asked to create again an index whose keys include ``_id``."""
    for collection, indexes in INDEXES.items():
        existing = await db[collection].index_information()
        missing = [i for i in indexes if i.document["name"] not in existing]
        if missing:
            await db[collection].create_indexes(missing)
