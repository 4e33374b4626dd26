"""Jobs of the size Amazon allows, end to end: time, largest message, memory per service.

A broker and a FerretDB of the run's own, and the whole system as separate processes
(devtools/stack.py: sandbox, throttle, submitter, poller, applier, api) at a stated
sandbox time scale. After a one-item warm-up job (every service is up and connected),
for each job type a seller with N listings at the sandbox gets one job of N items,
published as ``JobRequested`` parts (shared/chunking.py ``request_parts``) straight to
amazon.job-requests. Measured:

- request → done: from the first part's publishing to the job's ``JobDone`` on
  amazon.job-events (the broker timestamp of that record); then how long the API's
  projection took to show the job done with all its items;
- the largest message on any topic after the run (every record of every topic read
  back; goal: at most shared.limits.MAX_MESSAGE_BYTES, docs/design.md §10);
- each service's peak resident memory (VmHWM from /proc, read before it stops).

Usage: python benchmarks/large_bench.py [--items 25000]
    [--job-types update_qty_price,send_products] [--time-scale 600] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.ferretdb_server import FerretDBServer
from devtools.figures import report
from devtools.own_broker import Bus, own_bus
from devtools.ports import free_port
from devtools.process_usage import peak_rss_bytes
from devtools.provision import provision_missing
from devtools.stack import ADMIN_KEY, Stack
from devtools.topics_read import largest_message
from devtools.world import Seller, ean, open_shop
from shared.chunking import request_parts
from shared.jobs import JobType
from shared.limits import MAX_ITEMS, MAX_MESSAGE_BYTES
from shared.topics import JOB_EVENTS, JOB_REQUESTS

SERVICES = ["amazon_sandbox", "throttle", "submitter", "poller", "applier", "api"]
TERMINAL = {"JobDone", "JobFailed", "JobCanceled"}
MIB = 1024 * 1024
RSS_GOAL = 1024 * MIB  # a generous bound: a service holding a few jobs of 25,000 items


def items_for(job_type: JobType, seller: Seller, n: int) -> list[dict[str, Any]]:
    item: Callable[[int], dict[str, Any]]
    if job_type is JobType.SEND_PRODUCTS:

        def item(k: int) -> dict[str, Any]:
            return {
                "sku": seller.sku(k),
                "ean": ean(k),
                "quantity": 5,
                "price": "12.50",
                "currency": "EUR",
            }
    elif job_type is JobType.UPDATE_QTY_PRICE:

        def item(k: int) -> dict[str, Any]:
            return {"sku": seller.sku(k), "quantity": k % 100, "price": "9.90", "currency": "EUR"}
    else:
        raise ValueError(f"no items for {job_type.value} here")
    return [item(k) for k in range(n)]


async def terminal_event(
    bootstrap: str, job_id: str, timeout_s: float
) -> tuple[dict[str, Any], int]:
    """The job's terminal event and its record's timestamp (ms), read as it comes."""
    consumer = AIOKafkaConsumer(
        JOB_EVENTS.name,
        bootstrap_servers=bootstrap,
        group_id=f"large-bench-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * MIB,
    )
    await consumer.start()
    key = job_id.encode()
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for rec in records:
                        if rec.key != key or rec.value is None:
                            continue
                        event = json.loads(rec.value)
                        if event["event_type"] in TERMINAL:
                            return event, rec.timestamp
    finally:
        await consumer.stop()


async def projected(api_url: str, job_id: str, items: int, timeout_s: float) -> float | None:
    """Seconds until the API shows the job done with all its items; None (saying how far
    it got) after ``timeout_s``."""
    started = time.monotonic()
    job: dict[str, Any] = {}
    async with httpx.AsyncClient(
        base_url=api_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60
    ) as http:
        while time.monotonic() - started < timeout_s:
            answer = await http.get(f"/v1/jobs/{job_id}")
            if answer.status_code == 200:
                job = answer.json()
                if job["status"] == "done" and job["items"]["total"] == items:
                    return time.monotonic() - started
            await asyncio.sleep(0.5)
    print(
        f"    the API did not show it done within {timeout_s:.0f} s: status "
        f"{job.get('status')}, items {job.get('items')}",
        flush=True,
    )
    return None


async def one_job(
    bus: Bus, job_type: JobType, seller: Seller, items: int, timeout_s: float
) -> tuple[float, dict[str, Any]]:
    """(seconds from publishing the request to its JobDone, the terminal event)."""
    request = seller.request(job_type, items=items_for(job_type, seller, items))
    parts = request_parts(request)
    started = time.time()
    await bus.publisher.publish_many([(JOB_REQUESTS, p.job_id, p) for p in parts])
    event, at_ms = await terminal_event(bus.bootstrap, request.job_id, timeout_s)
    seconds = at_ms / 1000 - started
    if event["event_type"] != "JobDone":
        raise AssertionError(f"{job_type.value}: {event['event_type']}: {event.get('log')}")
    print(
        f"  {job_type.value}: {items:,} item(s) in {len(parts)} part(s): done "
        f"{seconds:.1f} s after the request; data {json.dumps(event.get('data'))}",
        flush=True,
    )
    return seconds, event


@contextlib.asynccontextmanager
async def mongo(workdir: Path) -> AsyncIterator[str]:
    provision_missing()
    server = FerretDBServer(free_port(), workdir / "ferretdb")
    await asyncio.to_thread(server.start)
    try:
        yield f"mongodb://127.0.0.1:{server.port}/amazon_jobs"
    finally:
        await asyncio.to_thread(server.stop)


async def main(argv: list[str] | None = None) -> None:
    # aiokafka warns while a fresh broker elects leaders and coordinators; it retries.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=MAX_ITEMS)
    parser.add_argument("--job-types", default="update_qty_price,send_products")
    parser.add_argument("--time-scale", type=float, default=600.0)
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="per job")
    parser.add_argument(
        "--projection-timeout-s",
        type=float,
        default=600.0,
        help="how long to wait for the API to show a done job's items",
    )
    parser.add_argument("--quick", action="store_true", help="one job of 10,000 items")
    args = parser.parse_args(argv)
    if args.quick:
        # 10,000: still a request in two parts
        args.items, args.job_types, args.projection_timeout_s = 10_000, "update_qty_price", 120
    job_types = [JobType(t) for t in args.job_types.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="large-bench-"))
    load_avg = os.getloadavg()[0]
    print(
        f"jobs of {args.items:,} items ({', '.join(t.value for t in job_types)}), every "
        f"service its own process, sandbox time scale {args.time_scale:g}",
        flush=True,
    )
    done: dict[JobType, float] = {}
    projection: dict[JobType, float] = {}
    peaks: dict[str, int | None] = {}
    async with own_bus(workdir) as bus, mongo(workdir) as mongo_url:
        stack = Stack(
            bootstrap=bus.bootstrap,
            mongo_url=mongo_url,
            workdir=workdir / "stack",
            time_scale=args.time_scale,
            extra_env={"SUBMITTER_COALESCE_WINDOW_S": "600", "AMAZON_JOBS_LOG_LEVEL": "INFO"},
        )
        stack.start(SERVICES)
        try:
            # Warm-up: one small job through every service, so none is still starting.
            small = Seller("warm", shop_id="shop-warm", catalog_size=5, listed=5, orders=0)
            await open_shop(stack.sandbox_url, bus.publisher, small)
            await one_job(bus, JobType.UPDATE_QTY_PRICE, small, 1, timeout_s=300)
            for job_type in job_types:
                seller = Seller(
                    f"big{job_type.value.replace('_', '')[:10]}",
                    shop_id=f"shop-big-{job_type.value}",
                    catalog_size=args.items,
                    listed=args.items,
                    orders=0,
                )
                await open_shop(stack.sandbox_url, bus.publisher, seller)
                # The submitter reads the account registry every second; a request for an
                # account it has not read yet waits for that read, which is not measured.
                await asyncio.sleep(2.0)
                seconds, event = await one_job(bus, job_type, seller, args.items, args.timeout_s)
                done[job_type] = seconds
                lag = await projected(
                    stack.api_url, event["job_id"], args.items, args.projection_timeout_s
                )
                if lag is not None:
                    projection[job_type] = lag
                    print(f"    the API showed it done with every item {lag:.1f} s later")
            for name, service in stack.services.items():
                assert service.proc is not None
                peaks[name] = peak_rss_bytes(service.proc.pid)
        except BaseException:
            print(stack.logs(), file=sys.stderr)
            raise
        finally:
            stack.stop()
        size, where = await largest_message(bus.bootstrap)
    print(f"  largest message on any topic: {size:,} bytes ({where})")
    print(
        "  peak RSS: "
        + ", ".join(f"{n} {p / MIB:.0f} MiB" for n, p in peaks.items() if p is not None)
    )
    settings = (
        f"{args.items} items, time scale {args.time_scale:g}, load {load_avg:.1f}; "
        f"service logs in {workdir / 'stack'}"
    )
    for job_type, seconds in done.items():
        report("large", f"{job_type.value} request→done", seconds, "s", settings=settings)
        if job_type in projection:
            report(
                "large",
                f"{job_type.value} done→API shows it",
                projection[job_type],
                "s",
                settings=settings,
            )
    report(
        "large",
        "largest message on any topic",
        size,
        "bytes",
        goal=MAX_MESSAGE_BYTES,
        higher_is_better=False,
        settings=settings,
    )
    for name, peak in peaks.items():
        if peak is not None:
            report(
                "large",
                f"peak RSS {name}",
                peak / MIB,
                "MiB",
                goal=RSS_GOAL / MIB,
                higher_is_better=False,
                settings=settings,
            )


if __name__ == "__main__":
    asyncio.run(main())
