"""Read side benchmark: projector throughput into MongoDB, then GET /v1/jobs latency.

1. Publishes the events of N jobs (JobReserved, JobCreated, then JobDone / JobFailed /
   JobCanceled; each with one log line, the first and last with the job's items) plus
   their accounts, in chunks with ``EventPublisher.publish_many``.
2. Runs the projector in-process (``services.api.projector.Projector``) on a fresh
   consumer group and database, positioned at the first of these events, and reports the
   events per second it wrote to MongoDB (median over ``--runs``; each run projects the
   same events into a new database). A run stops at ``--budget-s``; the size actually
   projected is printed.
3. Starts ``python -m services.api`` (API_RUN_PROJECTOR=false) on the last run's database
   and measures ``GET /v1/jobs`` over real HTTP, one request at a time on a kept-alive
   connection: the first page and a deep cursor page (``--deep-page``; its cursor is
   encoded from the database as the API encodes ``next_cursor``, checked against the
   API's own on page 1), for an admin key (all shops) and a shop key; p50 and p99. Each
   figure takes ``--samples`` requests or at least 5 and as many as fit ``--cap-s``.

Figures (devtools/figures.py, no goals): the projector's events per second, and the p99
of each GET /v1/jobs latency.

Usage: python benchmarks/api_bench.py [--jobs 100000] [--runs 1] [--budget-s 300] [--quick]
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
from services.api.pagination import encode_cursor
from services.api.projector import OWN_TOPICS, TOPICS, Projector
from services.api.settings import ApiSettings
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
SHOPS = 10
ACCOUNTS_PER_SHOP = 3
PAGE = 50  # the API's default page size
JOB_TYPES = [JobType.UPDATE_QTY, JobType.UPDATE_PRICE, JobType.UPDATE_QTY_PRICE]

Record = tuple[TopicSpec, str | None, Event]


@dataclass(frozen=True)
class Workload:
    jobs: int
    items: int
    run_id: str
    start: datetime

    def shop(self, n: int) -> str:
        return f"bench-{self.run_id}-shop-{n}"

    def account(self, n: int) -> str:
        return f"bench-{self.run_id}-acc-{n}"

    @property
    def accounts(self) -> int:
        return SHOPS * ACCOUNTS_PER_SHOP

    @property
    def events(self) -> int:
        return self.accounts + 3 * self.jobs

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

    def job_records(self, first: int, last: int) -> list[Record]:
        """The events of jobs ``first`` … ``last - 1``: one created per second of history."""
        rng = random.Random(first)
        out: list[Record] = []
        for n in range(first, last):
            account = n % self.accounts
            at = self.start + timedelta(seconds=n)
            ident: dict[str, Any] = {
                "job_id": f"bench-{self.run_id}-{n:07d}",
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


async def publish(publisher: EventPublisher, work: Workload, chunk: int) -> float:
    started = time.monotonic()
    await publisher.publish_many(work.account_records())
    for first in range(0, work.jobs, chunk):
        await publisher.publish_many(work.job_records(first, min(work.jobs, first + chunk)))
        done = min(work.jobs, first + chunk)
        if done % (chunk * 10) == 0 or done == work.jobs:
            rate = done * 3 / (time.monotonic() - started)
            print(f"  published {done:,} jobs ({rate:,.0f} events/s)", flush=True)
    return time.monotonic() - started


@dataclass
class ProjectorRun:
    applied: int
    seconds: float  # from the first batch seen written to the last
    wall: float  # from start, consumer group join and index creation included
    jobs_in_db: int

    @property
    def rate(self) -> float:
        return self.applied / self.seconds if self.seconds > 0 else 0.0


async def project(
    bootstrap: str,
    mongo_url: str,
    publisher: EventPublisher,
    offsets: dict[TopicPartition, int],
    total: int,
    budget_s: float,
) -> ProjectorRun:
    group = f"api-bench-{uuid.uuid4().hex[:8]}"
    await place_group(bootstrap, group, offsets)
    settings = ApiSettings(
        kafka_bootstrap_servers=bootstrap, mongo_url=mongo_url, consumer_group=group
    )
    assert settings.consumer_group == group, "ApiSettings renamed its consumer group field"
    client = make_mongo_client(mongo_url)
    db = get_database(client, mongo_url)
    projector = Projector(settings, db, publisher)
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(projector.run(stop))
    first: tuple[float, int] | None = None
    last = (started, 0)
    next_report = started + 30
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
                next_report = now + 30
    finally:
        stop.set()
        await task
    jobs_in_db = await db.jobs.count_documents({})
    await client.close()
    if first is None:
        raise RuntimeError("the projector wrote nothing")
    # The first batch's own write time is not counted, nor are its events.
    return ProjectorRun(
        applied=last[1] - first[1],
        seconds=last[0] - first[0],
        wall=last[0] - started,
        jobs_in_db=jobs_in_db,
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


async def timed_get(http: httpx.AsyncClient, params: dict[str, Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await http.get("/v1/jobs", params=params)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


async def deep_cursor(mongo_url: str, shop_id: str | None, page: int) -> tuple[str | None, int]:
    """The ``cursor`` that asks for page ``page`` (or the last page, if there are fewer),
    encoded as the API encodes its ``next_cursor``: walking there by HTTP would take longer
    than the benchmark itself on FerretDB."""
    client = make_mongo_client(mongo_url)
    try:
        jobs = get_database(client, mongo_url).jobs
        query = {} if shop_id is None else {"shop_id": shop_id}
        total = await jobs.count_documents(query)
        page = max(1, min(page, (total - 1) // PAGE + 1))
        if page == 1:
            return None, 1
        last = await (
            jobs.find(query, {"created_at": 1})
            .sort([("created_at", -1), ("_id", -1)])
            .skip((page - 1) * PAGE - 1)
            .limit(1)
            .to_list()
        )
        return encode_cursor([last[0]["created_at"], last[0]["_id"]]), page
    finally:
        await client.close()


async def latency(
    url: str,
    mongo_url: str,
    key: str,
    shop_id: str | None,
    deep_page: int,
    samples: int,
    cap_s: float,
    settings: str,
) -> None:
    who = "admin key" if shop_id is None else "shop key"
    second, _ = await deep_cursor(mongo_url, shop_id, 2)
    deep, page = await deep_cursor(mongo_url, shop_id, deep_page)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as http:
        for label, cursor, number in [("first page", None, 1), (f"page {page}", deep, page)]:
            params = {"limit": PAGE, "cursor": cursor}
            _, body = await timed_get(http, params)  # warm-up
            if number == 1:
                assert body["next_cursor"] == second, "cursor encoding differs from the API's"
            times: list[float] = []
            started = time.monotonic()
            while len(times) < samples and (len(times) < 5 or time.monotonic() - started < cap_s):
                elapsed, body = await timed_get(http, params)
                times.append(elapsed)
            p50, p99 = quantiles(times)
            print(
                f"  GET /v1/jobs {label:<10} ({who}, limit {PAGE}, {len(body['data'])} rows): "
                f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   ({len(times)} requests)",
                flush=True,
            )
            where = "first page" if number == 1 else "deep page"
            report(
                "api",
                f"GET /v1/jobs {where}, {who}, p99",
                p99,
                "ms",
                higher_is_better=False,
                settings=settings + f"; deep page {page}",
            )


async def main() -> None:
    # aiokafka warns while a fresh broker elects leaders and coordinators; it retries.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2, help="items per job")
    parser.add_argument("--chunk", type=int, default=5_000, help="jobs per publish_many")
    parser.add_argument("--runs", type=int, default=1, help="projector runs (median)")
    parser.add_argument("--budget-s", type=float, default=300.0, help="per projector run")
    parser.add_argument("--deep-page", type=int, default=200)
    parser.add_argument("--samples", type=int, default=200, help="requests per latency figure")
    parser.add_argument("--cap-s", type=float, default=60.0, help="time cap per latency figure")
    parser.add_argument("--quick", action="store_true", help="5,000 jobs, short samples")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.budget_s, args.deep_page, args.samples, args.cap_s = 5_000, 60, 50, 20, 5
    load = os.getloadavg()[0]

    workdir = Path(tempfile.mkdtemp(prefix="api-bench-"))
    run_id = uuid.uuid4().hex[:6]
    work = Workload(
        jobs=args.jobs,
        items=args.items,
        run_id=run_id,
        start=datetime.now(UTC) - timedelta(seconds=args.jobs + 60),
    )
    print(f"machine: {machine()}")
    with infrastructure(workdir) as (bootstrap, mongo_base, servers):
        print(f"servers: {servers}")
        print(
            f"workload: {work.jobs:,} jobs x 3 events (+{work.accounts} accounts) = "
            f"{work.events:,} events; {work.items} items and 1 log line per job event; "
            f"{SHOPS} shops x {ACCOUNTS_PER_SHOP} accounts; 90% done, 7% error, 3% canceled"
        )
        print(
            f"settings: publish_many chunks of {args.chunk:,} jobs; projector batches of up "
            f"to 2000 records; {args.runs} projector run(s), budget {args.budget_s:.0f} s each"
        )
        await ensure_topics(bootstrap)
        await ensure_topics(bootstrap, OWN_TOPICS)
        offsets = await end_offsets(bootstrap)
        producer = make_producer(bootstrap, client_id="api-bench")
        await producer.start()
        publisher = EventPublisher(producer)
        try:
            print("publishing …", flush=True)
            seconds = await publish(publisher, work, args.chunk)
            print(f"published {work.events:,} events in {seconds:.1f} s")
            runs: list[ProjectorRun] = []
            mongo_url = ""
            for n in range(args.runs):
                mongo_url = database_url(mongo_base, f"api_bench_{run_id}_{n}")
                print(f"projector run {n + 1} into {mongo_url} …", flush=True)
                run = await project(
                    bootstrap, mongo_url, publisher, offsets, work.events, args.budget_s
                )
                runs.append(run)
                complete = "all" if run.jobs_in_db >= work.jobs else "NOT all (budget)"
                print(
                    f"  {run.applied:,} events in {run.seconds:.1f} s = {run.rate:,.0f} "
                    f"events/s ({run.wall:.1f} s wall incl. start); {run.jobs_in_db:,} jobs "
                    f"in MongoDB: {complete}",
                    flush=True,
                )
        finally:
            await producer.stop()
        rates = [r.rate for r in runs]
        print(
            f"projector throughput: median {statistics.median(rates):,.0f} events/s "
            f"over {len(runs)} run(s) {[round(r) for r in rates]}"
        )
        size = runs[-1].jobs_in_db
        settings = f"{size:,} jobs in MongoDB (FerretDB unless MONGO_URL), load {load:.1f}"
        report(
            "api",
            "projector",
            statistics.median(rates),
            "events/s",
            settings=settings + f"; median of {len(runs)}",
        )
        print(f"HTTP latency on {size:,} jobs ({mongo_url}), one request at a time:")
        async with api_process(bootstrap, mongo_url, workdir, work.shop(0)) as url:
            for key, shop in ((ADMIN_KEY, None), (SHOP_KEY, work.shop(0))):
                await latency(
                    url, mongo_url, key, shop, args.deep_page, args.samples, args.cap_s, settings
                )
    print(f"work files: {workdir}")


if __name__ == "__main__":
    asyncio.run(main())
