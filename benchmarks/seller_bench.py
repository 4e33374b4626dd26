"""A million listed SKUs of one seller, changing faster than Amazon lets feeds carry them:
SKU updates delivered to Amazon per Amazon hour, under default quotas.

A broker of the run's own and the pipeline as separate processes (sandbox, throttle,
submitter, poller, applier; devtools/stack.py) at a time scale S. One seller lists N SKUs
at the sandbox, and the same N are synced listings on amazon.listings. Then, for H Amazon
hours (H x 3600 / S real seconds), the shop publishes stock changes of random SKUs at R
per Amazon hour, R above the 750,000 that 30 feeds of 25,000 messages carry (Amazon's
createFeed: burst 15, one per 120 s, at most 30 an hour). ``--price-share`` mixes in price
changes: they make automatic jobs of their own kind, which stay small while the stock
jobs fill, and spend feed tokens on them (docs/design.md §4).

Counted at the sandbox (devtools/deliveries.py): the messages Amazon accepted in the
JSON_LISTINGS_FEEDs created within the H hours, once each is processed; per Amazon hour.
Also: listings feeds per Amazon hour, messages per feed (median, min), 429s the sandbox
answered (every operation), and each service's peak RSS.

Time scale: the pipeline does a fixed amount of work per Amazon hour (R changes read and
coalesced, 750,000 items built into feeds, processed by the sandbox, read back from the
results and written as listing states, every item state folded by three workers), and S
divides the real time it has for it. At 30 the services wanted more than the 2 cores
(the submitter fell an Amazon hour behind the changes); at 15 they used 1.3 cores
besides the broker and this load generator, and fell behind whenever other tests shared
the machine. 10 (the default) leaves room: 2 Amazon hours take 12 real minutes.

Usage: python benchmarks/seller_bench.py [--skus 1000000] [--hours 2] [--rate 900000]
    [--scale 10] [--price-share 0] [--quick]
Starts its own Kafka.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.deliveries import Deliveries, created_at, deliveries, in_window
from devtools.figures import report
from devtools.own_broker import Bus, end_offsets, own_bus
from devtools.process_usage import cpu_seconds, peak_rss_bytes
from devtools.stock_out import time_stock_out
from devtools.topics_read import read_raw
from devtools.worker_probe import ProbedStack, load_average
from devtools.world import Seller, open_shop, sandbox_stats
from shared.codec import encode
from shared.events import Event, PriceChanged, StockChanged
from shared.topics import CATALOG_EVENTS, JOB_EVENTS

GOAL = 0.9 * 30 * 25_000  # SKU updates per Amazon hour: 90% of 30 full feeds an hour
FULL_FEED = 25_000
MIB = 1024 * 1024
WORKERS = ["throttle", "submitter", "poller", "applier"]
SUBMITTER_GROUP = "amazon-jobs-submitter"  # the default: the broker is the run's own


def stack_for(bus: Bus, workdir: Path, scale: float) -> ProbedStack:
    return ProbedStack(
        bootstrap=bus.bootstrap,
        mongo_url="mongodb://127.0.0.1:9/unused",
        workdir=workdir / "stack",
        time_scale=scale,
        extra_env={
            "AMAZON_JOBS_LOG_LEVEL": "WARNING",
        },
    )


class ChangeStream:
    """The shop's stock and price changes of random SKUs at a steady rate (real time)."""

    def __init__(self, seller: Seller, skus: int, price_share: float, seed: int = 1) -> None:
        self.seller = seller
        self.skus = skus
        self.price_share = price_share
        self.rng = random.Random(seed)
        self.sent = 0

    def change(self) -> Event:
        sku = self.seller.sku(self.rng.randrange(self.skus))
        if self.rng.random() < self.price_share:
            price = Decimal(self.rng.randrange(500, 5000)) / 100
            return PriceChanged(shop_id=self.seller.shop_id, sku=sku, price=price, currency="EUR")
        # Never 0: a stock going to zero is the urgent path's (patchListingsItem), not a
        # feed's, and is measured on its own.
        return StockChanged(shop_id=self.seller.shop_id, sku=sku, quantity=self.rng.randint(1, 99))

    async def run(self, bus: Bus, per_second: float, seconds: float) -> float:
        """Publish for ``seconds``; the rate kept, per real second."""
        key = self.seller.shop_id.encode()
        started = time.monotonic()
        tick = 0.1
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(per_second * elapsed) - self.sent
            sent = [
                await bus.bulk.send(CATALOG_EVENTS.name, encode(self.change()), key=key)
                for _ in range(max(0, due))
            ]
            await asyncio.gather(*sent)
            self.sent += len(sent)
            await asyncio.sleep(max(0.0, tick - (time.monotonic() - started - elapsed)))
        return self.sent / (time.monotonic() - started)


def cpu_by_service(stack: ProbedStack) -> dict[str, float]:
    """CPU seconds each service has used so far."""
    used = {}
    for name, service in stack.services.items():
        seconds = cpu_seconds(service.pid) if service.pid is not None else None
        if seconds is not None:
            used[name] = seconds
    return used


async def submitter_lag(bus: Bus) -> int:
    """Catalog changes published but not yet taken by the submitter (committed)."""
    ends = await end_offsets(bus.bootstrap, CATALOG_EVENTS)
    admin = AIOKafkaAdminClient(bootstrap_servers=bus.bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(SUBMITTER_GROUP)
    finally:
        await admin.close()
    have = {
        tp.partition: o.offset for tp, o in committed.items() if tp.topic == CATALOG_EVENTS.name
    }
    return sum(end - max(0, have.get(p, 0)) for p, end in ends.items())


async def sample_lag(bus: Bus, every_s: float, lags: list[int]) -> None:
    while True:
        await asyncio.sleep(every_s)
        with contextlib.suppress(KafkaError):
            lags.append(await submitter_lag(bus))


async def zero_probes(
    bus: Bus,
    sandbox_url: str,
    seller: Seller,
    skus: int,
    every_s: float,
    scale: float,
    latencies: list[float],
) -> None:
    """Every ``every_s`` while the changes stream: one SKU's stock set to zero, and the
    Amazon seconds until the sandbox shows it (the urgent path's figure)."""
    rng = random.Random(2)
    while True:
        sku = seller.sku(rng.randrange(skus))
        with contextlib.suppress(TimeoutError):  # missed: not counted, said by the count
            real_s = await time_stock_out(
                sandbox_url,
                bus.publisher,
                shop_id=seller.shop_id,
                seller_id=seller.seller_id,
                sku=sku,
                every_s=0.02,
                timeout_s=3600 / scale,  # an Amazon hour
            )
            latencies.append(real_s * scale)
        await asyncio.sleep(every_s)


STAGES = ("JobReserved", "JobCreated", "JobSubmitted", "JobResultReady", "JobDone")


async def stage_times(bootstrap: str) -> dict[str, dict[str, float]]:
    """When each job reached each stage (broker timestamps, seconds): told from the head of
    each record's bytes, so the items the job events carry are not decoded."""
    times: dict[str, dict[str, float]] = {}
    for record in await read_raw(bootstrap, JOB_EVENTS.name):
        head = (record.value or b"")[:200]
        for stage in STAGES:
            if f'"{stage}"'.encode() in head and record.key is not None:
                times.setdefault(record.key.decode(), {}).setdefault(
                    stage, record.timestamp_ms / 1000
                )
    return times


def stage_lines(times: dict[str, dict[str, float]], scale: float) -> list[str]:
    """Median and max of each step between stages, in Amazon minutes."""
    lines = []
    for before, after in itertools.pairwise(STAGES):
        spans = [
            (t[after] - t[before]) * scale / 60
            for t in times.values()
            if before in t and after in t
        ]
        if spans:
            lines.append(
                f"{before[3:]}→{after[3:]} median {statistics.median(spans):.1f}, "
                f"max {max(spans):.1f}"
            )
    return lines


async def sandbox_feeds(sandbox_url: str, seller: Seller) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=60.0) as http:
        response = await http.get(f"{sandbox_url}/_sandbox/sellers/{seller.seller_id}/feeds")
        response.raise_for_status()
        feeds: list[dict[str, Any]] = response.json()["feeds"]
        return feeds


async def delivered(
    sandbox_url: str, seller: Seller, start: datetime, end: datetime, timeout_s: float
) -> Deliveries:
    """The window's deliveries once every feed of it is processed (or ``timeout_s`` passed:
    the unfinished ones are then said, not counted)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = deliveries(await sandbox_feeds(sandbox_url, seller), start, end)
        if not found.unfinished or time.monotonic() > deadline:
            return found
        await asyncio.sleep(1.0)


async def one_run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    seller = Seller(
        "mega",
        shop_id="shop-mega",
        catalog_size=0,
        listed=args.skus,
        orders=0,
    )
    async with own_bus(workdir) as bus:
        stack = stack_for(bus, workdir, args.scale)
        stack.start(["amazon_sandbox"])
        try:
            seeding = time.monotonic()
            await open_shop(stack.sandbox_url, bus.publisher, seller, synced_skus=range(args.skus))
            seeded_s = time.monotonic() - seeding
            stack.start(WORKERS)
            await asyncio.to_thread(stack.wait_ready, ["submitter", "poller", "applier"])
            ready_s = time.monotonic() - seeding - seeded_s
            print(
                f"  {args.skus:,} SKUs listed at the sandbox and synced on amazon.listings in "
                f"{seeded_s:.0f} s; services ready (listings read) {ready_s:.0f} s later",
                flush=True,
            )
            seconds = args.hours * 3600 / args.scale
            per_second = args.rate * args.scale / 3600
            cpu_before = cpu_by_service(stack)
            lags: list[int] = []
            zeros: list[float] = []
            helpers = [asyncio.create_task(sample_lag(bus, seconds / 20, lags))]
            helpers.append(
                asyncio.create_task(
                    zero_probes(
                        bus, stack.sandbox_url, seller, args.skus, seconds / 100, args.scale, zeros
                    )
                )
            )
            start = datetime.now(UTC)
            try:
                kept = await ChangeStream(seller, args.skus, args.price_share).run(
                    bus, per_second, seconds
                )
            finally:
                for helper in helpers:
                    helper.cancel()
            end = datetime.now(UTC)
            cpu = {
                name: (used - cpu_before.get(name, 0.0)) / (end - start).total_seconds()
                for name, used in cpu_by_service(stack).items()
            }
            hours = (end - start).total_seconds() * args.scale / 3600
            # A feed takes Amazon its queueing and processing time (90 s), after the
            # ones before it of the seller: wait for every feed of the window.
            found = await delivered(stack.sandbox_url, seller, start, end, timeout_s=600)
            created = [
                (created_at(f) - start).total_seconds() * args.scale / 60
                for f in in_window(await sandbox_feeds(stack.sandbox_url, seller), start, end)
            ]
            stats = await sandbox_stats(stack.sandbox_url, seller)
            stages = stage_lines(await stage_times(bus.bootstrap), args.scale)
            peaks = {
                name: peak_rss_bytes(service.pid)
                for name, service in stack.services.items()
                if service.pid is not None
            }
        except BaseException:
            print(stack.logs(), file=sys.stderr)
            raise
        finally:
            stack.stop()
    return {
        "hours": hours,
        "changes_per_hour": kept * 3600 / args.scale,
        "found": found,
        "throttled": sum(op["throttled"] for op in stats.values()),
        "create_feed_calls": stats.get("createFeed", {}).get("calls", 0),
        "peaks": peaks,
        "cpu": cpu,
        "lags": lags,
        "created": created,
        "stages": stages,
        "zeros": zeros,
        "seeded_s": seeded_s,
    }


async def main(argv: list[str] | None = None) -> None:
    # aiokafka warns while a fresh broker elects leaders and coordinators; it retries.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=1_000_000)
    parser.add_argument("--hours", type=float, default=2.0, help="Amazon hours of changes")
    parser.add_argument("--rate", type=float, default=900_000, help="changes per Amazon hour")
    parser.add_argument("--price-share", type=float, default=0.0)
    parser.add_argument("--scale", type=float, default=10.0, help="Amazon seconds per second")
    parser.add_argument("--quick", action="store_true", help="a small, short run")
    args = parser.parse_args(argv)
    if args.quick:
        args.skus, args.hours = 100_000, 0.25
    load = load_average()
    workdir = Path(tempfile.mkdtemp(prefix="seller-bench-"))
    print(
        f"one seller, {args.skus:,} listed SKUs, {args.rate:,.0f} stock/price changes per "
        f"Amazon hour ({args.price_share:.0%} price) for {args.hours:g} Amazon hours at time "
        f"scale {args.scale:g} ({args.hours * 3600 / args.scale:.0f} s); load {load}",
        flush=True,
    )
    run = await one_run(args, workdir)
    found: Deliveries = run["found"]
    hours = run["hours"]
    per_hour = found.accepted / hours
    print(
        f"  {run['changes_per_hour']:,.0f} changes per Amazon hour published over {hours:.2f} "
        f"Amazon hours; {found.feeds} listings feeds created "
        f"({found.unfinished} not processed after the wait), {found.accepted:,} messages "
        f"accepted = {per_hour:,.0f} SKU updates per Amazon hour (goal {GOAL:,.0f})"
    )
    print(
        f"  {found.feeds / hours:.1f} feeds per Amazon hour; messages per feed: median "
        f"{found.median_messages:,.0f}, min {found.min_messages:,}; "
        f"{run['throttled']} x 429 at the sandbox ({run['create_feed_calls']} createFeed calls)"
    )
    print(
        "  feeds created at Amazon minute: " + " ".join(f"{m:.0f}" for m in sorted(run["created"]))
    )
    print("  jobs, in Amazon minutes: " + "; ".join(run["stages"]))
    lags = run["lags"]
    if lags:
        print(
            f"  changes not yet taken by the submitter, sampled: max {max(lags):,}, last "
            f"{lags[-1]:,} (= {lags[-1] / args.rate * 60:.1f} Amazon minutes of changes)"
        )
    print(
        "  CPU while the changes streamed (cores): "
        + ", ".join(f"{n} {c:.2f}" for n, c in run["cpu"].items())
        + f"; total {sum(run['cpu'].values()):.2f} of {os.cpu_count()}"
    )
    print(
        "  peak RSS: "
        + ", ".join(f"{n} {p / MIB:,.0f} MiB" for n, p in run["peaks"].items() if p is not None)
    )
    settings = (
        f"{args.skus:,} SKUs, {args.rate:,.0f} changes/h, {hours:.2f} Amazon h at time scale "
        f"{args.scale:g}, createFeed 15 burst, 1/120 s, 30/h; load {load}; logs in {workdir}"
    )
    report(
        "seller",
        "SKU updates per Amazon hour, 1M SKUs",
        per_hour,
        "SKUs/h",
        goal=GOAL,
        settings=settings,
    )
    report(
        "seller",
        "listings feeds per Amazon hour",
        found.feeds / hours,
        "feeds/h",
        settings=settings,
    )
    report(
        "seller",
        "messages per feed, median",
        found.median_messages,
        "messages",
        goal=0.9 * FULL_FEED,
        settings=settings,
    )
    report("seller", "messages per feed, min", found.min_messages, "messages", settings=settings)
    report(
        "seller",
        "429s at the sandbox",
        run["throttled"],
        "responses",
        goal=0,
        higher_is_better=False,
        settings=settings,
    )
    # Printed once the urgent path exists (urgent_path_landed); nothing before.
    zeros = sorted(run["zeros"])
    if zeros:
        p50, p99 = zeros[len(zeros) // 2], zeros[min(len(zeros) - 1, len(zeros) * 99 // 100)]
        print(
            f"  stock to zero of one SKU → at the sandbox: p50 {p50:.1f}, p99 {p99:.1f} Amazon "
            f"seconds ({len(zeros)} probes)"
        )
        report(
            "seller",
            "stock to zero → at Amazon, p50",
            p50,
            "Amazon s",
            higher_is_better=False,
            settings=settings,
        )
        report(
            "seller",
            "stock to zero → at Amazon, p99",
            p99,
            "Amazon s",
            higher_is_better=False,
            settings=settings,
        )
    for name, peak in run["peaks"].items():
        if peak is not None:
            report(
                "seller",
                f"peak RSS {name}",
                peak / MIB,
                "MiB",
                higher_is_better=False,
                settings=settings,
            )


if __name__ == "__main__":
    asyncio.run(main())
