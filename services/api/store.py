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
        IndexModel([("account_id", ASCENDING), ("created_at", DESCENDING)], name="account_newest"),
        IndexModel([("status", ASCENDING), ("created_at", DESCENDING)], name="status_newest"),
    ],
    # A job's items in pages, read by _id; this index serves a job's removal on MongoDB.
    "job_item_pages": [IndexModel([("job_id", ASCENDING), ("n", ASCENDING)], name="job_page")],
    "job_log": [
        IndexModel(
            [("job_id", ASCENDING), ("at", ASCENDING), ("seq", ASCENDING), ("_id", ASCENDING)],
            name="job_at_seq",
        )
    ],
    "listings": [IndexModel([("account_id", ASCENDING), ("sku", ASCENDING)], name="account_sku")],
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
}


async def ensure_indexes(db: Database) -> None:
    """Create the missing indexes. Existing ones are left alone: FerretDB 1.24 drops the
    connection when asked to create again an index whose keys include ``_id``."""
    for collection, indexes in INDEXES.items():
        existing = await db[collection].index_information()
        missing = [i for i in indexes if i.document["name"] not in existing]
        if missing:
            await db[collection].create_indexes(missing)
