"""Run the sandbox as a child process: for tests, the benchmark and local tooling.

``running_sandbox()`` starts ``python -m services.amazon_sandbox --port 0``, waits for its
JSON start line to learn the port, and on exit stops it with SIGTERM, as an orchestrator
would.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SandboxProcess:
    process: subprocess.Popen[str]
    url: str
    log: list[dict[str, Any]] = field(default_factory=list)  # JSON log lines seen so far

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


@contextmanager
def running_sandbox(
    *args: str, env: Mapping[str, str] | None = None, startup_timeout: float = 20.0
) -> Iterator[SandboxProcess]:
    """The sandbox on a free port of 127.0.0.1; ``args`` are extra CLI flags."""
    command = [
        sys.executable,
        "-m",
        "services.amazon_sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    ]
    process = subprocess.Popen(
        [*command, *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,  # the JSON log
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stderr is not None
    threading.Thread(target=_pump, args=(process.stderr, lines), daemon=True).start()
    log: list[dict[str, Any]] = []
    try:
        url = _wait_for_start(lines, log, startup_timeout)
        sandbox = SandboxProcess(process, url, log)
        threading.Thread(target=_collect, args=(lines, log), daemon=True).start()
        yield sandbox
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_start(
    lines: queue.Queue[str | None], log: list[dict[str, Any]], timeout: float
) -> str:
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the sandbox did not start within {timeout} s") from None
        if line is None:
            raise RuntimeError(f"the sandbox exited before listening: {log}")
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
