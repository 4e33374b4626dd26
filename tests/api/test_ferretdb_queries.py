"""Finds with filter, sort and limit return what MongoDB's semantics say, on the suite's
database: FerretDB on SQLite answers them from its indexes (deploy/ferretdb/build.sh), so
ties, odd ids, missing and null values, mixed types and arrays must still come out right.

The reference is a small model of MongoDB's comparison: values of different BSON types
order by type (null and missing first, then numbers, strings, ObjectIds, booleans, dates),
a range matches values of the bound's type only, {f: None} matches null and missing, and
an array matches by any of its elements.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import Int64, ObjectId
from pymongo import IndexModel

from services.api.pagination import Keyset, read_page
from services.api.store import INDEXES
from shared.mongo import make_mongo_client

Doc = dict[str, Any]
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ODD = [" ", "!", '"', "'", "\\", "<", "&", "é", "日本", "a b", "ab", "ab!", "Z", "~", "\u0100"]
OID = ObjectId("65f000000000000000000001")
MISSING = object()


def rank(value: Any) -> int:
    """The BSON type's place in MongoDB's cross-type order."""
    if value is None or value is MISSING:
        return 2
    if isinstance(value, bool):
        return 9
    if isinstance(value, int | float):
        return 3
    if isinstance(value, str):
        return 4
    if isinstance(value, ObjectId):
        return 8
    if isinstance(value, datetime):
        return 10
    raise AssertionError(f"no rank for {value!r}")


def key(value: Any) -> tuple[int, Any]:
    r = rank(value)
    if r == 2:
        return (r, 0)
    if isinstance(value, ObjectId):
        return (r, value.binary)
    return (r, value)


def matches(doc: Doc, query: Doc) -> bool:
    for name, cond in query.items():
        if name == "$and":
            if not all(matches(doc, q) for q in cond):
                return False
        elif name == "$or":
            if not any(matches(doc, q) for q in cond):
                return False
        elif not _field_matches(doc.get(name, MISSING), cond):
            return False
    return True


def _field_matches(value: Any, cond: Any) -> bool:
    if isinstance(value, list):  # an array matches by any of its elements
        if isinstance(cond, dict) and "$ne" in cond:
            return not _field_matches(value, {"$eq": cond["$ne"]})
        return any(_field_matches(v, cond) for v in value)
    if not (isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond)):
        return key(value) == key(cond)
    tests: dict[str, Callable[[Any], bool]] = {
        "$eq": lambda arg: key(value) == key(arg),
        "$ne": lambda arg: key(value) != key(arg),
        "$in": lambda arg: any(key(value) == key(a) for a in arg),
        "$lt": lambda arg: rank(value) == rank(arg) and key(value) < key(arg),
        "$lte": lambda arg: rank(value) == rank(arg) and key(value) <= key(arg),
        "$gt": lambda arg: rank(value) == rank(arg) and key(value) > key(arg),
        "$gte": lambda arg: rank(value) == rank(arg) and key(value) >= key(arg),
        "$exists": lambda arg: (value is not MISSING) == arg,
    }
    return all(tests[op](arg) for op, arg in cond.items())


def reference(docs: list[Doc], query: Doc, sort: list[tuple[str, int]], limit: int) -> list[Any]:
    found = [d for d in docs if matches(d, query)]
    for name, direction in reversed(sort):  # stable sorts, last key first

        def by(doc: Doc, name: str = name) -> tuple[int, Any]:
            return key(doc.get(name, MISSING))

        found.sort(key=by, reverse=direction < 0)
    return [d["_id"] for d in (found[:limit] if limit else found)]


def make_docs(rng: random.Random) -> list[Doc]:
    ids = [f"j{i:03d}{rng.choice(ODD)}" for i in range(240)]
    rng.shuffle(ids)
    docs = []
    for i, doc_id in enumerate(ids):
        doc: Doc = {
            "_id": doc_id,
            "status": rng.choice(["done", "done", "error", "processing"]),
            "created_at": AT + timedelta(seconds=rng.randrange(20)),  # many ties
            "seq": rng.randrange(5),
        }
        shop = rng.random()
        if shop < 0.08:
            pass  # missing
        elif shop < 0.15:
            doc["shop_id"] = None
        else:
            doc["shop_id"] = rng.choice(["s1", "s2", "s3", "s1 ", "s1!"])
        # a field of mixed types: MongoDB orders them by type, then value
        n: Any = rng.choice(
            [i % 7, float(i % 5), i % 4 + 0.5, Int64(i % 6), str(i % 3), i % 2 == 0, None, OID]
        )
        if i % 17:
            doc["n"] = n
        if i % 23 == 0:
            doc["created_at"] = rng.choice([None, "2026-03-01", 5])  # not a date
        # a field of strings and arrays of them, as listings' issue_severities
        doc["tags"] = rng.choice(["red", "blue", ["red", "blue"], ["blue"], [], "x"])
        docs.append(doc)
    return docs


@pytest.fixture(scope="module")
async def collection(mongo_url: str) -> AsyncIterator[tuple[Any, list[Doc]]]:
    client = make_mongo_client(mongo_url)
    db = client[f"queries_{uuid.uuid4().hex[:8]}"]
    try:
        docs = make_docs(random.Random(13))
        rows = db.rows
        await rows.create_indexes(
            [
                *INDEXES["jobs"],
                IndexModel([("n", 1), ("_id", 1)], name="n_id"),
                IndexModel([("seq", 1), ("created_at", 1)], name="seq_created"),
                # as a job's log: one key, then a keyset with many ties (log_order)
                IndexModel(
                    [("shop_id", 1), ("seq", 1), ("created_at", 1), ("_id", 1)],
                    name="shop_seq_created_id",
                ),
            ]
        )
        await rows.insert_many([dict(d) for d in docs])
        yield rows, docs
    finally:
        await client.drop_database(db.name)
        await client.close()


FILTERS: list[Doc] = [
    {},
    {"shop_id": "s1"},
    {"shop_id": None},
    {"shop_id": {"$in": ["s2", None]}},
    {"shop_id": "s1", "status": "error"},
    {"status": "error"},
    {"created_at": {"$gte": AT + timedelta(seconds=5), "$lte": AT + timedelta(seconds=9)}},
    {"created_at": {"$lt": AT + timedelta(seconds=3)}},
    {"n": 3},
    {"n": {"$gt": 2}},
    {"n": {"$lte": 2.5}},  # a fraction: left to FerretDB's own code
    {"n": {"$gte": "1"}},
    {"n": True},
    {"n": OID},
    {"n": None},
    {"$or": [{"shop_id": "s2"}, {"status": "processing"}]},
    {"status": {"$ne": "done"}, "shop_id": "s3"},  # not pushed down: no limit either
    {"n": {"$exists": False}},
    {"shop_id": "s1", "n": {"$gte": 1, "$lt": 5}},
    {"$and": [{"seq": {"$gte": 1}}, {"seq": {"$lte": 3}}], "status": "done"},
    {"_id": {"$gt": "j100"}},
    {"tags": "red"},
    {"tags": {"$in": ["blue", "x"]}, "shop_id": "s2"},
    {"tags": {"$ne": "blue"}},
]
SORTS: list[list[tuple[str, int]]] = [
    [("created_at", -1), ("_id", -1)],
    [("shop_id", 1), ("created_at", -1), ("_id", -1)],
    [("n", 1), ("_id", 1)],
    [("n", -1), ("_id", -1)],
    [("seq", 1), ("created_at", 1), ("_id", 1)],
    [("_id", 1)],
]


async def test_every_find_returns_what_mongodb_semantics_say(
    collection: tuple[Any, list[Doc]],
) -> None:
    rows, docs = collection
    checked = 0
    for query in FILTERS:
        for sort in SORTS:
            for limit in (0, 1, 7, 51):
                cursor = rows.find(query, {"_id": 1}).sort(sort)
                if limit:
                    cursor = cursor.limit(limit)
                got = [d["_id"] for d in await cursor.to_list()]
                assert got == reference(docs, query, sort, limit), (query, sort, limit)
                checked += 1
    assert checked == len(FILTERS) * len(SORTS) * 4


async def test_lookups_by_id_find_odd_ids(collection: tuple[Any, list[Doc]]) -> None:
    rows, docs = collection
    for doc in docs[:40]:
        assert await rows.find_one({"_id": doc["_id"]}) == doc
    some = [d["_id"] for d in docs[::9]]
    found = await rows.find({"_id": {"$in": [*some, "no such id"]}}).to_list()
    assert sorted(d["_id"] for d in found) == sorted(some)


@pytest.mark.parametrize("query", [{}, {"shop_id": "s1"}, {"status": "error"}])
async def test_keyset_pages_walk_the_whole_set_once(
    collection: tuple[Any, list[Doc]], query: Doc
) -> None:
    rows, docs = collection
    dated = [d for d in docs if isinstance(d["created_at"], datetime)]
    query = {**query, "created_at": {"$gte": AT}}  # the rows a datetime cursor can resume
    order = Keyset((("created_at", datetime), ("_id", str)), descending=True)
    seen: list[Any] = []
    cursor = None
    while True:
        page, cursor = await read_page(rows, query, order, 7, cursor)
        seen += [d["_id"] for d in page]
        if cursor is None:
            break
    assert seen == reference(dated, query, order.sort(), 0)


def log_order() -> Keyset:
    """A keyset like the log's (services/api/routes/jobs.py): rows tie on its first two
    fields by the dozen (20 times, 5 seqs, 240 rows)."""
    return Keyset((("seq", int), ("created_at", datetime), ("_id", str)), seek_ties=True)


@pytest.mark.parametrize("query", [{}, {"shop_id": "s1"}])
async def test_keyset_pages_of_many_ties_walk_the_whole_set_once(
    collection: tuple[Any, list[Doc]], query: Doc
) -> None:
    rows, docs = collection
    dated = [d for d in docs if isinstance(d["created_at"], datetime)]
    query = {**query, "created_at": {"$gte": AT}}
    order = log_order()
    for limit in (1, 4, 50):
        seen: list[Any] = []
        cursor = None
        while True:
            page, cursor = await read_page(rows, query, order, limit, cursor)
            seen += [d["_id"] for d in page]
            if cursor is None:
                break
        assert seen == reference(dated, query, order.sort(), 0), limit


async def test_the_lists_are_read_from_an_index_on_ferretdb(
    collection: tuple[Any, list[Doc]],
) -> None:
    """On FerretDB, the list's queries (first and later pages) push filter, sort and limit
    down to SQLite, which walks an index in order: no scan of the table, no sort of it."""
    rows, _ = collection
    build = await rows.database.client.admin.command("buildInfo")
    if "ferretdbVersion" not in build:
        pytest.skip("MongoDB plans its queries its own way")
    order = Keyset((("created_at", datetime), ("_id", str)), descending=True)
    cursor = order.cursor({"created_at": AT + timedelta(seconds=7), "_id": "j100"})
    for query in (
        {},
        {"shop_id": "s1"},
        {"shop_id": "s1", "status": "error"},
        {"status": "error"},
        {"shop_id": "s1", "account_id": "a1"},
        {"created_at": {"$gte": AT, "$lte": AT + timedelta(seconds=9)}},
    ):
        for after in (None, cursor):
            find = {"find": rows.name, "filter": order.after(query, after), "limit": 51}
            plan = await rows.database.command("explain", {**find, "sort": dict(order.sort())})
            steps = " | ".join(plan["queryPlanner"]["Plan"])
            assert plan["limitPushdown"], (query, after, steps)
            assert "USING INDEX" in steps, (query, after, steps)
            assert "TEMP B-TREE" not in steps, (query, after, steps)
    # A page after a cursor among many ties: each tier seeks into the index, in order.
    order = log_order()
    after = order.cursor({"seq": 2, "created_at": AT + timedelta(seconds=7), "_id": "j100"})
    for tier, sort in order.tiers({"shop_id": "s1"}, after):
        plan = await rows.database.command(
            "explain", {"find": rows.name, "filter": tier, "sort": dict(sort), "limit": 51}
        )
        steps = " | ".join(plan["queryPlanner"]["Plan"])
        assert plan["limitPushdown"] and "USING INDEX" in steps, (tier, steps)
        assert "TEMP B-TREE" not in steps, (tier, steps)
