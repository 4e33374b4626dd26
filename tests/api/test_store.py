"""The projection's indexes: created once, and a restart (second call) is harmless."""

from __future__ import annotations

import uuid

from services.api.store import INDEXES, ensure_indexes
from shared.mongo import make_mongo_client


async def test_indexes_exist_and_a_restart_keeps_them(mongo_url: str) -> None:
    client = make_mongo_client(mongo_url)
    try:
        db = client[f"idx_{uuid.uuid4().hex[:8]}"]
        await ensure_indexes(db)
        await ensure_indexes(db)  # as every API or projector restart does
        for collection, indexes in INDEXES.items():
            info = await db[collection].index_information()
            for index in indexes:
                name = index.document["name"]
                assert info[name]["key"] == list(index.document["key"].items()), name
        await client.drop_database(db.name)
    finally:
        await client.close()
