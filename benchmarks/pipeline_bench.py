"""End-to-end throughput of the job pipeline, every service its own process.

1. Quotas lifted (throttle and sandbox): N explicit update_qty jobs over several accounts,
   published at once; prints jobs per minute from first request to last JobDone and the
   job events per second the services wrote, median of the runs.
2. Default quotas, one account, time scale 600 (an Amazon hour per 6 real seconds): a stream
   of stock changes for many SKUs; prints SKU updates delivered per Amazon hour and the
   feeds it took (Amazon allows 30 createFeed an hour, 15 at once).

Figures: jobs per minute end to end with quotas lifted (goal: 1,000), SKU updates per
Amazon hour under default quotas.

Usage: python benchmarks/pipeline_bench.py [--jobs 300] [--runs 3] [--stream-s 18] [--scale 600]
    [--quick]
Starts its own Kafka unless KAFKA_BOOTSTRAP_SERVERS is set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.figures import report
from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.provision import provision_missing
from devtools.stack import Stack
from devtools.topics_read import collect, read_to_end
from devtools.world import LIFTED_SANDBOX_QUOTAS, Seller, open_shop, submit
from shared.events import JobDone, JobEvent, StockChanged
from shared.jobs import JobType
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import EventPublisher, make_producer
from shared.topics import CATALOG_EVENTS, JOB_EVENTS


def stack_for(bootstrap: str, workdir: Path, scale: float, **env: str) -> Stack:
    run = str(random.randrange(1 << 30))
    return Stack(
        bootstrap=bootstrap,
        mongo_url="mongodb://127.0.0.1:9/unused",
        workdir=workdir / run,
        time_scale=scale,
        extra_env={
            "SUBMITTER_CONSUMER_GROUP": f"bench-submitter-{run}",
            "POLLER_CONSUMER_GROUP": f"bench-poller-{run}",
            "APPLIER_CONSUMER_GROUP": f"bench-applier-{run}",
            "THROTTLE_CONSUMER_GROUP": f"bench-throttle-{run}",
            "AMAZON_JOBS_LOG_LEVEL": "WARNING",
            **env,
        },
    )


async def lifted_run(
    bootstrap: str, publisher: EventPublisher, workdir: Path, jobs: int, run: int
) -> tuple[float, float]:
    stack = stack_for(
        bootstrap,
        workdir,
        600.0,
        THROTTLE_LIFT_QUOTAS="true",
        SANDBOX_FEED_QUEUE_S="3",
        SANDBOX_FEED_PROCESSING_S="3",
        SUBMITTER_COALESCE_WINDOW_S="0",
    )
    stack.start(["amazon_sandbox", "throttle", "submitter", "poller", "applier"])
    try:
        sellers = [
            Seller(
                f"b{run}x{n}",
                shop_id=f"bench-{run}-{n}",
                catalog_size=50,
                listed=50,
                orders=0,
                quotas=LIFTED_SANDBOX_QUOTAS,
            )
            for n in range(6)
        ]
        for seller in sellers:
            await open_shop(stack.sandbox_url, publisher, seller)
        await asyncio.sleep(1.0)
        requests = [
            sellers[i % len(sellers)].request(
                JobType.UPDATE_QTY,
                job_id=f"bench-{run}-{i}",
                items=[
                    {"sku": sellers[i % len(sellers)].sku(k), "quantity": i % 40} for k in range(10)
                ],
            )
            for i in range(jobs)
        ]
        ids = {r.job_id for r in requests}
        started = time.monotonic()
        await submit(publisher, *requests)
        events = await collect(
            bootstrap,
            JOB_EVENTS.name,
            lambda found: sum(isinstance(e, JobDone) for e in found) >= jobs,
            where=lambda e: isinstance(e, JobEvent) and e.job_id in ids,
            timeout_s=600,
        )
        elapsed = time.monotonic() - started
        return jobs / elapsed * 60, len(events) / elapsed
    finally:
        stack.stop()


JOBS_PER_MINUTE_GOAL = 1_000.0


async def default_quota_stream(
    bootstrap: str, publisher: EventPublisher, workdir: Path, seconds: float, scale: float
) -> float:
    """SKU updates delivered per Amazon hour."""
    # Token and upload-URL lifetimes stay an hour and five minutes of real time: at high
    # scales Amazon's would be shorter than a round trip under load.
    stack = stack_for(
        bootstrap,
        workdir,
        scale,
        SUBMITTER_COALESCE_WINDOW_S="30",  # Amazon seconds: 0.05 real ones
        SANDBOX_ACCESS_TOKEN_TTL_S=str(3600 * scale),
        SANDBOX_DOCUMENT_URL_TTL_S=str(300 * scale),
    )
    stack.start(["amazon_sandbox", "throttle", "submitter", "poller", "applier"])
    try:
        skus = 2_000
        seller = Seller("stream", shop_id="bench-stream", catalog_size=skus, listed=skus, orders=0)
        await open_shop(stack.sandbox_url, publisher, seller, synced_skus=range(skus))
        await asyncio.sleep(1.0)
        rng = random.Random(1)
        sent = 0
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            batch = [
                StockChanged(
                    shop_id=seller.shop_id,
                    sku=seller.sku(rng.randrange(skus)),
                    quantity=rng.randrange(100),
                )
                for _ in range(200)
            ]
            await publisher.publish_many([(CATALOG_EVENTS, c.shop_id, c) for c in batch])
            sent += len(batch)
            await asyncio.sleep(0.02)
        amazon_hours = (time.monotonic() - started) * scale / 3600
        await asyncio.sleep(2.0)  # let the last feeds finish
        done = await read_to_end(
            bootstrap,
            JOB_EVENTS.name,
            where=lambda e: isinstance(e, JobDone) and e.account_id == seller.account_id,
        )
        delivered = sum(e.data.accepted or 0 for e in done if isinstance(e, JobDone))
        feeds = len(done)
        print(
            f"default quotas, one account, {amazon_hours:.1f} Amazon hours "
            f"(time scale {scale:.0f}): {sent} stock changes published, {feeds} feeds, "
            f"{delivered} SKU updates delivered = {delivered / amazon_hours:,.0f} per Amazon "
            f"hour ({feeds / amazon_hours:.1f} feeds/hour; Amazon allows 30/h + 15 burst)"
        )
        return delivered / amazon_hours
    finally:
        stack.stop()


async def main() -> None:
    # aiokafka warns while a fresh broker elects leaders and coordinators; it retries.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stream-s", type=float, default=18.0)
    # 600: an Amazon hour in 6 real seconds; much faster and our own latency (~0.1 s per
    # feed) becomes the limit instead of Amazon's quota.
    parser.add_argument("--scale", type=float, default=600.0)
    parser.add_argument("--quick", action="store_true", help="one small run of each part")
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.runs, args.stream_s = 60, 1, 6.0
    load = os.getloadavg()[0]
    workdir = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    server = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        provision_missing()
        server = KafkaServer(free_port(), workdir / "kafka")
        server.start()
        bootstrap = server.bootstrap_servers
    await ensure_topics(bootstrap)
    producer = make_producer(bootstrap, "pipeline-bench")
    await producer.start()
    publisher = EventPublisher(producer)
    try:
        print(
            f"quotas lifted: {args.jobs} update_qty jobs x 10 SKUs over 6 accounts, "
            f"{args.runs} runs"
        )
        results = [
            await lifted_run(bootstrap, publisher, workdir, args.jobs, r) for r in range(args.runs)
        ]
        for n, (jpm, eps) in enumerate(results, 1):
            print(f"  run {n}: {jpm:,.0f} jobs/min, {eps:,.0f} job events/s")
        jobs_per_minute = statistics.median(r[0] for r in results)
        print(
            f"  median: {jobs_per_minute:,.0f} jobs/min end to end, "
            f"{statistics.median(r[1] for r in results):,.0f} job events/s"
        )
        report(
            "pipeline",
            "jobs end to end, quotas lifted",
            jobs_per_minute,
            "jobs/min",
            goal=JOBS_PER_MINUTE_GOAL,
            settings=(
                f"{args.jobs} update_qty jobs x 10 SKUs, median of {args.runs}, load {load:.1f}"
            ),
        )
        per_hour = await default_quota_stream(
            bootstrap, publisher, workdir, args.stream_s, args.scale
        )
        report(
            "pipeline",
            "SKU updates per Amazon hour, default quotas",
            per_hour,
            "SKUs/h",
            settings=f"one account, time scale {args.scale:g}, {args.stream_s:g} s of changes",
        )
    finally:
        await producer.stop()
        if server is not None:
            server.stop()
    print(json.dumps({"machine_cpus": os.cpu_count()}))


if __name__ == "__main__":
    asyncio.run(main())
