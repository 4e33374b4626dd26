"""Ingest: catalog events one submitter reads and coalesces into automatic jobs per second.

Each run has a broker of its own (devtools/own_broker.py) holding a few shops, one
account each, whose SKUs are all synced (their listings on amazon.listings), and E
``StockChanged`` events on prestashop.catalog-events going round those SKUs again and
again (round r sets quantity r, so the last value of every SKU is known). Then one
submitter starts; the run measures from its readiness until the job events carrying the
last value of every SKU are written (docs/design.md §4, "coalesced"): every change read,
merged per SKU and put into the shop's open automatic job. No throttle runs, so the
automatic jobs stay open (``reserved``) and take every change, as they do while their
account waits for a quota token.

Prints each run, the median, the jobs and item states written and the submitter's CPU
time. Goal: 20,000 events/s. Also reports the events per submitter CPU-second (no goal):
what one submitter would do with a core of its own.

Usage: python benchmarks/ingest_bench.py [--events 200000] [--shops 4] [--skus 5000]
    [--runs 3] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.figures import report
from devtools.own_broker import Bus, own_bus, read_raw
from devtools.submitter_bench import run_lone_submitter
from devtools.topics_read import RawRecord
from devtools.world import Seller
from shared.codec import encode
from shared.events import StockChanged
from shared.topics import ACCOUNTS, CATALOG_EVENTS, JOB_EVENTS, LISTINGS, listing_key

GOAL = 20_000.0  # events/s


@dataclass(frozen=True)
class Workload:
    events: int
    shops: int
    skus: int

    def sellers(self) -> list[Seller]:
        return [
            Seller(f"ing{n}", shop_id=f"shop-ing{n}", catalog_size=0, listed=0, orders=0)
            for n in range(self.shops)
        ]

    def change(self, i: int) -> tuple[int, int, int]:
        """Event ``i``: (shop, SKU, quantity); round r over all SKUs sets quantity r."""
        shop = i % self.shops
        n = i // self.shops
        return shop, n % self.skus, n // self.skus

    def last_values(self, sellers: list[Seller]) -> dict[tuple[str, str], int]:
        """The quantity each SKU ends with."""
        last: dict[tuple[str, str], int] = {}
        for i in range(max(0, self.events - self.shops * self.skus), self.events):
            shop, sku, quantity = self.change(i)
            last[(sellers[shop].shop_id, sellers[shop].sku(sku))] = quantity
        return last


@dataclass(frozen=True)
class Run:
    events: int
    seconds: float
    first_s: float
    cpu_s: float | None
    jobs: int
    items: int
    records: int

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


async def load(bus: Bus, work: Workload, sellers: list[Seller]) -> None:
    for seller in sellers:
        await bus.publisher.publish(ACCOUNTS, seller.account_id, seller.account())
    await bus.publish_raw(
        LISTINGS,
        (
            (
                listing_key(seller.account_id, seller.sku(n)),
                encode(seller.listing(n)),
            )
            for seller in sellers
            for n in range(work.skus)
        ),
    )
    changes = []
    for i in range(work.events):
        shop, sku, quantity = work.change(i)
        seller = sellers[shop]
        event = StockChanged(shop_id=seller.shop_id, sku=seller.sku(sku), quantity=quantity)
        changes.append((seller.shop_id, encode(event)))
    await bus.publish_raw(CATALOG_EVENTS, changes)


def coalesced(
    records: list[RawRecord], last: dict[tuple[str, str], int]
) -> tuple[int, int, int, int]:
    """(the timestamp in ms at which the last SKU's last value was written, the first job
    event's timestamp, jobs opened, item states written); AssertionError when a SKU's
    last value is missing."""
    missing = dict(last)
    done_at = 0
    jobs: set[str] = set()
    items = 0
    for record in sorted(records, key=lambda r: r.timestamp_ms):
        if record.value is None:
            continue
        event = json.loads(record.value)
        if event["event_type"] == "JobReserved":
            jobs.add(event["job_id"])
        for item in event.get("items") or ():
            items += 1
            key = (event["shop_id"], item["key"])
            if missing.get(key) == item["request"].get("quantity"):
                del missing[key]
                done_at = record.timestamp_ms
    if missing:
        raise AssertionError(
            f"{len(missing)} SKUs never got their last value, e.g. {next(iter(missing))}"
        )
    first = min(r.timestamp_ms for r in records)
    return done_at, first, len(jobs), items


async def one_run(work: Workload, workdir: Path) -> Run:
    async with own_bus(workdir) as bus:
        sellers = work.sellers()
        await load(bus, work, sellers)
        ready_at, cpu = await run_lone_submitter(bus, CATALOG_EVENTS, timeout_s=900)
        records = await read_raw(bus.bootstrap, JOB_EVENTS.name)
    done_at, first_at, jobs, items = coalesced(records, work.last_values(sellers))
    start = min(ready_at, first_at / 1000)
    return Run(
        work.events,
        done_at / 1000 - start,
        first_at / 1000 - ready_at,
        cpu.between(start, done_at / 1000),
        jobs,
        items,
        len(records),
    )


async def main(argv: list[str] | None = None) -> None:
    # aiokafka warns while a fresh broker elects leaders and coordinators; it retries.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--shops", type=int, default=4)
    parser.add_argument("--skus", type=int, default=5_000, help="synced SKUs per shop")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one small run")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.events, args.skus = 1, 20_000, 1_000
    work = Workload(args.events, args.shops, args.skus)
    workdir = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    load_avg = os.getloadavg()[0]
    print(
        f"{work.events:,} StockChanged over {work.shops} shops x {work.skus:,} synced SKUs "
        f"({work.events / (work.shops * work.skus):.0f} changes per SKU), one submitter, "
        f"{args.runs} run(s)",
        flush=True,
    )
    started = time.monotonic()
    runs = []
    for number in range(1, args.runs + 1):
        run = await one_run(work, workdir / f"run-{number}")
        runs.append(run)
        cpu = f", submitter CPU {run.cpu_s:.1f} s" if run.cpu_s is not None else ""
        print(
            f"  run {number}: {run.events:,} events coalesced in {run.seconds:.2f} s = "
            f"{run.per_second:,.0f}/s (first job event {run.first_s:.2f} s after readiness); "
            f"{run.jobs} automatic jobs, {run.items:,} item states in {run.records:,} job "
            f"events{cpu}",
            flush=True,
        )
    median = statistics.median(r.per_second for r in runs)
    cpus = [r.events / r.cpu_s for r in runs if r.cpu_s]
    per_cpu = statistics.median(cpus) if cpus else None
    print(
        f"  median: {median:,.0f} events/s"
        + (f"; {per_cpu:,.0f} per submitter CPU-second" if per_cpu else "")
        + f" ({time.monotonic() - started:.0f} s with loading and the brokers' starts)"
    )
    settings = (
        f"E={work.events}, {work.shops} shops x {work.skus} SKUs, median of {args.runs}, "
        f"load {load_avg:.1f}"
    )
    report("ingest", "catalog events coalesced", median, "events/s", goal=GOAL, settings=settings)
    if per_cpu:
        report("ingest", "coalesced per CPU-second", per_cpu, "events/CPU-s", settings=settings)


if __name__ == "__main__":
    asyncio.run(main())
