"""What the intake and ingest benchmarks share: a broker of their own for each run, one
submitter alone on it, and the moment it has decided everything it was given.

A run is isolated: a fresh broker (so a new submitter restores nothing of an earlier run
and reads only this run's inbound messages), messages published before the submitter
starts, then one ``python -m services.submitter`` process. The clock starts when the
submitter is ready (every partition restored, by its own log: its health endpoint shares
its busy event loop and answers late) and stops at the timestamp of the last output
record the decisions wrote (the submitter's clock too), so reading the output costs the
measured process nothing: it is read once, after the submitter has committed every
inbound offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from devtools.infra import KafkaServer, free_port, provision_missing
from devtools.stack import Stack
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import (
    COMPRESSION,
    MAX_REQUEST_BYTES,
    EventPublisher,
    make_producer,
)
from shared.topics import ALL_TOPICS, BY_NAME, TopicSpec


@dataclass(frozen=True)
class RawRecord:
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


@dataclass
class Bus:
    """A broker of one run's own, with every topic, a publisher on it (the services'
    producer) and a producer for bulk loads."""

    bootstrap: str
    publisher: EventPublisher
    bulk: AIOKafkaProducer
    workdir: Path

    async def publish_raw(self, topic: TopicSpec, records: Iterable[tuple[str, bytes]]) -> int:
        """Send encoded values keyed as given, all in flight at once; the count sent."""
        producer = self.bulk
        sent = [
            await producer.send(topic.name, value, key=key.encode("utf-8"))
            for key, value in records
        ]
        await asyncio.gather(*sent)
        return len(sent)


@contextlib.asynccontextmanager
async def own_bus(workdir: Path, heap_mb: int = 768) -> AsyncIterator[Bus]:
    provision_missing()
    server = KafkaServer(free_port(), workdir / "kafka", heap_mb=heap_mb)
    await asyncio.to_thread(server.start)
    try:
        await ensure_topics(server.bootstrap_servers)
        await _settled(server.bootstrap_servers)
        producer = make_producer(server.bootstrap_servers, "bench")
        # Loading happens before the clock starts; large batches make it quick (aiokafka
        # keeps one batch per partition open, 16 KiB by default).
        bulk = AIOKafkaProducer(
            bootstrap_servers=server.bootstrap_servers,
            client_id="bench-bulk",
            linger_ms=20,
            max_batch_size=1024 * 1024,
            compression_type=COMPRESSION,
            max_request_size=MAX_REQUEST_BYTES,
        )
        await producer.start()
        await bulk.start()
        try:
            yield Bus(server.bootstrap_servers, EventPublisher(producer), bulk, workdir)
        finally:
            await bulk.stop()
            await producer.stop()
    finally:
        await asyncio.to_thread(server.stop)


GROUP = "bench-submitter"


async def _settled(bootstrap: str, timeout_s: float = 60.0) -> None:
    """Until every partition has a leader and the group coordinator answers: a new
    broker creates both lazily, and the run should not measure that."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                described = await admin.describe_topics([t.name for t in ALL_TOPICS])
                leaders = [p["leader"] for t in described for p in t["partitions"]]
                if len(described) == len(ALL_TOPICS) and all(lead >= 0 for lead in leaders):
                    break
                await asyncio.sleep(0.2)
            while True:
                try:
                    await admin.list_consumer_group_offsets(GROUP)
                    return
                except KafkaError:
                    await asyncio.sleep(0.2)
    finally:
        await admin.close()


def lone_submitter(bus: Bus, **env: str) -> tuple[Stack, str]:
    """A stack of one submitter (not started) and the URL of its ``/readyz``."""
    health = free_port()
    stack = Stack(
        bootstrap=bus.bootstrap,
        mongo_url="mongodb://127.0.0.1:9/unused",
        workdir=bus.workdir / "stack",
        extra_env={
            "SUBMITTER_CONSUMER_GROUP": GROUP,
            "HEALTH_PORT": str(health),
            "AMAZON_JOBS_LOG_LEVEL": "INFO",  # as deployed; says when partitions are ready
            **env,
        },
    )
    return stack, f"http://127.0.0.1:{health}/readyz"


def _partitions(metrics: str, state: str) -> float:
    """``worker_partitions`` of one state, from the Prometheus text of /metrics."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("worker_partitions{") and f'state="{state}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def _ready_in_log(log: Path) -> float | None:
    """When the last partition became ready, by the submitter's log (wall clock)."""
    latest = None
    for line in log.read_text(errors="replace").splitlines():
        if '"partition ready"' in line:
            at = datetime.fromisoformat(json.loads(line)["ts"]).timestamp()
            latest = at if latest is None else max(latest, at)
    return latest


async def wait_ready(stack: Stack, url: str, timeout_s: float = 120.0) -> float:
    """Once the submitter is ready (``/readyz`` answers 200 and its partitions are
    restored: ``/readyz`` alone answers 200 for a moment at start, before the consumer
    has registered its check), the wall-clock time at which it became ready."""
    process = stack.services["submitter"]
    metrics_url = url.rsplit("/", 1)[0] + "/metrics"
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5.0) as http:
        while time.monotonic() < deadline:
            if not process.alive():
                raise RuntimeError(f"the submitter exited:\n{process.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    seen = time.time()
                    metrics = (await http.get(metrics_url)).text
                    if _partitions(metrics, "ready") and not _partitions(metrics, "restoring"):
                        logged = _ready_in_log(process.log_path)
                        return min(seen, logged) if logged is not None else seen
            await asyncio.sleep(0.01)
    raise TimeoutError(f"the submitter was not ready after {timeout_s}s:\n{process.log_tail()}")


async def end_offsets(bootstrap: str, topic: TopicSpec) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic.name, p) for p in range(topic.partitions)]
        return {tp.partition: end for tp, end in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def wait_committed(
    bootstrap: str, topic: TopicSpec, stack: Stack, timeout_s: float, group: str = GROUP
) -> None:
    """Until the submitter's group has committed every offset of ``topic`` up to its end
    (it commits an inbound message only once what it decided of it is written)."""
    ends = {p: end for p, end in (await end_offsets(bootstrap, topic)).items() if end}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    process = stack.services["submitter"]
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not process.alive():
                raise RuntimeError(f"the submitter exited:\n{process.log_tail()}")
            try:
                committed = await admin.list_consumer_group_offsets(group)
            except KafkaError:  # the offsets topic is created on the group's first use
                await asyncio.sleep(0.5)
                continue
            have = {tp.partition: o.offset for tp, o in committed.items() if tp.topic == topic.name}
            if all(have.get(p, -1) >= end for p, end in ends.items()):
                return
            await asyncio.sleep(0.5)
    finally:
        await admin.close()
    raise TimeoutError(f"{topic.name} not committed to its end after {timeout_s}s")


async def read_raw(bootstrap: str, topic: str) -> list[RawRecord]:
    """Every record of ``topic`` now, undecoded, partition by partition in offset order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(BY_NAME[topic].partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        found: list[RawRecord] = []
        while pending:
            batches = await consumer.getmany(timeout_ms=500, max_records=20_000)
            for tp, records in batches.items():
                for rec in records:
                    found.append(
                        RawRecord(tp.partition, rec.offset, rec.timestamp, rec.key, rec.value)
                    )
                    if rec.offset + 1 >= ends[tp]:
                        pending.discard(tp)
        return found
    finally:
        await consumer.stop()
