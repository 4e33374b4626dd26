"""Read side benchmark at 100,000 and 1,000,000 jobs: projector throughput into MongoDB,
then every list and detail query of the read API over HTTP.

One run, in stages on one database (``--sizes``, default 100,000 then 1,000,000 jobs):

1. Publishes the events of the stage's new jobs (JobReserved, JobCreated, then JobDone /
   JobFailed / JobCanceled; each with one log line, the first and last with the job's
   items), after the accounts and one job of 25,000 items with a log of 25,000 lines (its
   items and log in chunks, as the workers write them: shared.chunking), with
   ``EventPublisher.publish_many``.
2. Runs the projector in-process (``services.api.projector.Projector``) on the stage's
   events and reports the events per second it wrote to MongoDB.
3. Starts ``python -m services.api`` (API_RUN_PROJECTOR=false) on the database and times,
   one request at a time on a kept-alive connection, p50 and p99 of: ``GET /v1/jobs`` with
   an admin key (all shops) and a shop key, unfiltered and with each filter (status,
   account, job type, a created range), on the first page and on page ``--deep-page``
   (reached by following ``next_cursor`` from page 1, as a client does); the big job's
   detail, its items and its log, first page and a page 20,000 rows in.

Goals (issue 13): the projector keeps up with >= 10,000 events/s; every query answers
with p99 <= 50 ms.

Usage: python benchmarks/api_bench.py [--sizes 100000,1000000] [--samples 100] [--quick]
Starts its own Kafka and FerretDB unless KAFKA_BOOTSTRAP_SERVERS / MONGO_URL are set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.ferretdb_server import FerretDBServer
from devtools.figures import report
from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.probes import http_answers
from devtools.processes import ChildProcess
from devtools.provision import ferretdb_version, kafka_version, provision_missing
from services.api.projector import OWN_TOPICS, TOPICS, Projector
from services.api.settings import ApiSettings
from shared.chunking import split_items
from shared.events import (
    AccountRegistered,
    EncryptedCredentials,
    Event,
    ItemState,
    JobCanceled,
    JobCreated,
    JobDone,
    JobEvent,
    JobFailed,
    JobLogged,
    JobReserved,
    LogLine,
)
from shared.jobs import JobStatus, JobType
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import EventPublisher, make_producer
from shared.mongo import get_database, make_mongo_client
from shared.topics import ACCOUNTS, JOB_EVENTS, TopicSpec

ADMIN_KEY = "bench-admin-key"
SHOP_KEY = "bench-shop-key"
SHOPS = 20
ACCOUNTS_PER_SHOP = 3
PAGE = 50  # the API's default page size
JOB_TYPES = [JobType.UPDATE_QTY, JobType.UPDATE_PRICE, JobType.UPDATE_QTY_PRICE]
BIG_ITEMS = 25_000  # the most a job holds
LOG_LINES_PER_EVENT = 1_000
DEEP_ROW = 20_000  # where the big job's deep items / log page starts
P99_GOAL_MS = 50.0
EVENTS_GOAL = 10_000.0

Record = tuple[TopicSpec, str | None, Event]


@dataclass(frozen=True)
class Workload:
    run_id: str
    items: int
    start: datetime  # job n is created at start + n seconds
    jobs: int  # the most the run makes

    def shop(self, n: int) -> str:
        return f"bench-{self.run_id}-shop-{n}"

    def account(self, n: int) -> str:
        return f"bench-{self.run_id}-acc-{n}"

    @property
    def accounts(self) -> int:
        return SHOPS * ACCOUNTS_PER_SHOP

    @property
    def big_job(self) -> str:
        return f"bench-{self.run_id}-big"

    def job_id(self, n: int) -> str:
        return f"bench-{self.run_id}-{n:07d}"

    def created(self, n: int) -> datetime:
        return self.start + timedelta(seconds=n)

    def account_records(self) -> list[Record]:
        out: list[Record] = []
        for n in range(self.accounts):
            event = AccountRegistered(
                account_id=self.account(n),
                shop_id=self.shop(n % SHOPS),
                name=f"Bench account {n}",
                seller_id=f"ABENCH{n:04d}",
                region="EU",
                marketplace_ids=["A1PA6795UKMFR9"],
                credentials=EncryptedCredentials(key_id="bench", ciphertext="none"),
            )
            out.append((ACCOUNTS, event.account_id, event))
        return out

    def big_job_records(self) -> list[Record]:
        """A job of 25,000 items in shop 0, its items and log in chunks as the workers
        write them (shared.chunking), created before every other job."""
        at = self.start - timedelta(hours=1)
        ident: dict[str, Any] = {
            "job_id": self.big_job,
            "shop_id": self.shop(0),
            "account_id": self.account(0),
            "job_type": JobType.UPDATE_QTY,
        }
        items = [
            ItemState(key=f"BIG-{k:05d}", request={"sku": f"BIG-{k:05d}", "quantity": k % 90})
            for k in range(BIG_ITEMS)
        ]
        events: list[JobEvent] = split_items(
            JobReserved(seq=1, status=JobStatus.RESERVED, occurred_at=at, items=items, **ident),
            None,
        )
        events.append(
            JobCreated(seq=2, status=JobStatus.CREATED, occurred_at=at, **ident),
        )
        for first in range(0, BIG_ITEMS, LOG_LINES_PER_EVENT):
            lines = [
                LogLine(level="warning", message=f"BIG-{k:05d}: price unchanged", at=at)
                for k in range(first, first + LOG_LINES_PER_EVENT)
            ]
            events.append(
                JobLogged(seq=2, status=JobStatus.CREATED, occurred_at=at, log=lines, **ident)
            )
        done = [i.model_copy(update={"status": "accepted"}) for i in items]
        final = JobDone(
            seq=3,
            status=JobStatus.DONE,
            occurred_at=at + timedelta(minutes=5),
            items=done,
            data={"processed": BIG_ITEMS, "accepted": BIG_ITEMS},
            **ident,
        )
        events += split_items(final, JobStatus.CREATED)
        return [(JOB_EVENTS, e.job_id, e) for e in events]

    def job_records(self, first: int, last: int) -> list[Record]:
        """The events of jobs ``first`` … ``last - 1``: one created per second of history."""
        rng = random.Random(first)
        out: list[Record] = []
        for n in range(first, last):
            account = n % self.accounts
            at = self.created(n)
            ident: dict[str, Any] = {
                "job_id": self.job_id(n),
                "shop_id": self.shop(account % SHOPS),
                "account_id": self.account(account),
                "job_type": JOB_TYPES[n % len(JOB_TYPES)],
            }
            items = [
                ItemState(key=f"SKU-{n % 5000}-{k}", request={"sku": f"SKU-{k}", "quantity": k})
                for k in range(self.items)
            ]
            roll = rng.random()
            final: JobEvent
            if roll < 0.9:
                final = JobDone(
                    seq=3,
                    status=JobStatus.DONE,
                    occurred_at=at + timedelta(seconds=5),
                    items=[i.model_copy(update={"status": "accepted"}) for i in items],
                    log=[LogLine(message="feed processed", at=at + timedelta(seconds=5))],
                    data={"processed": len(items), "accepted": len(items)},
                    **ident,
                )
            elif roll < 0.97:
                final = JobFailed(
                    seq=3,
                    status=JobStatus.ERROR,
                    occurred_at=at + timedelta(seconds=5),
                    items=[i.model_copy(update={"status": "error"}) for i in items],
                    log=[LogLine(level="error", message="FATAL", at=at + timedelta(seconds=5))],
                    **ident,
                )
            else:
                final = JobCanceled(
                    seq=3,
                    status=JobStatus.CANCELED,
                    occurred_at=at + timedelta(seconds=1),
                    items=[i.model_copy(update={"status": "canceled"}) for i in items],
                    log=[LogLine(message="canceled", at=at + timedelta(seconds=1))],
                    **ident,
                )
            events: list[JobEvent] = [
                JobReserved(
                    seq=1,
                    status=JobStatus.RESERVED,
                    occurred_at=at,
                    items=items,
                    log=[LogLine(message=f"job received with {self.items} item(s)", at=at)],
                    **ident,
                ),
                JobCreated(
                    seq=2,
                    status=JobStatus.CREATED,
                    occurred_at=at + timedelta(milliseconds=100),
                    log=[LogLine(message="queued", at=at + timedelta(milliseconds=100))],
                    **ident,
                ),
                final,
            ]
            out += [(JOB_EVENTS, e.job_id, e) for e in events]
        return out


# ------------------------------------------------------------------------ infrastructure


@contextlib.contextmanager
def infrastructure(workdir: Path) -> Iterator[tuple[str, str, str]]:
    """(bootstrap servers, MongoDB base url, description): given, or started here."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    mongo = os.environ.get("MONGO_URL")
    servers: list[KafkaServer | FerretDBServer] = []
    try:
        if not bootstrap or not mongo:
            provision_missing()
        if not bootstrap:
            kafka = KafkaServer(free_port(), workdir / "kafka", heap_mb=768)
            servers.append(kafka.start())
            bootstrap = kafka.bootstrap_servers
            kafka_desc = f"Kafka {kafka_version()[1]} (own, single node KRaft)"
        else:
            kafka_desc = f"Kafka at {bootstrap} (given)"
        if not mongo:
            ferret = FerretDBServer(free_port(), workdir / "ferretdb")
            servers.append(ferret.start())
            mongo = f"mongodb://127.0.0.1:{ferret.port}/db"
            mongo_desc = f"FerretDB {ferretdb_version()} on SQLite (own)"
        else:
            mongo_desc = "MongoDB at MONGO_URL (given)"
        yield bootstrap, mongo, f"{kafka_desc}; {mongo_desc}"
    finally:
        for server in reversed(servers):
            server.stop()


def database_url(base: str, name: str) -> str:
    head, _, rest = base.partition("://")
    hosts, _, tail = rest.partition("/")
    _, _, query = tail.partition("?")
    return f"{head}://{hosts}/{name}" + (f"?{query}" if query else "")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    return (
        f"{platform.node()}: {cpu}, {os.cpu_count()} CPUs{memory}; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}"
    )


# ---------------------------------------------------------------------------- phases


async def end_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    """Where every projector topic ends now: the projector starts there, past old data."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        names = {t.name for t in [*TOPICS, *OWN_TOPICS]}
        for _ in range(150):  # a topic just created takes a moment to show in metadata
            if names <= await consumer.topics():
                break
            await asyncio.sleep(0.2)
        parts = [
            TopicPartition(t.name, p) for t in [*TOPICS, *OWN_TOPICS] for p in range(t.partitions)
        ]
        consumer.assign(parts)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(parts)
        return ends
    finally:
        await consumer.stop()


async def place_group(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})
    finally:
        await consumer.stop()


async def publish(
    publisher: EventPublisher, work: Workload, first: int, last: int, chunk: int
) -> int:
    """Publish jobs ``first`` … ``last - 1`` (and, for the first stage, the accounts and
    the big job); the number of events published."""
    started = time.monotonic()
    count = 0
    if first == 0:
        for records in (work.account_records(), work.big_job_records()):
            await publisher.publish_many(records)
            count += len(records)
    for at in range(first, last, chunk):
        records = work.job_records(at, min(last, at + chunk))
        await publisher.publish_many(records)
        count += len(records)
        done = min(last, at + chunk)
        if (done - first) % (chunk * 20) == 0 or done == last:
            rate = count / (time.monotonic() - started)
            print(f"  published jobs up to {done:,} ({rate:,.0f} events/s)", flush=True)
    return count


@dataclass
class ProjectorRun:
    applied: int
    seconds: float  # from the first batch seen written to the last
    wall: float  # from start, consumer group join and index creation included
    complete: bool  # every event applied and the stage's last job stored

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds > 0 else 0.0


async def project(
    settings: ApiSettings, publisher: EventPublisher, total: int, budget_s: float, last_job: str
) -> ProjectorRun:
    """Run the projector until it has applied ``total`` more events (or the budget is
    spent), from where the consumer group stands. Complete when it has and ``last_job``
    (the stage's last) is stored: counting a million rows on FerretDB takes minutes."""
    client = make_mongo_client(settings.mongo_url)
    db = get_database(client, settings.mongo_url)
    projector = Projector(settings, db, publisher)
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(projector.run(stop))
    first: tuple[float, int] | None = None
    last = (started, 0)
    next_report = started + 60
    try:
        while projector.applied < total and time.monotonic() - started < budget_s:
            await asyncio.sleep(0.05)
            if task.done():
                task.result()
            now, applied = time.monotonic(), projector.applied
            if applied != last[1]:
                last = (now, applied)
                if first is None:
                    first = last
            if now > next_report:
                print(f"  projected {applied:,} of {total:,} events", flush=True)
                next_report = now + 60
    finally:
        stop.set()
        await task
    complete = projector.applied >= total and await db.jobs.find_one({"_id": last_job}) is not None
    await client.close()
    if first is None:
        raise RuntimeError("the projector wrote nothing")
    # The first batch's own write time is not counted, nor are its events.
    return ProjectorRun(
        applied=last[1] - first[1],
        seconds=last[0] - first[0],
        wall=last[0] - started,
        complete=complete,
    )


@contextlib.asynccontextmanager
async def api_process(
    bootstrap: str, mongo_url: str, workdir: Path, shop_id: str
) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MONGO_URL": mongo_url,
        "API_PORT": str(port),
        "API_RUN_PROJECTOR": "false",
        "AMAZON_JOBS_API_KEYS": f"*:{ADMIN_KEY},{shop_id}:{SHOP_KEY}",
        "AMAZON_JOBS_LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    api = ChildProcess(
        "api", [sys.executable, "-m", "services.api"], log_path=workdir / "api.log", env=env
    )
    api.start()
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(api.wait_ready, lambda: http_answers(f"{url}/healthz"), 60)
        yield url
    finally:
        await asyncio.to_thread(api.stop, 30)


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


@dataclass(frozen=True)
class Query:
    """One read the API serves, by whom, and how deep."""

    name: str
    path: str
    params: dict[str, Any]
    key: str
    page: int = 1  # reached by following next_cursor from page 1
    limit: int = PAGE


def queries(work: Workload, jobs: int, deep_page: int) -> list[Query]:
    middle = work.created(jobs // 2)
    window = {
        "created_from": (middle - timedelta(hours=6)).isoformat(),
        "created_to": (middle + timedelta(hours=6)).isoformat(),
    }
    filters: list[tuple[str, dict[str, Any]]] = [
        ("all", {}),
        ("status=error", {"status": "error"}),
        ("account", {"account_id": work.account(0)}),
        ("job_type", {"job_type": JobType.UPDATE_PRICE.value}),
        ("12 h created range", window),
    ]
    out: list[Query] = []
    for who, key in (("admin", ADMIN_KEY), ("shop", SHOP_KEY)):
        for label, params in filters:
            for page in (1, deep_page):
                name = f"jobs {who} {label}, page {page}"
                out.append(Query(name, "/v1/jobs", params, key, page))
    big = f"/v1/jobs/{work.big_job}"
    items_deep = DEEP_ROW // 200 + 1
    log_deep = DEEP_ROW // 500 + 1
    out += [
        Query("job detail (25,000 items)", big, {}, SHOP_KEY),
        Query("job items, page 1", f"{big}/items", {}, SHOP_KEY, 1, 200),
        Query(f"job items, page {items_deep}", f"{big}/items", {}, SHOP_KEY, items_deep, 200),
        Query("job log, page 1", f"{big}/log", {}, SHOP_KEY, 1, 500),
        Query(f"job log, page {log_deep}", f"{big}/log", {}, SHOP_KEY, log_deep, 500),
    ]
    return out


async def timed_get(
    http: httpx.AsyncClient, path: str, params: dict[str, Any]
) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await http.get(path, params=params)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


async def reach(http: httpx.AsyncClient, query: Query) -> tuple[dict[str, Any], int]:
    """The parameters of the query's page, found by following ``next_cursor`` from page 1
    (a shorter list gives its last page), and that page's number."""
    params: dict[str, Any] = {**query.params}
    if query.path == "/v1/jobs" or query.path.endswith(("/items", "/log")):
        params["limit"] = query.limit
    page = 1
    while page < query.page:
        _, body = await timed_get(http, query.path, params)
        if not body.get("next_cursor"):
            break
        params["cursor"] = body["next_cursor"]
        page += 1
    return params, page


async def measure(
    http: httpx.AsyncClient, query: Query, samples: int, cap_s: float, size: str, settings: str
) -> None:
    http.headers["Authorization"] = f"Bearer {query.key}"
    params, page = await reach(http, query)
    _, body = await timed_get(http, query.path, params)  # warm-up
    rows = len(body["data"]) if "data" in body and isinstance(body["data"], list) else 1
    times: list[float] = []
    started = time.monotonic()
    while len(times) < samples and (len(times) < 5 or time.monotonic() - started < cap_s):
        elapsed, _ = await timed_get(http, query.path, params)
        times.append(elapsed)
    p50, p99 = quantiles(times)
    name = query.name if page == query.page else f"{query.name} (last: {page})"
    print(
        f"  {name:<44} {rows:>4} rows  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  "
        f"({len(times)} requests)",
        flush=True,
    )
    report(
        "api",
        f"{name} p99 @ {size}",
        p99,
        "ms",
        goal=P99_GOAL_MS,
        higher_is_better=False,
        settings=settings,
    )


def stage_sizes(text: str) -> list[int]:
    sizes = sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()})
    if not sizes or sizes[0] <= 0:
        raise argparse.ArgumentTypeError("sizes: positive job counts, e.g. 100000,1000000")
    return sizes


async def main() -> None:
    # aiokafka warns while a fresh broker elects leaders and coordinators; it retries.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=stage_sizes, default=[100_000, 1_000_000])
    parser.add_argument("--items", type=int, default=2, help="items per job")
    parser.add_argument("--chunk", type=int, default=5_000, help="jobs per publish_many")
    parser.add_argument("--budget-s", type=float, default=3600.0, help="per projector stage")
    parser.add_argument("--deep-page", type=int, default=200)
    parser.add_argument("--samples", type=int, default=100, help="requests per query")
    parser.add_argument("--cap-s", type=float, default=20.0, help="time cap per query")
    parser.add_argument("--quick", action="store_true", help="5,000 and 20,000 jobs, short")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.deep_page, args.samples, args.cap_s = [5_000, 20_000], 20, 20, 5

    workdir = Path(tempfile.mkdtemp(prefix="api-bench-"))
    run_id = uuid.uuid4().hex[:6]
    most = args.sizes[-1]
    work = Workload(
        run_id=run_id,
        items=args.items,
        start=datetime.now(UTC) - timedelta(seconds=most + 3600),
        jobs=most,
    )
    print(f"machine: {machine()}")
    with infrastructure(workdir) as (bootstrap, mongo_base, servers):
        print(f"servers: {servers}")
        print(
            f"workload: stages of {', '.join(f'{s:,}' for s in args.sizes)} jobs, 3 events "
            f"each (one created per second of history), {work.items} items and 1 log line "
            f"per job event; {SHOPS} shops x {ACCOUNTS_PER_SHOP} accounts; 90% done, 7% "
            f"error, 3% canceled; plus one job of {BIG_ITEMS:,} items and {BIG_ITEMS:,} "
            f"log lines"
        )
        await ensure_topics(bootstrap)
        await ensure_topics(bootstrap, OWN_TOPICS)
        group = f"api-bench-{uuid.uuid4().hex[:8]}"
        await place_group(bootstrap, group, await end_offsets(bootstrap))
        mongo_url = database_url(mongo_base, f"api_bench_{run_id}")
        settings = ApiSettings(
            kafka_bootstrap_servers=bootstrap, mongo_url=mongo_url, consumer_group=group
        )
        assert settings.consumer_group == group, "ApiSettings renamed its consumer group field"
        producer = make_producer(bootstrap, client_id="api-bench")
        await producer.start()
        publisher = EventPublisher(producer)
        done = 0
        try:
            for size in args.sizes:
                label = f"{size:,} jobs"
                print(f"\n--- {label}: publishing jobs {done:,} … {size - 1:,}", flush=True)
                events = await publish(publisher, work, done, size, args.chunk)
                load = os.getloadavg()[0]
                print(f"projecting {events:,} events into {mongo_url} …", flush=True)
                run = await project(
                    settings, publisher, events, args.budget_s, work.job_id(size - 1)
                )
                stored = f"{size + 1:,} jobs" if run.complete else "NOT all jobs (budget spent)"
                print(
                    f"  {run.applied:,} events in {run.seconds:.1f} s = {run.rate:,.0f} "
                    f"events/s ({run.wall:.1f} s wall incl. start); {stored} in MongoDB",
                    flush=True,
                )
                done = size
                where = (
                    f"{stored} in MongoDB (FerretDB unless MONGO_URL); load "
                    f"{load:.1f} at start; {args.samples} requests per query (at least 5, "
                    f"cap {args.cap_s:.0f} s), one at a time"
                )
                report(
                    "api",
                    f"projector, stage up to {label}",
                    run.rate,
                    "events/s",
                    goal=EVENTS_GOAL,
                    settings=where,
                )
                print(f"HTTP latency at {label}, one request at a time:", flush=True)
                async with (
                    api_process(bootstrap, mongo_url, workdir, work.shop(0)) as url,
                    httpx.AsyncClient(base_url=url, timeout=300) as http,
                ):
                    for query in queries(work, size, args.deep_page):
                        await measure(http, query, args.samples, args.cap_s, label, where)
        finally:
            await producer.stop()
    print(f"work files: {workdir}")


if __name__ == "__main__":
    asyncio.run(main())
