"""Restart-to-ready time and memory of the job-driving workers against the size of history.

A worker's state is bounded by its live jobs (docs/design.md §14): on assignment it reads
its compacted stores, then ``amazon.job-events`` from its group's committed offset. So a
restart should take as long, and as much memory, with a million finished jobs behind it
as with ten thousand. This benchmark checks that:

1. History: for each size, a Kafka of its own holding N finished jobs on
   ``amazon.job-events``, each the six events of an ``update_qty`` job that went all the
   way (JobReserved, JobCreated, JobProcessing, JobSubmitted, JobResultReady, JobDone),
   published from byte templates in large zstd batches. The workers' state is then what
   running through that history would have left once compaction has done its work: each
   group's offsets committed at the end of the topic, the workers' changelogs holding no
   finished job, and the submitter's job id registry holding every job id (written with
   ``shared.job_ids``, as its checkpoints do, and compacted: deltas merged into segments
   are gone).
2. For each worker (submitter, poller, applier) and each history in turn (the order
   reversed every other run, so the machine's other load weighs on both alike): start
   ``python -m services.<worker>``, time until it is ready (devtools/worker_probe.py:
   ``/readyz`` and every owned partition restored; one instance owns all 12), read its
   resident memory (VmRSS, and VmHWM: the peak), stop it (SIGTERM). ``--runs`` times;
   medians. Each start's phases are read from the worker's log (imports, runtime start,
   joining and restoring) to show where the time goes.
3. After the submitter's last run on each history one old job id is requested again, and
   the submitter must call it a repeat (its registry was restored, not skipped).

The API's projector is not measured: its state is MongoDB itself and a restart resumes
from its committed offsets, and projecting a million-job history into FerretDB first
would take longer than the whole benchmark (benchmarks/api_bench.py measures the
projector's throughput).

Usage: python benchmarks/restart_bench.py [--sizes 10000,1000000] [--runs 5] [--quick]
(--quick: 10,000 and 100,000 jobs, one run). Always starts Kafkas of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.figures import report
from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.process_usage import memory
from devtools.provision import provision_missing
from devtools.worker_probe import ProbedStack, commit_to_end, load_average, metric
from shared.codec import decode, encode
from shared.events import (
    ItemState,
    JobCreated,
    JobDone,
    JobEvent,
    JobProcessing,
    JobRequested,
    JobReserved,
    JobResultReady,
    JobSubmitted,
    LogLine,
)
from shared.job_ids import PartitionIds
from shared.jobs import JobStatus, JobType
from shared.kafka.admin import ensure_topics
from shared.kafka.partitions import partition_for
from shared.live_jobs import LiveJobs
from shared.topics import (
    CATALOG_EVENTS,
    JOB_EVENTS,
    JOB_REQUESTS,
    SUBMITTER_JOB_IDS,
    TopicSpec,
)

BENCH = "restart"
WORKERS: dict[str, list[TopicSpec]] = {  # worker -> the topics its group consumes
    "submitter": [JOB_EVENTS, JOB_REQUESTS, CATALOG_EVENTS],
    "poller": [JOB_EVENTS],
    "applier": [JOB_EVENTS],
}
SHOPS = 50
RATIO_GOAL = 1.2  # restart time with the large history over the small one, at most

# Placeholders in the templates: fixed widths, so the bytes are replaced, not re-encoded.
_JOB = b"JJJJJJJJJJ"  # ten digits of the job number
_SHOP = b"QQ"  # two digits of the shop number
_EVENT_ID = "00000000-0000-4000-8000-000000000000"


def job_id(n: int) -> str:
    return f"hist-{n:010d}"


def shop_id(n: int) -> str:
    return f"hist-shop-{n % SHOPS:02d}"


def label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def job_templates() -> list[bytes]:
    """One finished update_qty job, event by event, with placeholders."""
    common: dict[str, Any] = {
        "event_id": uuid.UUID(_EVENT_ID),
        "job_id": job_id(0).replace("0000000000", _JOB.decode()),
        "shop_id": "hist-shop-" + _SHOP.decode(),
        "account_id": "hist-acc-" + _SHOP.decode(),
        "job_type": JobType.UPDATE_QTY,
    }
    item = ItemState(key="SKU-1", request={"sku": "SKU-1", "quantity": 3}, before=None)
    events: list[JobEvent] = [
        JobReserved(
            seq=1,
            status=JobStatus.RESERVED,
            items=[item],
            data={"marketplace_id": "A1PA6795UKMFR9", "automatic": False, "listings_marked": True},
            log=[LogLine(message="job received with 1 item(s)")],
            **common,
        ),
        JobCreated(
            seq=2,
            status=JobStatus.CREATED,
            log=[LogLine(message="queued for a feed_submit quota token")],
            **common,
        ),
        JobProcessing(seq=3, status=JobStatus.PROCESSING, **common),
        JobSubmitted(
            seq=4,
            status=JobStatus.WAITING_FOR_RESULT,
            data={"feed_id": "50012345678", "input_document_id": "amzn1.tortuga.4.eu.in"},
            log=[LogLine(message="feed 50012345678 submitted")],
            **common,
        ),
        JobResultReady(
            seq=4,
            status=JobStatus.WAITING_FOR_RESULT,
            data={"result_document_id": "amzn1.tortuga.4.eu.out"},
            **common,
        ),
        JobDone(
            seq=5,
            status=JobStatus.DONE,
            items=[item.model_copy(update={"status": "accepted"})],
            data={"accepted": 1},
            log=[LogLine(message="1 item(s) accepted")],
            **common,
        ),
    ]
    return [encode(e) for e in events]


def check_templates(templates: list[bytes]) -> None:
    """The templates fold, in a worker's book, into one job that is finished and gone."""
    for raw in templates:
        counts = (raw.count(_JOB), raw.count(_SHOP), raw.count(_EVENT_ID.encode()))
        assert counts == (1, 2, 1), f"placeholders in a template: {counts}"
    book = LiveJobs()
    state = None
    for offset, raw in enumerate(templates):
        event = decode(raw.replace(_JOB, b"0000000001").replace(_SHOP, b"01"))
        assert isinstance(event, JobEvent)
        state = book.record(0, event, offset)
    assert state is not None and state.status is JobStatus.DONE, state
    assert not book.states, "a finished job stays in the book"


class History:
    """Finished jobs on amazon.job-events and the submitter's registry of their ids."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.jobs = 0
        self.templates = job_templates()
        check_templates(self.templates)
        self.ids = {p: PartitionIds(p) for p in range(JOB_EVENTS.partitions)}
        self.events_per_job = len(self.templates)
        self._id_prefix = str(uuid.uuid4())[:24]  # event ids: this prefix, 12 hex digits

    async def grow_to(self, total: int) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            client_id="restart-bench-history",
            acks=1,
            linger_ms=200,
            compression_type="zstd",
            max_batch_size=1 << 20,
        )
        await producer.start()
        started = time.monotonic()
        first = self.jobs
        try:
            await self._publish(producer, first, total)
            await self._publish_registry(producer)
        finally:
            await producer.stop()
        seconds = time.monotonic() - started
        events = (total - first) * self.events_per_job
        print(
            f"  history: {total - first:,} jobs ({events:,} events) published in "
            f"{seconds:.1f} s ({events / seconds:,.0f} events/s); {total:,} jobs in all",
            flush=True,
        )

    async def _publish(self, producer: AIOKafkaProducer, first: int, total: int) -> None:
        batches: dict[int, Any] = {}
        sent: list[asyncio.Future[Any]] = []
        n_event = first * self.events_per_job
        for n in range(first, total):
            digits = f"{n:010d}".encode()
            shop = f"{n % SHOPS:02d}".encode()
            key = job_id(n)
            partition = partition_for(key, JOB_EVENTS.partitions)
            self.ids[partition].add(key, shop_id(n))
            for template in self.templates:
                value = (
                    template.replace(_JOB, digits)
                    .replace(_SHOP, shop)
                    .replace(_EVENT_ID.encode(), f"{self._id_prefix}{n_event:012x}".encode())
                )
                n_event += 1
                batch = batches.get(partition)
                if batch is None:
                    batch = batches[partition] = producer.create_batch()
                if batch.append(key=key.encode(), value=value, timestamp=None) is None:
                    sent.append(
                        await producer.send_batch(batch, JOB_EVENTS.name, partition=partition)
                    )
                    batch = batches[partition] = producer.create_batch()
                    batch.append(key=key.encode(), value=value, timestamp=None)
            if len(sent) >= 48:
                await asyncio.gather(*sent)
                sent = []
            self.jobs = n + 1
            if self.jobs % 200_000 == 0:
                print(f"    {self.jobs:,} jobs", flush=True)
        for partition, batch in batches.items():
            sent.append(await producer.send_batch(batch, JOB_EVENTS.name, partition=partition))
        await asyncio.gather(*sent)

    async def _publish_registry(self, producer: AIOKafkaProducer) -> None:
        """The registry as the submitter's checkpoints would have written it for these ids,
        once compacted: of the records one flush writes under a key, only the last."""
        sent = []
        for partition, ids in self.ids.items():
            for key, value in compacted(ids.flush()):
                sent.append(
                    await producer.send(
                        SUBMITTER_JOB_IDS.name,
                        encode(value) if value is not None else None,
                        key=key.encode(),
                        partition=partition,
                    )
                )
        await asyncio.gather(*sent)


def compacted(records: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The last record of each key, in the order they were last written (tombstones kept:
    they delete what an earlier flush wrote)."""
    last = {key: (n, value) for n, (key, value) in enumerate(records)}
    return [(key, value) for key, (_, value) in sorted(last.items(), key=lambda kv: kv[1][0])]


@dataclass
class Run:
    ready_s: float
    restore_s: float  # the worker's own worker_restore_seconds: stores and job events
    rss_mib: float
    peak_mib: float
    phases: dict[str, float]  # where ready_s went, from the worker's log


# Log lines that end the phases of a start (the last of each in the start's log).
PHASES = (
    ("imports", "service starting"),  # the interpreter and the service's modules
    ("runtime", "worker ready"),  # topics checked, producer, accounts read, health up
    ("join+restore", "partitions restored"),  # tails, group joined, partitions restored
)


def phases(log: Path, spawned_at: float, ready_at: float) -> dict[str, float]:
    """Seconds of each phase of the worker's last start (wall clock, from its JSON log)."""
    text = log.read_text(errors="replace")
    lines = text[text.rfind("===== start #") :].splitlines()[1:]
    seen: dict[str, float] = {}
    for line in lines:
        try:
            entry = json.loads(line)
            at = datetime.fromisoformat(entry["ts"]).timestamp()
        except (ValueError, KeyError, TypeError):
            continue
        seen[entry.get("msg", "")] = at
    found: dict[str, float] = {}
    before = spawned_at
    for name, message in PHASES:
        if message in seen:
            found[name] = seen[message] - before
            before = seen[message]
    found["seen ready"] = ready_at - before  # on_ready, /readyz and the probe's polling
    return found


def restart(stack: ProbedStack, worker: str) -> Run:
    """Start the worker, wait until it is ready, read its memory; leave it running."""
    spawned_at = time.time()
    started = time.monotonic()
    if worker in stack.services:
        stack.services[worker].start()
    else:
        stack.start([worker])
    ready = stack.wait_ready([worker])
    ready_at = spawned_at + (ready - started)
    mem = memory(stack.pid(worker))
    if mem is None:
        raise RuntimeError(f"cannot read the memory of {worker}")
    with httpx.Client(timeout=2.0) as client:
        restore = metric(client, stack.health_ports[worker], "worker_restore_seconds_sum")
    steps = phases(stack.services[worker].log_path, spawned_at, ready_at)
    return Run(ready - started, restore, mem.rss_mib, mem.peak_mib, steps)


def stop(stack: ProbedStack, worker: str) -> None:
    started = time.monotonic()
    code = stack.services[worker].stop()
    if code != 0:
        print(f"    {worker} stopped with exit code {code}", flush=True)
    elif time.monotonic() - started > 10:
        print(f"    {worker} took {time.monotonic() - started:.0f} s to stop", flush=True)


async def check_registry(stack: ProbedStack, history: History) -> None:
    """Request an old job again while the submitter runs: it must say 'repeat'."""
    port = stack.health_ports["submitter"]
    with httpx.Client(timeout=2.0) as client:
        before = metric(client, port, "submitter_requests_decided_total")
        n = history.jobs // 2
        request = JobRequested(
            job_id=job_id(n),
            shop_id=shop_id(n),
            account_id=f"hist-acc-{n % SHOPS:02d}",
            job_type=JobType.UPDATE_QTY,
            items=[{"sku": "SKU-1", "quantity": 4}],
        )
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                JOB_REQUESTS.name, encode(request), key=request.job_id.encode()
            )
        finally:
            await producer.stop()
        deadline = time.monotonic() + 60
        while metric(client, port, "submitter_requests_decided_total") <= before:
            if time.monotonic() > deadline:
                raise RuntimeError("the submitter decided nothing on a repeated request")
            await asyncio.sleep(0.1)
        repeats = metric(client, port, "submitter_requests_decided_total", outcome="repeat")
        if repeats < 1:
            raise RuntimeError(
                f"job {request.job_id} of the history was not recognised as a repeat: "
                "the job id registry was not restored"
            )
        print(f"  registry check: {request.job_id} recognised as a repeat", flush=True)


@dataclass
class Cluster:
    """A Kafka of its own holding one size of history, and the workers run against it."""

    size: int
    server: KafkaServer
    stack: ProbedStack
    history: History


async def prepare(size: int, workdir: Path, run_id: str) -> Cluster:
    print(f"\n{label(size)} finished jobs:", flush=True)
    server = KafkaServer(free_port(), workdir / f"kafka-{label(size)}")
    server.start()
    stack = ProbedStack(
        bootstrap=server.bootstrap_servers,
        mongo_url="mongodb://127.0.0.1:9/unused",
        workdir=workdir / f"services-{label(size)}",
        extra_env={
            **{f"{w.upper()}_CONSUMER_GROUP": f"restart-{w}-{run_id}" for w in WORKERS},
            "AMAZON_JOBS_LOG_LEVEL": "INFO",  # phases are read from the log lines
        },
    )
    cluster = Cluster(size, server, stack, History(server.bootstrap_servers))
    await ensure_topics(server.bootstrap_servers)
    await cluster.history.grow_to(size)
    for worker, topics in WORKERS.items():
        await commit_to_end(server.bootstrap_servers, group_of(stack, worker), topics)
    return cluster


async def measure(clusters: list[Cluster], runs: int) -> dict[int, dict[str, list[Run]]]:
    """Each worker restarted on each history in turn (the order reversed every other run),
    so that what else the machine does weighs on every size alike."""
    results: dict[int, dict[str, list[Run]]] = {c.size: {w: [] for w in WORKERS} for c in clusters}
    for n in range(runs):
        print(f"\nrun {n + 1} of {runs}:", flush=True)
        for worker in WORKERS:
            for cluster in clusters if n % 2 == 0 else clusters[::-1]:
                run = restart(cluster.stack, worker)
                results[cluster.size][worker].append(run)
                print(
                    f"  {worker} on {label(cluster.size)}: ready in {run.ready_s:.2f} s (restore "
                    f"{run.restore_s:.2f} s), RSS {run.rss_mib:.0f} MiB, peak "
                    f"{run.peak_mib:.0f} MiB; load {load_average()}\n    "
                    + ", ".join(f"{k} {v:.2f} s" for k, v in run.phases.items()),
                    flush=True,
                )
                if worker == "submitter" and n == runs - 1:
                    await check_registry(cluster.stack, cluster.history)
                stop(cluster.stack, worker)
    return results


def group_of(stack: ProbedStack, worker: str) -> str:
    return stack.extra_env[f"{worker.upper()}_CONSUMER_GROUP"]


def median(runs: list[Run], field: str) -> float:
    return statistics.median(float(getattr(r, field)) for r in runs)


def report_all(sizes: list[int], results: dict[int, dict[str, list[Run]]], runs: int) -> None:
    small, large = sizes[0], sizes[-1]
    settings = (
        f"{runs} run(s) alternating, median; one instance owns 12 partitions; history of "
        f"finished 6-event update_qty jobs, groups committed at its end; load {load_average()}"
    )
    print(f"\nmedians ({runs} run(s) each):")
    for worker in WORKERS:
        for size in sizes:
            r = results[size][worker]
            print(
                f"  {worker:9} {label(size):>5} jobs: ready {median(r, 'ready_s'):6.2f} s, "
                f"restore {median(r, 'restore_s'):5.2f} s, RSS {median(r, 'rss_mib'):4.0f} MiB, "
                f"peak {median(r, 'peak_mib'):4.0f} MiB"
            )
    for worker in WORKERS:
        at_small = median(results[small][worker], "ready_s")
        at_large = median(results[large][worker], "ready_s")
        for size, seconds in ((small, at_small), (large, at_large)):
            report(
                BENCH,
                f"{worker} ready, {label(size)} jobs",
                seconds,
                "s",
                higher_is_better=False,
                settings=settings,
            )
        report(
            BENCH,
            f"{worker} ready {label(large)}/{label(small)}",
            at_large / at_small,
            "x",
            goal=RATIO_GOAL,
            higher_is_better=False,
            settings=settings,
        )
        # The part of a start that can grow with history (stores read, job events caught
        # up), by the worker's own clock: what the ready ratio shows without the noise of
        # interpreter starts on a busy machine.
        report(
            BENCH,
            f"{worker} restore {label(large)}/{label(small)}",
            median(results[large][worker], "restore_s")
            / median(results[small][worker], "restore_s"),
            "x",
            higher_is_better=False,
            settings=settings,
        )
        for size in (small, large):
            report(
                BENCH,
                f"{worker} peak RSS, {label(size)} jobs",
                median(results[size][worker], "peak_mib"),
                "MiB",
                higher_is_better=False,
                settings=settings,
            )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,1000000", help="finished jobs, ascending")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 jobs, one run")
    args = parser.parse_args()
    # aiokafka warns while a new topic's leaders and the group coordinator come up, and
    # retries; what it cannot recover from raises.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    sizes = [10_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    runs = 1 if args.quick else args.runs
    if sizes != sorted(sizes) or len(sizes) < 2:
        parser.error("--sizes: at least two, ascending")
    workdir = Path(tempfile.mkdtemp(prefix="restart-bench-"))
    provision_missing()
    run_id = uuid.uuid4().hex[:8]
    print(
        f"restart to ready with {', '.join(label(s) for s in sizes)} finished jobs in "
        f"history (a Kafka each), {runs} run(s) each; load {load_average()}",
        flush=True,
    )
    clusters: list[Cluster] = []
    try:
        for size in sizes:
            clusters.append(await prepare(size, workdir, run_id))
        results = await measure(clusters, runs)
        report_all(sizes, results, runs)
    finally:
        for cluster in clusters:
            cluster.stack.stop()
            cluster.server.stop()
            shutil.rmtree(cluster.server.storage_dir, ignore_errors=True)  # the history
    print(f"(service logs in {workdir})")


if __name__ == "__main__":
    asyncio.run(main())
