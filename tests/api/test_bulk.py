"""The projector's bulk writes against a real FerretDB (services/api/bulk.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from pymongo import ReplaceOne

from devtools.ferretdb_server import FerretDBServer
from services.api import bulk
from shared.mongo import make_mongo_client
from tests.servers import own_ferretdb

WRITERS = 6
DOCS = WRITERS * bulk.UPDATE_CHUNK  # far more than FerretDB's 100 pooled connections


@pytest.fixture(scope="module")
def ferret(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FerretDBServer]:
    # Its own server: a FerretDB whose pool is exhausted answers no client at all.
    with own_ferretdb(tmp_path_factory.mktemp("bulk-ferretdb")) as server:
        yield server


async def test_updates_started_together_all_land_without_exhausting_ferretdbs_pool(
    ferret: FerretDBServer,
) -> None:
    # The projector writes a batch's collections at once. FerretDB 1.24 holds a pooled
    # connection per statement of an update command until the command ends: six commands
    # of UPDATE_CHUNK replaces in flight together want more than its 100 and wait for
    # each other until the client's deadline (measured; three got through, slowly).
    # bulk keeps this process's update commands one at a time, so all of them land.
    client = make_mongo_client(f"mongodb://127.0.0.1:{ferret.port}/bulk", timeout_ms=60_000)
    try:
        coll = client.get_default_database()["docs"]
        await coll.insert_many([{"_id": n, "v": 0} for n in range(DOCS)])
        await asyncio.gather(
            *(
                bulk.run_chunked(
                    coll, [ReplaceOne({"_id": n}, {"v": 1}) for n in range(k, DOCS, WRITERS)]
                )
                for k in range(WRITERS)
            )
        )
        assert await coll.count_documents({"v": 1}) == DOCS
    finally:
        await client.close()
