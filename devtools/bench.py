"""`make bench`: every benchmark of the project, one after the other, printing figures.

Benchmarks are programs, not tests: each prints its medians, ratios and the settings that
produced them, and reports each figure (devtools/figures.py); the run ends with one table
of every figure, its goal, the ratio and the machine. Pass names to run only some:
``python -m devtools.bench sandbox throttle``; ``--quick`` runs each small and once (a
smoke run of a few minutes; the figures are not the real ones).
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

from devtools import REPO_ROOT
from devtools.figures import Figure, parse, table
from devtools.processes import ChildProcess

BENCHES: dict[str, list[str]] = {
    "sandbox": ["benchmarks/sandbox_bench.py"],
    "throttle": ["benchmarks/throttle_bench.py"],
    "pipeline": ["benchmarks/pipeline_bench.py"],
    "api": ["benchmarks/api_bench.py"],
    "large": ["benchmarks/large_bench.py"],
    "intake": ["benchmarks/intake_bench.py"],
    "ingest": ["benchmarks/ingest_bench.py"],
    "restart": ["benchmarks/restart_bench.py"],
    "scale": ["benchmarks/scale_bench.py"],
    "seller": ["benchmarks/seller_bench.py"],
}


def machine() -> str:
    cpus = (
        Path("/proc/cpuinfo").read_text().count("processor\t:")
        if Path("/proc/cpuinfo").exists()
        else "?"
    )
    load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    return f"{platform.machine()}, {cpus} CPUs, {load}, Python {platform.python_version()}"


def _run(name: str, argv: list[str], figures: list[Figure]) -> int:
    """Run one benchmark, passing its output through and keeping its figures."""
    bench = ChildProcess(name, [sys.executable, *argv], log_path=None)
    bench.start()
    try:
        for raw in bench.stdout:
            line = raw.decode("utf-8", "replace")
            figure = parse(line)
            if figure is None:
                sys.stdout.write(line)
                sys.stdout.flush()
            else:
                figures.append(figure)
        return bench.wait()
    finally:
        bench.stop()  # when interrupted; else only forgets it, and ends what it left


def main(argv: list[str]) -> int:
    quick = ["--quick"] if "--quick" in argv else []
    names = [a for a in argv if a != "--quick"] or list(BENCHES)
    print(f"machine: {machine()}")
    failed = []
    figures: list[Figure] = []
    for name in names:
        argv_ = BENCHES[name]
        script = REPO_ROOT / argv_[0]
        if argv_[0] != "-m" and not script.exists():
            print(f"\n=== {name}: {argv_[0]} is missing ===")
            failed.append(name)
            continue
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        rc = _run(name, argv_ + quick, figures)
        print(f"=== {name}: exit {rc} after {time.monotonic() - started:.0f}s ===", flush=True)
        if rc:
            failed.append(name)
    print("\n" + table(figures, machine()))
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
