"""The projector's bulk writes, shaped so MongoDB and FerretDB 1.24 both take them fast.

FerretDB 1.24 on SQLite (local runs and CI, docs/design.md §9) has two traits that set
the shape of every write here:

- An ``update`` command keeps one pooled SQLite connection per statement that matched a
  document until the whole command ends, and the pool holds 100 (its msg_update.go defers
  each iterator's close inside the loop). A command replacing 100 existing documents
  never returns, and the database then hangs for every client. So updates go in commands
  of at most ``UPDATE_CHUNK`` statements, one command at a time.
- As released, it finds the target of an update, replace, upsert or delete by scanning
  the whole table (its UPDATE filters on another expression than its ``_id`` index
  covers), while an insert only probes the unique index. The build we provision is
  patched to use the index (deploy/ferretdb/build.sh); against an unpatched FerretDB the
  projector still works, slowly. Either way an insert costs less than a replace, so
  documents known or presumed to be new are inserted, and only those that turn out to
  exist are replaced.

On MongoDB these are ordinary bulk writes: ``insert_many`` and ``bulk_write`` of replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter
from pymongo import DeleteOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

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
REPLACED = Counter(
    "projector_documents_replaced_total",
    "Documents the projector replaced (a table scan each on an unpatched FerretDB)",
    ["collection"],
)


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


async def run_chunked(collection: Collection, ops: Sequence[WriteOp]) -> None:
    """``bulk_write`` in commands FerretDB survives, in order."""
    for start in range(0, len(ops), UPDATE_CHUNK):
        await collection.bulk_write(list(ops[start : start + UPDATE_CHUNK]), ordered=True)


async def replace_all(collection: Collection, docs: Sequence[Doc]) -> None:
    REPLACED.labels(collection.name).inc(len(docs))
    await run_chunked(collection, [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs])


async def put(collection: Collection, new: Sequence[Doc], known: Sequence[Doc]) -> None:
    """Store whole documents: ``new`` ones are inserted (replaced if they exist after
    all), ``known`` ones replaced."""
    taken = await insert_new(collection, new)
    await replace_all(collection, [*known, *taken])
