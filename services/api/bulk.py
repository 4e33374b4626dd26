"""The projector's bulk writes, shaped so MongoDB and FerretDB 1.24 both take them fast.

FerretDB 1.24 on SQLite (local runs and CI, docs/design.md §9) has two traits that set
the shape of every write here:

- An ``update`` command keeps one pooled SQLite connection per statement that matched a
  document until the whole command ends, and the pool holds 100 (its msg_update.go defers
  each iterator's close inside the loop). A command replacing 100 existing documents
  never returns, and the database then hangs for every client; so do six commands of 40
  in flight together (tests/api/test_bulk.py). So updates go in commands of at most
  ``UPDATE_CHUNK`` statements, one command at a time per process even while the
  projector writes several collections at once.
- As released, it finds the target of an update, replace, upsert or delete by scanning
  the whole table (its UPDATE filters on another expression than its ``_id`` index
  covers), while an insert only probes the unique index. The build we provision is
  patched to use the index (deploy/ferretdb/build.sh); against an unpatched FerretDB the
  projector still works, slowly. Either way an insert costs less than a replace, so
  documents known or presumed to be new are inserted, and only those that turn out to
  exist are replaced.

On MongoDB these are ordinary bulk writes: ``insert_many`` and ``bulk_write`` of replaces.

A job's row and its item states are replaced only where what is stored is not newer
(:func:`replace_unless_newer`, by the job's ``seq``), so a batch that comes late (a
projector that lost its partitions still writing) never takes a job back. FerretDB 1.24
stops an unordered upsert at its first duplicate key and then answers without
``nModified`` (which PyMongo cannot read), so the fence is a plain replace whose filter
names the ``seq``, and what it did not match is read back.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter
from pymongo import DeleteOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError
from pymongo.results import BulkWriteResult

Doc = dict[str, Any]
Collection = AsyncCollection[Doc]
WriteOp = ReplaceOne[Doc] | UpdateOne | DeleteOne

# Well below FerretDB's pool of 100, leaving room for a second projector instance and the
# API's reads at the same moment.
UPDATE_CHUNK = 40
DUPLICATE_KEY = 11000

INSERTED = Counter(
    "projector_documents_inserted_total", "Documents the projector inserted", ["collection"]
)
STALE = Counter(
    "projector_stale_writes_total",
    "Documents not written because MongoDB holds a newer state of the job (a late batch)",
    ["collection"],
)
GUARD_ROUNDS = 3  # a document created by another writer between our replace and insert
REPLACED = Counter(
    "projector_documents_replaced_total",
    "Documents the projector replaced (a table scan each on an unpatched FerretDB)",
    ["collection"],
)


async def find_by_ids(
    collection: Collection, ids: Sequence[str], projection: dict[str, int] | None = None
) -> list[Doc]:
    """The documents of these ``_id``s, each found by itself: FerretDB 1.24 as released
    narrows a filter to the ``_id`` index only for ``_id`` equality, so ``$in`` reads the
    whole collection. For the few documents of a batch, never a collection's worth."""
    found: list[Doc] = []
    for start in range(0, len(ids), UPDATE_CHUNK):  # UPDATE_CHUNK: below FerretDB's pool
        docs = await asyncio.gather(
            *(
                collection.find_one({"_id": i}, projection)
                for i in ids[start : start + UPDATE_CHUNK]
            )
        )
        found += [d for d in docs if d is not None]
    return found


async def insert_new(collection: Collection, docs: Sequence[Doc]) -> list[Doc]:
    """Insert ``docs``; return the ones whose ``_id`` was already taken (not written)."""
    if not docs:
        return []
    try:
        await collection.insert_many(list(docs), ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors) or not errors:
            raise
        INSERTED.labels(collection.name).inc(len(docs) - len(errors))
        return [docs[e["index"]] for e in errors]
    INSERTED.labels(collection.name).inc(len(docs))
    return []


# Per event loop (each test has its own): the lock that keeps this process's update
# commands one at a time, now that the projector writes collections concurrently.
_UPDATING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


async def _update(collection: Collection, ops: Sequence[WriteOp]) -> BulkWriteResult:
    """One update command of at most UPDATE_CHUNK statements, never two at once from this
    process: each holds up to UPDATE_CHUNK of FerretDB's 100 connections until it ends."""
    loop = asyncio.get_running_loop()
    lock = _UPDATING.get(loop)
    if lock is None:
        lock = _UPDATING[loop] = asyncio.Lock()
    async with lock:
        return await collection.bulk_write(list(ops), ordered=True)


async def run_chunked(collection: Collection, ops: Sequence[WriteOp]) -> None:
    """``bulk_write`` in commands FerretDB survives, in order."""
    for start in range(0, len(ops), UPDATE_CHUNK):
        await _update(collection, ops[start : start + UPDATE_CHUNK])


async def replace_all(collection: Collection, docs: Sequence[Doc]) -> None:
    REPLACED.labels(collection.name).inc(len(docs))
    await run_chunked(collection, [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs])


async def put(collection: Collection, new: Sequence[Doc], known: Sequence[Doc]) -> None:
    """Store whole documents: ``new`` ones are inserted (replaced if they exist after
    all), ``known`` ones replaced."""
    taken = await insert_new(collection, new)
    await replace_all(collection, [*known, *taken])


async def replace_unless_newer(collection: Collection, docs: Sequence[Doc]) -> set[str]:
    """Replace each document (it has a ``seq``) unless the stored one has a higher
    ``seq``; insert the ones that do not exist. Returns the ids left as they were because
    what is stored is newer."""
    stale: set[str] = set()
    pending = list(docs)
    for _ in range(GUARD_ROUNDS):
        if not pending:
            break
        missing: list[Doc] = []
        for start in range(0, len(pending), UPDATE_CHUNK):
            chunk = pending[start : start + UPDATE_CHUNK]
            result = await _update(
                collection,
                [
                    ReplaceOne({"_id": d["_id"], "seq": {"$not": {"$gt": d["seq"]}}}, d)
                    for d in chunk
                ],
            )
            REPLACED.labels(collection.name).inc(result.matched_count)
            if result.matched_count == len(chunk):
                continue
            ids = [d["_id"] for d in chunk]
            stored = {
                s["_id"]: s.get("seq")
                async for s in collection.find({"_id": {"$in": ids}}, {"seq": 1})
            }
            for doc in chunk:
                if doc["_id"] not in stored:
                    missing.append(doc)
                elif (stored[doc["_id"]] or 0) > doc["seq"]:
                    stale.add(doc["_id"])
        pending = await insert_new(collection, missing)
    if stale:
        STALE.labels(collection.name).inc(len(stale))
    return stale


async def put_unless_newer(
    collection: Collection, new: Sequence[Doc], known: Sequence[Doc]
) -> set[str]:
    """:func:`put` for a job's documents: ``new`` inserted, the rest replaced unless what
    is stored is newer; returns the ids left as they were."""
    taken = await insert_new(collection, new)
    return await replace_unless_newer(collection, [*known, *taken])
