"""Benchmark: getFeed requests per second against the sandbox as a real process.

``python benchmarks/sandbox_bench.py [--concurrency 16] [--runs 5] [--seconds 3]
[--processes 1] [--quick]``

Starts the sandbox (devtools/sandbox_process.py), registers a seller whose getFeed quota
is lifted (per-seller ``quotas`` override, so no call is throttled), creates one feed, then
runs ``concurrency`` httpx workers (split over ``processes`` client processes) calling
getFeed for ``seconds`` per run over real HTTP, after a one-second warm-up. Prints each
run's requests/s, the median of the runs, p50/p99 latency over all calls, and the
sandbox's own CPU time per request (read from /proc), which tells how much of the figure
is the server and how much the client sharing the machine. Reports the median req/s and
the p99 latency as figures (devtools/figures.py; no goals: the sandbox only has to keep
up with the services). ``--quick``: one run of one second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from devtools.figures import report
from devtools.sandbox_process import running_sandbox

SELLER = "A2BENCH"
MARKETPLACE = "A1PA6795UKMFR9"
JSON_TYPE = "application/json; charset=UTF-8"
LIFTED = {"burst": 1_000_000_000, "rate_per_s": 1_000_000_000.0}
WARM_UP_S = 1.0


@dataclass(frozen=True, slots=True)
class Run:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


async def _prepare(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    """A seller with lifted quotas, its token, and the path of one feed to poll."""
    registered = await client.post(
        "/_sandbox/sellers",
        json={
            "seller_id": SELLER,
            "refresh_token": "Atzr|bench",
            "marketplace_ids": [MARKETPLACE],
            "listings": [{"sku": "PEN", "asin": "B000PEN001", "quantity": 1, "price": 1.0}],
            "quotas": {"getFeed": LIFTED},
        },
    )
    registered.raise_for_status()
    token = await client.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "Atzr|bench",
            "client_id": "bench",
            "client_secret": "bench",
        },
    )
    token.raise_for_status()
    auth = {"x-amz-access-token": token.json()["access_token"]}
    document = await client.post(
        "/feeds/2021-06-30/documents", json={"contentType": JSON_TYPE}, headers=auth
    )
    document.raise_for_status()
    body = json.dumps(
        {
            "header": {"sellerId": SELLER, "version": "2.0"},
            "messages": [{"messageId": 1, "sku": "PEN", "operationType": "DELETE"}],
        }
    )
    uploaded = await client.put(
        document.json()["url"], content=body, headers={"content-type": JSON_TYPE}
    )
    uploaded.raise_for_status()
    feed = await client.post(
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [MARKETPLACE],
            "inputFeedDocumentId": document.json()["feedDocumentId"],
        },
        headers=auth,
    )
    feed.raise_for_status()
    return auth, f"/feeds/2021-06-30/feeds/{feed.json()['feedId']}"


async def _run(
    client: httpx.AsyncClient, path: str, auth: dict[str, str], workers: int, seconds: float
) -> Run:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors
        while (started := time.perf_counter()) < deadline:
            response = await client.get(path, headers=auth)
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return Run(len(latencies), errors, time.perf_counter() - began, latencies)


async def _client(
    url: str, path: str, auth: dict[str, str], workers: int, runs: int, seconds: float
) -> list[Run]:
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await _run(client, path, auth, workers, WARM_UP_S)  # connections, caches
        return [await _run(client, path, auth, workers, seconds) for _ in range(runs)]


def _client_process(
    url: str,
    path: str,
    auth: dict[str, str],
    workers: int,
    runs: int,
    seconds: float,
    start_at: float,
) -> list[Run]:
    """One client process; all of them start together so their runs overlap."""
    time.sleep(max(0.0, start_at - time.time()))
    return asyncio.run(_client(url, path, auth, workers, runs, seconds))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, from /proc (Linux only)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(url: str, concurrency: int, runs: int, seconds: float, processes: int) -> list[Run]:
    """Runs of all client processes, added up run by run."""

    async def prepare() -> tuple[dict[str, str], str]:
        async with httpx.AsyncClient(base_url=url) as client:
            return await _prepare(client)

    auth, path = asyncio.run(prepare())
    if processes == 1:
        return asyncio.run(_client(url, path, auth, concurrency, runs, seconds))
    start_at = time.time() + 1.0  # time for every process to start
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        futures = [
            pool.submit(_client_process, url, path, auth, share, runs, seconds, start_at)
            for share in shares
        ]
        per_process = [future.result() for future in futures]
    return [
        Run(
            requests=sum(p[i].requests for p in per_process),
            errors=sum(p[i].errors for p in per_process),
            seconds=max(p[i].seconds for p in per_process),
            latencies=[latency for p in per_process for latency in p[i].latencies],
        )
        for i in range(runs)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python benchmarks/sandbox_bench.py")
    parser.add_argument("--concurrency", type=int, default=16, help="workers in all")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one run")
    parser.add_argument("--processes", type=int, default=1, help="client processes")
    parser.add_argument("--quick", action="store_true", help="one run of one second")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.seconds = 1, 1.0
    load = os.getloadavg()[0]
    with running_sandbox() as sandbox:
        cpu_before = _cpu_seconds(sandbox.pid)
        results = _measure(sandbox.url, args.concurrency, args.runs, args.seconds, args.processes)
        cpu_after = _cpu_seconds(sandbox.pid)
        status = sandbox.stop()
    for number, run in enumerate(results, 1):
        print(
            f"run {number}: {run.requests} getFeed in {run.seconds:.2f} s "
            f"= {run.per_second:.0f} req/s, {run.errors} non-200"
        )
    latencies = [latency for run in results for latency in run.latencies]
    median = statistics.median(run.per_second for run in results)
    p99_ms = _percentile(latencies, 0.99) * 1000
    print(
        f"getFeed, concurrency {args.concurrency} over {args.processes} client process(es), "
        f"{args.runs} x {args.seconds:g} s: "
        f"median {median:.0f} req/s, "
        f"p50 {_percentile(latencies, 0.50) * 1000:.2f} ms, "
        f"p99 {p99_ms:.2f} ms; sandbox exit status {status}"
    )
    settings = (
        f"concurrency {args.concurrency}, {args.processes} client process(es), "
        f"{args.runs} x {args.seconds:g} s, load {load:.1f}"
    )
    report("sandbox", "getFeed", median, "req/s", settings=settings)
    report("sandbox", "getFeed p99", p99_ms, "ms", higher_is_better=False, settings=settings)
    if cpu_before is not None and cpu_after is not None:
        # Includes the warm-up calls, which the run totals leave out: an upper bound.
        calls = sum(run.requests for run in results)
        per_call = (cpu_after - cpu_before) / calls
        print(
            f"sandbox CPU: {cpu_after - cpu_before:.1f} s, at most {per_call * 1e6:.0f} us "
            f"per getFeed (about {1 / per_call:.0f} req/s per core if the client were free)"
        )


if __name__ == "__main__":
    main()
