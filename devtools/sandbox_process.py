"""The SP-API sandbox as a child process, for tests, benchmarks and local tooling.

``running_sandbox()`` starts ``python -m services.amazon_sandbox --port 0`` through the
one launcher (devtools/processes.py), learns its port from its JSON start line, keeps
every JSON log line it writes (``SandboxProcess.log``), and on exit stops it with
SIGTERM, as an orchestrator would.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from devtools.processes import ChildProcess, StartError


@dataclass
class SandboxProcess:
    process: ChildProcess
    url: str
    log: list[dict[str, Any]] = field(default_factory=list)  # JSON log lines seen so far

    @property
    def pid(self) -> int:
        pid = self.process.pid
        assert pid is not None, "started before it is handed out"
        return pid

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then wait (SIGKILL after ``timeout``); the exit status."""
        return self.process.stop(timeout)


@contextmanager
def running_sandbox(
    *args: str, env: Mapping[str, str] | None = None, startup_timeout: float = 20.0
) -> Iterator[SandboxProcess]:
    """The sandbox on a free port of 127.0.0.1; ``args`` are extra CLI flags."""
    argv = [sys.executable, "-m", "services.amazon_sandbox", "--host", "127.0.0.1", "--port", "0"]
    child = ChildProcess(
        "amazon sandbox", [*argv, *args], log_path=None, env={**os.environ, **(env or {})}
    )
    child.start()
    lines: queue.Queue[str | None] = queue.Queue()
    # Read on a thread: the pipe must be drained while the caller works, or the sandbox
    # blocks on a full pipe.
    threading.Thread(target=_pump, args=(child.stdout, lines), daemon=True).start()
    log: list[dict[str, Any]] = []
    try:
        url = _wait_for_start(lines, log, startup_timeout)
        threading.Thread(target=_collect, args=(lines, log), daemon=True).start()
        yield SandboxProcess(child, url, log)
    finally:
        child.stop(10.0)


def _pump(stream: IO[bytes], lines: queue.Queue[str | None]) -> None:
    for raw in stream:
        lines.put(raw.decode("utf-8", "replace"))
    lines.put(None)


def _wait_for_start(
    lines: queue.Queue[str | None], log: list[dict[str, Any]], timeout: float
) -> str:
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise StartError(f"the sandbox did not start within {timeout} s: {log}") from None
        if line is None:
            raise StartError(f"the sandbox exited before listening: {log}")
        entry = _parse(line)
        log.append(entry)
        if entry.get("event") == "start":
            return str(entry["url"])


def _collect(lines: queue.Queue[str | None], log: list[dict[str, Any]]) -> None:
    while (line := lines.get()) is not None:
        log.append(_parse(line))


def _parse(line: str) -> dict[str, Any]:
    try:
        entry = json.loads(line)
    except ValueError:
        return {"msg": line.rstrip()}
    return entry if isinstance(entry, dict) else {"msg": line.rstrip()}
