"""What the intake and ingest benchmarks share: one submitter alone on a broker of the
run's own (devtools/own_broker.py), and the moment it has decided everything it was given.

Messages are published before the submitter starts, then one
``python -m services.submitter`` process. The clock starts when the submitter is ready
(every partition restored, by its own log: its health endpoint shares its busy event
loop and answers late) and stops at the timestamp of the last output record the
decisions wrote (the submitter's clock too), so reading the output costs the measured
process nothing: it is read once, after the submitter has committed every inbound offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import datetime
from pathlib import Path

import httpx
from aiokafka.errors import KafkaError

from devtools.own_broker import Bus, end_offsets
from devtools.ports import free_port
from devtools.process_usage import CpuSampler
from devtools.stack import Stack
from shared.kafka.clients import new_admin
from shared.topics import TopicSpec

GROUP = "bench-submitter"


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


def _ready_in_log(log: Path) -> float | None:
    """When the last partition became ready, by the submitter's log (wall clock)."""
    latest = None
    for line in log.read_text(errors="replace").splitlines():
        if '"partition ready"' in line:
            at = datetime.fromisoformat(json.loads(line)["ts"]).timestamp()
            latest = at if latest is None else max(latest, at)
    return latest


async def wait_ready(stack: Stack, url: str, timeout_s: float = 120.0) -> float:
    """Once the submitter's ``/readyz`` answers 200, the wall-clock time at which it
    became ready: by its log when it says so (the endpoint shares the submitter's busy
    event loop and may answer late), else now."""
    process = stack.services["submitter"]
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5.0) as http:
        while time.monotonic() < deadline:
            if not process.alive():
                raise RuntimeError(f"the submitter exited:\n{process.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    seen = time.time()
                    logged = _ready_in_log(process.log_path)
                    return min(seen, logged) if logged is not None else seen
            await asyncio.sleep(0.01)
    raise TimeoutError(f"the submitter was not ready after {timeout_s}s:\n{process.log_tail()}")


async def run_lone_submitter(
    bus: Bus, topic: TopicSpec, timeout_s: float, **env: str
) -> tuple[float, CpuSampler]:
    """Start one submitter on ``bus`` and wait until it has committed all of ``topic``:
    the wall-clock time it became ready, and its CPU sampled over the run."""
    stack, ready_url = lone_submitter(bus, **env)
    stack.start(["submitter"])
    process = stack.services["submitter"]
    assert process.proc is not None
    cpu = CpuSampler(process.proc.pid)
    cpu.start()
    try:
        ready_at = await wait_ready(stack, ready_url)
        await wait_committed(bus.bootstrap, topic, stack, timeout_s=timeout_s)
    finally:
        await cpu.stop()
        stack.stop()
    return ready_at, cpu


async def wait_committed(
    bootstrap: str, topic: TopicSpec, stack: Stack, timeout_s: float, group: str = GROUP
) -> None:
    """Until the submitter's group has committed every offset of ``topic`` up to its end
    (it commits an inbound message only once what it decided of it is written)."""
    ends = {p: end for p, end in (await end_offsets(bootstrap, topic)).items() if end}
    admin = new_admin(bootstrap_servers=bootstrap)
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
