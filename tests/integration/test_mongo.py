"""Writes, reads and indexes through the MongoDB-compatible server with AsyncMongoClient."""

from __future__ import annotations

import uuid

from pymongo import ASCENDING, DESCENDING

from shared.mongo import get_database, make_mongo_client


async def test_write_read_and_index(mongo_url: str) -> None:
    client = make_mongo_client(mongo_url)
    try:
        db = get_database(client, mongo_url)
        coll = db[f"t_{uuid.uuid4().hex[:8]}"]
        await coll.create_index(
            [("shop_id", ASCENDING), ("created_at", DESCENDING)], name="by_shop"
        )
        await coll.insert_many(
            [
                {"_id": f"j{i}", "shop_id": "s1" if i % 2 else "s2", "created_at": i}
                for i in range(10)
            ]
        )
        rows = await coll.find({"shop_id": "s1"}).sort("created_at", DESCENDING).to_list()
        assert [r["_id"] for r in rows] == ["j9", "j7", "j5", "j3", "j1"]
        result = await coll.update_one(
            {"_id": "j9", "seq": {"$exists": False}}, {"$set": {"seq": 2}}
        )
        assert result.modified_count == 1
        indexes = await coll.index_information()
        assert indexes["by_shop"]["key"] == [("shop_id", 1), ("created_at", -1)]
        await coll.drop()
    finally:
        await client.close()
