"""The projector on the real broker and a FerretDB of this module's own (so the outage
test can stop it): big batches, redelivery, replay from offset zero, tombstones, a late
batch that must not take a job back, and a MongoDB outage that loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer

from devtools.ferretdb_server import FerretDBServer
from devtools.topics_read import collect
from services.api import stats
from services.api.projection import fold_job_events
from services.api.projector import MONGO_ERRORS, PRUNE_FAILURES, Batch, Projector
from services.api.settings import ApiSettings
from services.api.store import Database, ensure_indexes
from shared.codec import encode
from shared.events import (
    DeadLettered,
    Event,
    InventoryRow,
    ItemState,
    JobCreated,
    JobDone,
    JobProcessing,
    JobReserved,
    LogLine,
)
from shared.kafka.producer import EventPublisher
from shared.mongo import make_mongo_client
from shared.quotas import QuotaClass
from shared.signing import HEADER, Signer, master_secret, shop_key, signature
from shared.throttle.messages import BucketSnapshot, QuotaKey
from shared.topics import (
    ACCOUNTS,
    DEAD_LETTERS,
    INVENTORY,
    JOB_EVENTS,
    LISTINGS,
    THROTTLE_SNAPSHOTS,
    TopicSpec,
    listing_key,
)
from tests import factories
from tests.factories import account_registered, item_state, listing_state
from tests.servers import own_ferretdb
from tests.stack import SECRET_KEY
from tests.waiting import eventually

pytestmark = pytest.mark.integration

RUN = uuid.uuid4().hex[:6]
SHOP = f"shop-pj{RUN}"
ACCOUNT = f"acc-pj{RUN}"
JOBS = 150  # more than FerretDB's 100 pooled connections, in one batch


@pytest.fixture(scope="module")
def ferret(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FerretDBServer]:
    with own_ferretdb(tmp_path_factory.mktemp("projector-ferretdb")) as server:
        yield server


def url(server: FerretDBServer, database: str = "projection") -> str:
    return f"mongodb://127.0.0.1:{server.port}/{database}"


@contextlib.asynccontextmanager
async def projector(
    topics: str,
    publisher: EventPublisher,
    mongo_url: str,
    group: str,
    max_records: int = 2000,
    secret_key: str | None = None,
) -> AsyncIterator[Projector]:
    settings = ApiSettings(
        kafka_bootstrap_servers=topics,
        mongo_url=mongo_url,
        consumer_group=group,
        secret_key=secret_key,
    )
    # A write caught by FerretDB's stop can wait out its deadline (120 s by default,
    # shared/mongo.py) before the projector retries: 10 s is ample for these batches.
    client = make_mongo_client(mongo_url, timeout_ms=10_000, serverSelectionTimeoutMS=1_000)
    db = client.get_default_database()
    instance = Projector(settings, db, publisher, max_records=max_records)
    stop = asyncio.Event()
    task = asyncio.create_task(instance.run(stop))
    try:
        yield instance
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await client.close()


def job_event(cls: type[JobReserved | JobCreated | JobProcessing], n: int, seq: int) -> Event:
    items = None
    if cls is JobReserved:
        items = [ItemState(key=f"SKU-{n}-{i}", request={"quantity": i}) for i in range(2)]
    return factories.job_event(
        cls,
        job_id=f"pj{RUN}-{n:04d}",
        seq=seq,
        shop_id=SHOP,
        account_id=ACCOUNT,
        items=items,
        log=[LogLine(message=f"{cls.__name__} {n}")],
    )


async def snapshot(db: Database, shop: str = SHOP) -> dict[str, list[dict[str, Any]]]:
    query = {"shop_id": shop}
    return {
        name: await db[name].find(query).sort("_id", 1).to_list()
        # job_hours: the charts' counts, from the offsets counted (cached across batches)
        for name in ("jobs", "job_state", "job_item_pages", "job_log", "job_hours")
    }


async def count(db: Database, collection: str, query: dict[str, Any]) -> int:
    return len(await db[collection].find(query, {"_id": 1}).to_list())


async def publish(publisher: EventPublisher, topic: TopicSpec, events: list[Event]) -> None:
    await publisher.publish_many([(topic, getattr(e, "job_id", None), e) for e in events])


@pytest.fixture(scope="module")
async def projected(
    topics: str, publisher: EventPublisher, ferret: FerretDBServer
) -> dict[str, list[dict[str, Any]]]:
    """150 jobs reserved; then, with the projector stopped, all of them created and
    processing, so that one batch replaces 150 existing documents."""
    client = make_mongo_client(url(ferret))
    db = client.get_default_database()
    group = f"pj-{RUN}"
    try:
        await publish(publisher, JOB_EVENTS, [job_event(JobReserved, n, 1) for n in range(JOBS)])
        async with projector(topics, publisher, url(ferret), group):
            await eventually(lambda: _has(db, "jobs", {"shop_id": SHOP}, JOBS), "reserved")
        later = [job_event(JobCreated, n, 2) for n in range(JOBS)]
        later += [job_event(JobProcessing, n, 3) for n in range(JOBS)]
        await publish(publisher, JOB_EVENTS, later)
        async with projector(topics, publisher, url(ferret), group):
            query = {"shop_id": SHOP, "status": "processing"}
            await eventually(lambda: _has(db, "jobs", query, JOBS), "processing")
        return await snapshot(db)
    finally:
        await client.close()


async def _has(db: Database, collection: str, query: dict[str, Any], n: int) -> bool:
    return await count(db, collection, query) == n


async def test_one_batch_may_replace_more_documents_than_ferretdb_has_connections(
    projected: dict[str, list[dict[str, Any]]],
) -> None:
    jobs = projected["jobs"]
    assert len(jobs) == JOBS and {j["status"] for j in jobs} == {"processing"}
    assert {j["seq"] for j in jobs} == {3}
    assert all(j["counts"]["total"] == j["counts"]["pending"] == 2 for j in jobs)
    assert [len(p["items"]) for p in projected["job_item_pages"]] == [2] * JOBS
    assert len(projected["job_log"]) == 3 * JOBS
    assert len(projected["job_state"]) == JOBS
    assert "item_states" not in jobs[0]  # kept apart: the jobs list scans stay small


async def test_redelivery_into_the_same_database_changes_nothing(
    projected: dict[str, list[dict[str, Any]]],
    topics: str,
    publisher: EventPublisher,
    ferret: FerretDBServer,
) -> None:
    """A new consumer group reads every topic again from offset zero into the same
    database (what a reset of the projector's offsets does)."""
    async with projector(topics, publisher, url(ferret), f"pj-again-{RUN}") as again:
        await asyncio.wait_for(again.caught_up.wait(), 120)
        assert await snapshot(again.db) == projected


async def test_a_batch_folded_while_the_one_before_is_written_folds_on_that_batch(
    topics: str, publisher: EventPublisher, ferret: FerretDBServer
) -> None:
    """One job's events, more of them than a batch holds (so none is held back): each
    batch is folded while the one before it is written, on the job as that batch left it
    (the cache), not as MongoDB still holds it. Every item's change lands."""
    job, shop = f"pj{RUN}-long", f"shop-long{RUN}"
    # An account of its own too: the charts' hour counts are per account.
    ident: dict[str, Any] = {"job_id": job, "shop_id": shop, "account_id": f"acc-long{RUN}"}
    items = [item_state(f"LONG-{k:02d}") for k in range(40)]
    events: list[Event] = [factories.job_event(JobReserved, **ident, items=items)]
    events += [
        factories.job_event(
            JobProcessing,
            **ident,
            seq=k + 2,
            items=[item.model_copy(update={"status": "accepted", "messages": [f"m{k}"]})],
        )
        for k, item in enumerate(items)
    ]
    database, group = url(ferret, f"long_{RUN}"), f"pj-long-{RUN}"
    async with projector(topics, publisher, database, group, max_records=4) as running:
        await publish(publisher, JOB_EVENTS, events)
        last = {"_id": job, "seq": len(items) + 1}
        await eventually(lambda: _has(running.db, "jobs", last, 1), "the job's last event")
        stored = await snapshot(running.db, shop)
    assert [j["counts"]["accepted"] for j in stored["jobs"]] == [len(items)]
    assert [s["status"] for s in stored["job_state"][0]["item_states"]] == ["accepted"] * 40
    rows = [row for page in stored["job_item_pages"] for row in page["items"]]
    assert [row["messages"] for row in rows] == [[f"m{k}"] for k in range(len(items))]


async def test_a_batch_read_before_the_assignment_changed_is_not_written() -> None:
    """Its partitions' committed offsets are read again, by this instance or by their next
    owner: written now, it could land beside what that owner writes (docs/design.md §15).
    There is no MongoDB here: a write would fail the test."""
    settings = ApiSettings(
        kafka_bootstrap_servers="127.0.0.1:1", mongo_url="mongodb://127.0.0.1:1/none"
    )
    instance = Projector(settings, cast(Database, None), cast(EventPublisher, None))
    batch = Batch([], [], {}, instance.rebalances.generation, plan=None)
    await instance.rebalances.on_partitions_assigned([])
    consumer = cast(AIOKafkaConsumer, None)
    assert await instance._finish(consumer, batch, asyncio.Event()) is False
    assert instance.applied == 0


async def test_pruning_deletes_more_old_chart_data_than_one_delete_of_ferretdb_takes(
    ferret: FerretDBServer,
) -> None:
    """After a catch-up through months of history, the hour counts past their span
    outnumber the SQL variables SQLite takes in one statement (32,766), which is what one
    ``delete_many`` of FerretDB needs: they go all the same, and the recent ones stay."""
    database = url(ferret, f"prune_{RUN}")
    client = make_mongo_client(database)
    db = client.get_default_database()
    now = datetime.now(UTC)
    old = now - stats.JOB_HOURS_KEPT - timedelta(hours=1)
    try:
        await ensure_indexes(db)
        await db.job_hours.insert_many(
            [{"_id": f"old-{n:05d}", "hour": old, "counts": {}} for n in range(40_000)]
        )
        await db.job_hours.insert_many([{"_id": f"new-{n}", "hour": now} for n in range(3)])
        settings = ApiSettings(kafka_bootstrap_servers="127.0.0.1:1", mongo_url=database)
        instance = Projector(settings, db, cast(EventPublisher, None))
        failures = PRUNE_FAILURES._value.get()
        await instance._prune_stats()
        assert PRUNE_FAILURES._value.get() == failures
        kept = await db.job_hours.find({}, {"_id": 1}).to_list()
        assert sorted(d["_id"] for d in kept) == ["new-0", "new-1", "new-2"]
    finally:
        await client.close()


async def test_replaying_the_topics_into_an_empty_database_gives_the_same_documents(
    projected: dict[str, list[dict[str, Any]]],
    topics: str,
    publisher: EventPublisher,
    ferret: FerretDBServer,
) -> None:
    """In batches of 7 records, so that most batches end inside some job (held back)."""
    fresh = url(ferret, f"replay_{RUN}")
    async with projector(topics, publisher, fresh, f"pj-replay-{RUN}", max_records=7) as replay:
        await asyncio.wait_for(replay.caught_up.wait(), 120)
        assert await snapshot(replay.db) == projected


async def test_tombstones_delete_what_compacted_topics_held(
    topics: str, publisher: EventPublisher, ferret: FerretDBServer
) -> None:
    account = f"acc-tomb{RUN}"
    key = QuotaKey(seller_id=account, region="EU", quota_class=QuotaClass.FEED_SUBMIT)
    records: list[tuple[TopicSpec, str, Event, str]] = [
        (
            LISTINGS,
            listing_key(account, "SKU-1"),
            listing_state("SKU-1", account_id=account, shop_id=SHOP),
            "listings",
        ),
        (
            INVENTORY,
            listing_key(account, "SKU-1"),
            InventoryRow(
                account_id=account, shop_id=SHOP, sku="SKU-1", report_id="r1", job_id="j1"
            ),
            "inventory",
        ),
        (
            ACCOUNTS,
            account,
            account_registered(account, shop_id=SHOP),
            "accounts",
        ),
        (
            THROTTLE_SNAPSHOTS,
            str(key),
            BucketSnapshot(quota_key=key, tokens=3.0, burst=15, rate_per_s=0.01, queue_depth=0),
            "quotas",
        ),
    ]
    async with projector(topics, publisher, url(ferret), f"pj-tomb-{RUN}") as running:
        db = running.db
        for topic, k, event, _ in records:
            await publisher.publish(topic, k, event)
        for _, k, _, collection in records:
            await eventually(functools.partial(_has, db, collection, {"_id": k}, 1), collection)
        for topic, k, _, _ in records:
            await publisher.publish_raw(topic.name, k.encode(), None)
        for _, k, _, collection in records:
            await eventually(functools.partial(_has, db, collection, {"_id": k}, 0), collection)


async def test_a_late_batch_never_takes_a_job_back(
    topics: str, publisher: EventPublisher, ferret: FerretDBServer
) -> None:
    """A projector that lost the job's partition while its batch was on the way (its cache
    still holds the job at seq 1) writes seq 2 after the new owner has written seq 3: the
    job's row, item states and items stay at seq 3."""
    job, shop = f"pj{RUN}-late", f"shop-late{RUN}"  # a shop of its own: the others count
    ident: dict[str, Any] = {"job_id": job, "shop_id": shop, "account_id": ACCOUNT}
    item = item_state("LATE-1")
    reserved = factories.job_event(JobReserved, **ident, items=[item])
    created = factories.job_event(JobCreated, **ident, seq=2, items=[item])
    accepted = item.model_copy(update={"status": "accepted"})
    done = factories.job_event(JobDone, **ident, seq=3, items=[accepted])
    async with projector(topics, publisher, url(ferret, f"late_{RUN}"), f"pj-late-{RUN}") as owner:
        await publish(publisher, JOB_EVENTS, [reserved, created, done])
        await eventually(lambda: _has(owner.db, "jobs", {"_id": job, "seq": 3}, 1), "seq 3")
        newest = await snapshot(owner.db, shop)
        late = Projector(owner.settings, owner.db, publisher)
        late.cache.put(fold_job_events([reserved], {}).jobs)  # its view before the rebalance
        await late._write_jobs([created])
        assert await snapshot(owner.db, shop) == newest
    assert [j["status"] for j in newest["jobs"]] == ["done"]
    assert [i["status"] for p in newest["job_item_pages"] for i in p["items"]] == ["accepted"]
    assert late.cache.get(job) is None  # read back next time, not trusted


async def test_an_outage_of_mongodb_loses_nothing(
    projected: dict[str, list[dict[str, Any]]],
    topics: str,
    publisher: EventPublisher,
    ferret: FerretDBServer,
) -> None:
    """Events that arrive while MongoDB is down are not committed: a projector that is
    stopped during the outage leaves them to the next one, which writes them."""
    client = make_mongo_client(url(ferret))
    db = client.get_default_database()
    group = f"pj-{RUN}"  # the group that projected everything so far
    fresh = [job_event(JobReserved, n, 1) for n in range(JOBS, JOBS + 20)]
    try:
        async with projector(topics, publisher, url(ferret), group) as running:
            await asyncio.wait_for(running.caught_up.wait(), 60)
            await asyncio.to_thread(ferret.stop)
            errors_before = MONGO_ERRORS._value.get()
            await publish(publisher, JOB_EVENTS, fresh)
            await eventually(lambda: MONGO_ERRORS._value.get() > errors_before, "a failed write")
        # stopped while MongoDB was still down
        await asyncio.to_thread(ferret.start)
        # nothing written meanwhile (and the projector that could have is gone)
        assert await count(db, "jobs", {"shop_id": SHOP}) == JOBS
        async with projector(topics, publisher, url(ferret), group):
            await eventually(lambda: _has(db, "jobs", {"shop_id": SHOP}, JOBS + 20), "resumed")
    finally:
        if not ferret.running():
            await asyncio.to_thread(ferret.start)
        await client.close()


async def test_an_account_record_a_shop_wrote_is_dead_lettered_not_shown(
    topics: str, publisher: EventPublisher, ferret: FerretDBServer
) -> None:
    """``amazon.accounts`` is the system's (docs/design.md §22): what the system signed is
    shown, what a shop signed with its own key is a dead letter with the reason."""
    master = master_secret(None, SECRET_KEY)
    mine, taken = f"acc-sys{RUN}", f"acc-taken{RUN}"
    system_record = account_registered(mine, shop_id=SHOP)
    forged = account_registered(taken, shop_id="shop-taker")
    value = encode(forged)
    shop_signed = signature(shop_key(master, "shop-taker"), ACCOUNTS.name, taken.encode(), value)
    group = f"pj-sig-{RUN}"
    async with projector(topics, publisher, url(ferret), group, secret_key=SECRET_KEY) as running:
        signed = EventPublisher(publisher.producer, Signer(master))
        await publisher.producer.send_and_wait(
            ACCOUNTS.name, value, key=taken.encode(), headers=[(HEADER, shop_signed)]
        )
        await signed.publish(ACCOUNTS, mine, system_record)
        db = running.db
        await eventually(functools.partial(_has, db, "accounts", {"_id": mine}, 1), "shown")

        def about(e: Event) -> bool:
            return isinstance(e, DeadLettered) and e.key == taken and e.consumer_group == group

        (letter,) = await collect(topics, DEAD_LETTERS.name, bool, where=about, timeout_s=60)
        assert isinstance(letter, DeadLettered)
        assert "written only by the system" in letter.error
        # Its batch is written and committed by now: the record was refused, not late.
        assert await count(db, "accounts", {"_id": taken}) == 0
