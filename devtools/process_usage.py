"""What a process uses, from /proc (Linux only): its peak memory with its children's, and
its CPU time, sampled so that the CPU spent between two moments can be told afterwards."""

from __future__ import annotations

import asyncio
import bisect
import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


def _status_kib(pid: int, field: str) -> int | None:
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


@dataclass(frozen=True)
class Memory:
    rss_mib: float  # resident now
    peak_mib: float  # the most it was resident at once (VmHWM)


def memory(pid: int) -> Memory | None:
    """A process's resident memory now and at its peak; None when it cannot be read."""
    rss, peak = _status_kib(pid, "VmRSS"), _status_kib(pid, "VmHWM")
    if rss is None or peak is None:
        return None
    return Memory(rss / 1024, peak / 1024)


def children(pid: int) -> list[int]:
    """Every process descended from ``pid`` now."""
    parents: dict[int, int] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ')'.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return found


def peak_rss_bytes(pid: int) -> int | None:
    """The high-water mark of resident memory (VmHWM) of ``pid`` plus that of each of its
    children: the process's peak when it has none, an upper bound of the tree's when it
    has. None when the process is gone."""
    own = _status_kib(pid, "VmHWM")
    if own is None:
        return None
    kids = (_status_kib(child, "VmHWM") for child in children(pid))
    return (own + sum(k for k in kids if k is not None)) * 1024


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far; None when it is gone."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """A process's CPU time every ``interval_s`` while running (a task of its own), so
    that :meth:`between` tells the CPU it spent between two wall-clock moments found
    only later (in its log, in record timestamps)."""

    def __init__(self, pid: int, interval_s: float = 0.02) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.at: list[float] = []  # wall clock
        self.cpu: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _sample(self) -> None:
        while (cpu := cpu_seconds(self.pid)) is not None:
            self.at.append(time.time())
            self.cpu.append(cpu)
            await asyncio.sleep(self.interval_s)

    def _cpu_at(self, moment: float) -> float | None:
        n = bisect.bisect_right(self.at, moment)
        return self.cpu[n - 1] if n else None

    def between(self, start: float, end: float) -> float | None:
        """CPU seconds from ``start`` to ``end`` (to within one interval); None when the
        samples do not cover ``start``."""
        first, last = self._cpu_at(start), self._cpu_at(end)
        return None if first is None or last is None else last - first
