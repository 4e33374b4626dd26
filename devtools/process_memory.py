"""Peak memory of a process and its children, from /proc (Linux only)."""

from __future__ import annotations

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
