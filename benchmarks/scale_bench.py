"""Jobs per minute with 1, 2 and 3 instances of each job-driving worker, Amazon 300 ms away.

Every call to the sandbox (SP-API, LWA, document URLs) waits ``--latency-ms`` (300) real
milliseconds before it is answered, as over a network; quotas are lifted at the sandbox
and at the throttle, so what one instance can do is bounded by the calls it keeps in
flight and by its CPU, not by Amazon. Scaling out must add what one instance can do.

One sandbox and one throttle run throughout; ``--sellers`` (12) sellers and their
accounts. For n = 1, 2, 3: n submitters, n pollers and n appliers start on consumer groups
of their own (committed at the ends of their topics, so nothing earlier is read); once
every instance is ready (devtools/worker_probe.py: they share the 12 partitions of each
topic), a warm-up job per partition runs (LWA tokens, connections), then ``--jobs``
update_qty jobs of 10 SKUs each are published at once (job ids spread them over every
partition, sellers take turns). The figure is the steady rate: jobs finished between the
first and the last decile of JobDone arrivals, per minute. The end-to-end rate (all jobs
over publish-to-last-done) and the CPU each service took while it ran are printed too.

Usage: python benchmarks/scale_bench.py [--jobs 600] [--latency-ms 300] [--quick]
(--quick: 150 jobs). Always starts a Kafka of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.figures import report
from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.provision import provision_missing
from devtools.stack import SECRET_KEY, base_name
from devtools.worker_probe import ProbedStack, commit_to_end, load_average
from devtools.world import LIFTED_SANDBOX_QUOTAS
from shared.codec import decode, encode
from shared.crypto import seal_credentials
from shared.events import AccountRegistered, Event, JobEvent, JobLogged, JobRequested
from shared.jobs import JobType
from shared.kafka.admin import ensure_topics
from shared.kafka.partitions import partition_for
from shared.spapi.auth import LwaCredentials
from shared.topics import ACCOUNTS, CATALOG_EVENTS, JOB_EVENTS, JOB_REQUESTS, TopicSpec

BENCH = "scale"
WORKERS: dict[str, list[TopicSpec]] = {  # worker -> the topics its group consumes
    "submitter": [JOB_EVENTS, JOB_REQUESTS, CATALOG_EVENTS],
    "poller": [JOB_EVENTS],
    "applier": [JOB_EVENTS],
}
INSTANCES = (1, 2, 3)
GOALS = {2: 1.7, 3: 2.4}  # jobs/min with n instances over jobs/min with one, at least
MARKETPLACE = "A1PA6795UKMFR9"
SKUS_PER_JOB = 10
TIME_SCALE = 600.0  # an Amazon hour in 6 s: feeds are processed in ~10 ms
_TERMINAL = (b'"JobDone"', b'"JobFailed"', b'"JobCanceled"')
# The stages a job passes, by the event that marks each: where a run's time goes.
STAGES = {"submitted": b'"JobSubmitted"', "result ready": b'"JobResultReady"'}


@dataclass(frozen=True)
class Seller:
    n: int

    @property
    def seller_id(self) -> str:
        return f"ASCALE{self.n:06d}"

    @property
    def account_id(self) -> str:
        return f"acc-scale-{self.n}"

    @property
    def shop_id(self) -> str:
        return f"shop-scale-{self.n}"

    @property
    def refresh_token(self) -> str:
        return f"Atzr|scale-{self.n}"

    def sku(self, k: int) -> str:
        return f"S{self.n}-SKU-{k}"

    def asin(self, k: int) -> str:
        return f"B0S{self.n:03d}{k:04d}"

    def sandbox_payload(self) -> dict[str, Any]:
        return {
            "seller_id": self.seller_id,
            "refresh_token": self.refresh_token,
            "marketplace_ids": [MARKETPLACE],
            "catalog": [
                {"asin": self.asin(k), "title": f"Product {k}"} for k in range(SKUS_PER_JOB)
            ],
            "listings": [
                {
                    "sku": self.sku(k),
                    "asin": self.asin(k),
                    "quantity": 10,
                    "price": 20.0,
                    "currency": "EUR",
                }
                for k in range(SKUS_PER_JOB)
            ],
            "quotas": LIFTED_SANDBOX_QUOTAS,
        }

    def account(self) -> AccountRegistered:
        credentials = LwaCredentials(
            client_id="amzn1.application-oa2-client.bench",
            client_secret="bench-client-secret",
            refresh_token=self.refresh_token,
            seller_id=self.seller_id,
        )
        return AccountRegistered(
            account_id=self.account_id,
            shop_id=self.shop_id,
            name=f"Scale shop {self.n}",
            seller_id=self.seller_id,
            region="EU",
            marketplace_ids=[MARKETPLACE],
            credentials=seal_credentials(SECRET_KEY, credentials, account_id=self.account_id),
        )

    def request(self, job_id: str, quantity: int) -> JobRequested:
        return JobRequested(
            job_id=job_id,
            shop_id=self.shop_id,
            account_id=self.account_id,
            job_type=JobType.UPDATE_QTY,
            items=[{"sku": self.sku(k), "quantity": quantity} for k in range(SKUS_PER_JOB)],
        )


async def publish(producer: AIOKafkaProducer, records: list[tuple[TopicSpec, str, Event]]) -> None:
    sent = [
        await producer.send(topic.name, encode(event), key=key.encode())
        for topic, key, event in records
    ]
    await asyncio.gather(*sent)


class Finishes:
    """Watches amazon.job-events from its end now: when each job of a set ended."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.ended: dict[str, float] = {}  # job id -> monotonic instant of its last event
        self.stages: dict[str, dict[str, float]] = {stage: {} for stage in STAGES}
        self.failed: set[str] = set()  # ended otherwise than done
        self.started_at: dict[TopicPartition, int] = {}  # the offsets watched from
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        tps = [TopicPartition(JOB_EVENTS.name, p) for p in range(JOB_EVENTS.partitions)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_end(*tps)
        for tp in tps:  # positions fixed before anything is published
            self.started_at[tp] = await self.consumer.position(tp)
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            now = time.monotonic()
            for records in batches.values():
                for rec in records:
                    # The event type is near the head: no need to decode every event.
                    head = rec.value[:120] if rec.value is not None else b""
                    if rec.key is None:
                        continue
                    if any(t in head for t in _TERMINAL):
                        self.ended.setdefault(rec.key.decode(), now)
                        if b'"JobDone"' not in head:
                            self.failed.add(rec.key.decode())
                    for stage, marker in STAGES.items():
                        if marker in head:
                            self.stages[stage].setdefault(rec.key.decode(), now)

    async def wait(self, job_ids: set[str], timeout_s: float) -> list[float]:
        """The instants the jobs ended, in order, once all have."""
        deadline = time.monotonic() + timeout_s
        while not job_ids <= self.ended.keys():
            if time.monotonic() > deadline:
                missing = len(job_ids - self.ended.keys())
                raise RuntimeError(f"{missing} of {len(job_ids)} jobs not finished in time")
            await asyncio.sleep(0.1)
        return sorted(self.ended[j] for j in job_ids)

    def stage_rates(self, job_ids: set[str]) -> dict[str, float]:
        """Jobs per minute through each stage (steady rate, as for the finished ones)."""
        return {
            stage: steady_rate(sorted(at[j] for j in job_ids if j in at))
            for stage, at in self.stages.items()
        }

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.consumer.stop()


# A job's steps, each from the event that ends the one before to the event that ends it:
# JobCreated is written at intake, JobProcessing once the quota token is granted, the
# "sending" JobLogged once the feed document is uploaded.
STEPS = (
    ("token", "JobCreated", "JobProcessing"),
    ("upload", "JobProcessing", "sending"),
    ("createFeed", "sending", "JobSubmitted"),
    ("poll", "JobSubmitted", "JobResultReady"),
    ("apply", "JobResultReady", "JobDone"),
)


async def step_times(
    bootstrap: str, since: dict[TopicPartition, int], job_ids: set[str]
) -> dict[str, tuple[float, float]]:
    """Median and 90th percentile seconds of each step of these jobs, from the
    ``occurred_at`` of their events (one clock: every service runs on this machine)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    at: dict[str, dict[str, datetime]] = {j: {} for j in job_ids}
    try:
        reader.assign(list(since))
        for tp, offset in since.items():
            reader.seek(tp, offset)
        ends = await reader.end_offsets(list(since))
        pending = {tp for tp in since if ends[tp] > since[tp]}
        while pending:
            for tp, records in (await reader.getmany(*pending, timeout_ms=500)).items():
                for rec in records:
                    if rec.offset + 1 >= ends[tp]:
                        pending.discard(tp)
                    if rec.key is None or rec.key.decode() not in at:
                        continue
                    event = decode(rec.value)
                    if not isinstance(event, JobEvent):
                        continue
                    sending = isinstance(event, JobLogged) and event.data.sending
                    name = "sending" if sending else event.event_type
                    at[event.job_id].setdefault(name, event.occurred_at)
    finally:
        await reader.stop()
    found: dict[str, tuple[float, float]] = {}
    for step, begin, end in STEPS:
        spans = sorted(
            (times[end] - times[begin]).total_seconds()
            for times in at.values()
            if begin in times and end in times
        )
        if spans:
            found[step] = (statistics.median(spans), spans[int(len(spans) * 0.9)])
    return found


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def cpu_by_service(stack: ProbedStack) -> dict[str, float]:
    used: dict[str, float] = {}
    for name, service in stack.services.items():
        if service.alive() and service.proc is not None:
            key = base_name(name)
            used[key] = used.get(key, 0.0) + cpu_seconds(service.proc.pid)
    return used


def steady_rate(instants: list[float]) -> float:
    """Per minute, between the first and the last decile of ``instants`` (sorted)."""
    first, last = len(instants) // 10, len(instants) - 1 - len(instants) // 10
    if last <= first or instants[last] <= instants[first]:
        return 0.0
    return (last - first) / (instants[last] - instants[first]) * 60


@dataclass
class Result:
    instances: int
    steady_per_min: float
    end_to_end_per_min: float
    cpu: dict[str, float]  # cores each service used while the jobs ran
    seconds: float
    stages: dict[str, float]  # jobs/min through each stage before the last
    machine_busy: float  # share of the machine's CPU busy (anyone's) while the jobs ran
    steps: dict[str, tuple[float, float]]  # median and p90 seconds of each step of a job
    failed: int  # jobs that ended in error or canceled


def job_ids_spread(prefix: str, count: int) -> Iterator[str]:
    """Job ids that take the partitions in turn (one per partition, then again)."""
    wanted = 0
    n = 0
    while count:
        candidate = f"{prefix}-{n}"
        n += 1
        if partition_for(candidate, JOB_REQUESTS.partitions) == wanted:
            yield candidate
            wanted = (wanted + 1) % JOB_REQUESTS.partitions
            count -= 1


async def run_with(
    stack: ProbedStack,
    bootstrap: str,
    producer: AIOKafkaProducer,
    sellers: list[Seller],
    instances: int,
    jobs: int,
) -> Result:
    run = f"{instances}x{uuid.uuid4().hex[:6]}"
    groups = {w: f"scale-{w}-{run}" for w in WORKERS}
    for worker, topics in WORKERS.items():
        await commit_to_end(bootstrap, groups[worker], topics)
    stack.extra_env = {
        **stack.extra_env,
        **{f"{w.upper()}_CONSUMER_GROUP": g for w, g in groups.items()},
    }
    for worker in WORKERS:
        stack.scale(worker, instances)
    names = [n for n in stack.services if base_name(n) in WORKERS and stack.services[n].alive()]
    started = time.monotonic()
    stack.wait_ready(names)
    print(
        f"  {len(names)} worker instances ready in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    finishes = Finishes(bootstrap)
    await finishes.start()
    try:
        warm = list(job_ids_spread(f"warm-{run}", JOB_REQUESTS.partitions))
        await publish(
            producer,
            [
                (JOB_REQUESTS, j, sellers[i % len(sellers)].request(j, i))
                for i, j in enumerate(warm)
            ],
        )
        await finishes.wait(set(warm), timeout_s=300)
        ids = list(job_ids_spread(f"job-{run}", jobs))
        # Sellers take turns independently of the partitions the ids take in turn.
        turns = random.Random(instances)
        requests = [turns.choice(sellers).request(j, i % 50) for i, j in enumerate(ids)]
        cpu_before = cpu_by_service(stack)
        busy_before = machine_busy()
        published = time.monotonic()
        await publish(producer, [(JOB_REQUESTS, r.job_id, r) for r in requests])
        ended = await finishes.wait(set(ids), timeout_s=max(600.0, jobs * 2.0))
        elapsed = ended[-1] - published
        cpu_after = cpu_by_service(stack)
        busy_after = machine_busy()
        stages = finishes.stage_rates(set(ids))
        failed = len(finishes.failed & set(ids))
        steps = await step_times(bootstrap, finishes.started_at, set(ids))
    finally:
        await finishes.stop()
    cpu = {k: (cpu_after.get(k, 0.0) - v) / elapsed for k, v in cpu_before.items()}
    busy = (busy_after[0] - busy_before[0]) / max(1, busy_after[1] - busy_before[1])
    return Result(
        instances,
        steady_rate(ended),
        len(ended) / elapsed * 60,
        cpu,
        elapsed,
        stages,
        busy,
        steps,
        failed,
    )


def stop_workers(stack: ProbedStack) -> None:
    for name, service in stack.services.items():
        if base_name(name) in WORKERS:
            service.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=600)
    parser.add_argument("--sellers", type=int, default=12)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="150 jobs")
    args = parser.parse_args()
    jobs = 150 if args.quick else args.jobs
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # retried warnings
    workdir = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    provision_missing()
    server = KafkaServer(free_port(), workdir / "kafka")
    server.start()
    bootstrap = server.bootstrap_servers
    stack = ProbedStack(
        bootstrap=bootstrap,
        mongo_url="mongodb://127.0.0.1:9/unused",
        workdir=workdir / "services",
        time_scale=TIME_SCALE,
        extra_env={
            "AMAZON_JOBS_LOG_LEVEL": "WARNING",
            "THROTTLE_LIFT_QUOTAS": "true",
            "THROTTLE_CONSUMER_GROUP": f"scale-throttle-{uuid.uuid4().hex[:6]}",
            "SANDBOX_LATENCY_MS": str(args.latency_ms),
            "SANDBOX_FEED_QUEUE_S": "3",
            "SANDBOX_FEED_PROCESSING_S": "3",
            # Token and URL lifetimes stay an hour and five minutes of real time.
            "SANDBOX_ACCESS_TOKEN_TTL_S": str(3600 * TIME_SCALE),
            "SANDBOX_DOCUMENT_URL_TTL_S": str(300 * TIME_SCALE),
            "SUBMITTER_COALESCE_WINDOW_S": "0",
        },
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    results: list[Result] = []
    try:
        await ensure_topics(bootstrap)
        await producer.start()
        sellers = [Seller(n) for n in range(args.sellers)]
        stack.start(["amazon_sandbox"])
        async with httpx.AsyncClient() as http:
            for seller in sellers:
                url = f"{stack.sandbox_url}/_sandbox/sellers"
                (await http.post(url, json=seller.sandbox_payload())).raise_for_status()
        await publish(producer, [(ACCOUNTS, s.account_id, s.account()) for s in sellers])
        stack.start(["throttle"])
        print(
            f"{jobs} update_qty jobs of {SKUS_PER_JOB} SKUs over {len(sellers)} sellers, every "
            f"Amazon call {args.latency_ms:.0f} ms, quotas lifted; load {load_average()}",
            flush=True,
        )
        for n in INSTANCES:
            print(f"\n{n} instance(s) of each worker:", flush=True)
            result = await run_with(stack, bootstrap, producer, sellers, n, jobs)
            results.append(result)
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in sorted(result.cpu.items()))
            stages = ", ".join(f"{k} {v:,.0f}" for k, v in result.stages.items())
            print(
                f"  {result.steady_per_min:,.0f} jobs/min steady ({stages}), "
                f"{result.end_to_end_per_min:,.0f} end to end ({result.seconds:.1f} s); "
                f"CPU cores used: {cpu}; machine CPU {result.machine_busy:.0%} busy; "
                f"load {load_average()}",
                flush=True,
            )
            print(
                "  seconds per step (median/p90): "
                + ", ".join(f"{k} {m:.2f}/{p:.2f}" for k, (m, p) in result.steps.items()),
                flush=True,
            )
            if result.failed:
                print(f"  {result.failed} jobs did not end done: see the logs", flush=True)
            stop_workers(stack)
    finally:
        await producer.stop()
        stack.stop()
        server.stop()
        shutil.rmtree(server.storage_dir, ignore_errors=True)  # keep the logs only
    settings = (
        f"{jobs} jobs x {SKUS_PER_JOB} SKUs, {len(sellers)} sellers, {args.latency_ms:.0f} ms "
        f"a call, quotas lifted, 1 throttle; load {load_average()}"
    )
    one = results[0].steady_per_min
    for result in results:
        many = "instance" if result.instances == 1 else "instances"
        report(
            BENCH,
            f"jobs/min, {result.instances} {many}",
            result.steady_per_min,
            "jobs/min",
            settings=settings,
        )
    for result in results[1:]:
        report(
            BENCH,
            f"{result.instances} instances / 1",
            result.steady_per_min / one,
            "x",
            goal=GOALS[result.instances],
            settings=settings,
        )
    print(f"(service logs in {workdir / 'services'})")


if __name__ == "__main__":
    asyncio.run(main())
