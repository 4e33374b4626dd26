"""Intake: job requests one submitter decides per second, by kind (docs/design.md §13).

Each run has a broker of its own (devtools/own_broker.py). It publishes N
``JobRequested`` on amazon.job-requests, starts one submitter and measures from its
readiness to the last decision it wrote on amazon.job-events. Kinds:

- ``unknown``: requests for an account nobody registered; each becomes a job in error
  (``JobFailed``: "account … is not registered"), after the one read of the account
  registry that tells the account is unknown;
- ``invalid``: registered accounts, items without their quantity; each a ``JobFailed``;
- ``valid``: registered accounts, one ``update_qty`` item; each a ``JobReserved`` and a
  ``JobCreated`` (and a listing marked pending); the jobs then ask for a quota token and
  wait (no throttle runs, so no job goes further). The requests are spread over
  ``--accounts`` accounts: token requests are keyed by account, and all of a burst on
  one account go through one partition of the throttle's topic.

Prints each run and the median of the runs. Goals: 5,000 refusals/s for each refused
kind; valid requests are reported against the 1,000 jobs a minute the system was asked
to carry end to end (about 17/s). Each kind also reports its decisions per submitter
CPU-second (no goal): what one submitter would do with a core of its own, which tells a
loaded machine's figure apart from the code's.

Usage: python benchmarks/intake_bench.py [--kinds unknown,invalid,valid] [--runs 3]
    [--refused 50000] [--valid 5000] [--accounts 24] [--quick]
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
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devtools.figures import report
from devtools.own_broker import Bus, own_bus
from devtools.submitter_bench import run_lone_submitter
from devtools.topics_read import read_raw
from devtools.world import Seller
from shared.codec import encode
from shared.events import JobRequested
from shared.jobs import JobType
from shared.topics import ACCOUNTS, JOB_EVENTS, JOB_REQUESTS

KINDS = ("unknown", "invalid", "valid")
REFUSAL_GOAL = 5_000.0  # requests/s
JOBS_PER_MINUTE_GOAL = 1_000.0


@dataclass(frozen=True)
class Kind:
    name: str
    decided_by: str  # the event type that completes one request's decision
    describe: str


DESCRIBED = {
    "unknown": Kind("unknown", "JobFailed", "requests for an account nobody registered"),
    "invalid": Kind("invalid", "JobFailed", "update_qty requests whose item has no quantity"),
    "valid": Kind("valid", "JobCreated", "update_qty requests of one item"),
}


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float  # from readiness (or the first decision, if earlier) to the last
    first_s: float  # from readiness to the first decision
    cpu_s: float | None  # the submitter's CPU time over the same span

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def requests_of(kind: str, sellers: list[Seller], run: str, n: int) -> list[tuple[str, bytes]]:
    """(key, value) of the run's requests, encoded before the clock starts; a valid or
    invalid request ``i`` is for the account of ``sellers[i % len(sellers)]``."""
    out = []
    for i in range(n):
        job_id = f"intake-{run}-{i}"
        seller = sellers[i % len(sellers)]
        if kind == "unknown":
            request = JobRequested(
                job_id=job_id,
                shop_id="shop-nobody",
                account_id="acc-nobody",
                job_type=JobType.UPDATE_QTY,
                items=[{"sku": "SKU-1", "quantity": 1}],
            )
        elif kind == "invalid":
            request = seller.request(
                JobType.UPDATE_QTY, job_id=job_id, items=[{"sku": seller.sku(i % 1000)}]
            )
        else:
            request = seller.request(
                JobType.UPDATE_QTY,
                job_id=job_id,
                items=[{"sku": seller.sku(i % 1000), "quantity": i % 100}],
            )
        out.append((job_id, encode(request)))
    return out


def decisions(records: list[tuple[bytes | None, bytes | None, int]], kind: Kind) -> list[int]:
    """The timestamp (ms) of each request's decision, checking it is the expected one."""
    at: dict[str, int] = {}
    for key, value, timestamp in records:
        if key is None or value is None:
            continue
        event = json.loads(value)
        if event["event_type"] == "JobFailed" and kind.decided_by != "JobFailed":
            raise AssertionError(f"{kind.name}: a request was refused: {event['log']}")
        if event["event_type"] == kind.decided_by:
            if kind.decided_by == "JobFailed" and not event["data"].get("rejected"):
                raise AssertionError(f"{kind.name}: a job failed, not refused: {event}")
            at[key.decode()] = timestamp
    return list(at.values())


async def one_run(kind: Kind, n: int, accounts: int, workdir: Path) -> Run:
    async with own_bus(workdir) as bus:
        return await _measure(bus, kind, n, accounts)


async def _measure(bus: Bus, kind: Kind, n: int, accounts: int) -> Run:
    run = uuid.uuid4().hex[:6]
    sellers = [Seller(f"in{run}x{a}", shop_id=f"shop-in{run}x{a}") for a in range(accounts)]
    if kind.name != "unknown":
        for seller in sellers:
            await bus.publisher.publish(ACCOUNTS, seller.account_id, seller.account())
    await bus.publish_raw(JOB_REQUESTS, requests_of(kind.name, sellers, run, n))
    ready_at, cpu = await run_lone_submitter(bus, JOB_REQUESTS, timeout_s=600)
    records = [
        (r.key, r.value, r.timestamp_ms) for r in await read_raw(bus.bootstrap, JOB_EVENTS.name)
    ]
    decided = decisions(records, kind)
    if len(decided) != n:
        raise AssertionError(f"{kind.name}: {len(decided)} of {n} requests decided")
    first, last = min(decided) / 1000, max(decided) / 1000
    start = min(ready_at, first)
    return Run(n, last - start, first - ready_at, cpu.between(start, last))


def summary(kind: Kind, runs: list[Run], settings: str) -> None:
    for number, run in enumerate(runs, 1):
        cpu = f", submitter CPU {run.cpu_s:.1f} s" if run.cpu_s is not None else ""
        print(
            f"  run {number}: {run.requests:,} decided in {run.seconds:.2f} s = "
            f"{run.per_second:,.0f}/s (the first {run.first_s:.2f} s after readiness){cpu}"
        )
    median = statistics.median(r.per_second for r in runs)
    cpus = [r.requests / r.cpu_s for r in runs if r.cpu_s]
    per_cpu = statistics.median(cpus) if cpus else None
    print(
        f"  median: {median:,.0f} requests/s"
        + (f"; {per_cpu:,.0f} per submitter CPU-second" if per_cpu else "")
    )
    if kind.name == "valid":
        what, goal = "valid accepted", JOBS_PER_MINUTE_GOAL / 60
        settings += "; goal: the 1,000 jobs/min the system carries"
    else:
        what, goal = f"{kind.name} refused", REFUSAL_GOAL
    report("intake", what, median, "req/s", goal=goal, settings=settings)
    if per_cpu:
        # What one submitter would do with a core of its own: tells a loaded machine's
        # figure apart from the code's.
        report("intake", f"{what} per CPU-second", per_cpu, "req/CPU-s", settings=settings)


async def main(argv: list[str] | None = None) -> None:
    # aiokafka warns while a fresh broker elects leaders and coordinators; it retries.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--refused", type=int, default=50_000, help="requests a refused run")
    # 5,000 valid requests at once are five minutes of the system's 1,000 jobs a minute.
    # 20,000 (on 24 accounts, a loaded 2-core machine) made the submitter exit: its
    # 20,000 token requests filled the producer, whose 16 KiB batches (aiokafka's default,
    # one per partition at a time) let job events wait past the liveness limit.
    parser.add_argument("--valid", type=int, default=20_000, help="requests a valid run")
    parser.add_argument(
        "--accounts",
        type=int,
        default=24,
        help="accounts the valid and invalid requests are spread over (each accepted job "
        "asks the throttle for a token keyed by its account)",
    )
    parser.add_argument("--quick", action="store_true", help="one small run of each kind")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.refused, args.valid = 1, 5_000, 2_000
    workdir = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    for name in args.kinds.split(","):
        load = os.getloadavg()[0]
        kind = DESCRIBED[name]
        n = args.valid if name == "valid" else args.refused
        print(f"{name}: {n:,} {kind.describe}, one submitter, {args.runs} run(s)", flush=True)
        started = time.monotonic()
        runs = [
            await one_run(kind, n, args.accounts, workdir / f"{name}-{r}") for r in range(args.runs)
        ]
        accounts = "" if name == "unknown" else f", {args.accounts} accounts"
        settings = f"{name}: N={n}{accounts}, median of {args.runs}, load {load:.1f}"
        summary(kind, runs, settings)
        print(f"  ({time.monotonic() - started:.0f} s with the brokers' starts)", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
