"""No silent death, and a prompt stop: the real ``run_service`` in a child process decides
its exit code the way ``make up``, compose and Kubernetes need (docs/design.md §17)."""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.processes import ChildProcess

WAIT_S = 60  # only so that a broken build cannot hang the suite


@dataclass
class Ended:
    code: int
    logs: list[dict[str, Any]]

    def said(self, msg: str) -> dict[str, Any]:
        for line in self.logs:
            if line.get("msg") == msg:
                return line
        raise AssertionError(f"never logged {msg!r}: {[line.get('msg') for line in self.logs]}")


def start(tmp_path: Path, mode: str, **env: str) -> ChildProcess:
    """The misbehaving service in ``mode``, its stdout and stderr (the JSON log) in a file."""
    service = ChildProcess(
        mode,
        [sys.executable, "-m", "tests.integration.misbehaving_service", mode],
        log_path=tmp_path / f"{mode}.log",
        env={**os.environ, "AMAZON_JOBS_LOG_LEVEL": "INFO", **env},
    )
    service.start()
    return service


def ready(service: ChildProcess) -> None:
    service.wait_ready(lambda: "ready" in service.log_path.read_text().splitlines(), WAIT_S)


def ended(service: ChildProcess) -> Ended:
    try:
        code = service.wait(WAIT_S)
    finally:
        service.stop()
    lines = service.log_path.read_text().splitlines()
    return Ended(code, [json.loads(line) for line in lines if line.startswith("{")])


def test_a_supervised_task_that_dies_ends_the_process_with_code_1(tmp_path: Path) -> None:
    result = ended(start(tmp_path, "task-dies"))
    assert result.code == 1
    died = result.said(
        "throttle grants reader died: ConnectionError: the broker closed the connection"
    )
    assert died["task"] == "throttle grants reader" and died["level"] == "error"
    assert "ConnectionError" in died["exc"]  # with its traceback
    assert result.said("service failed; exiting with code 1")["level"] == "error"


def test_a_supervised_task_that_returns_unasked_ends_the_process_with_code_1(
    tmp_path: Path,
) -> None:
    result = ended(start(tmp_path, "task-returns"))
    assert result.code == 1
    died = result.said("amazon.accounts reader ended without the service being asked to stop")
    assert died["task"] == "amazon.accounts reader"


def test_sigterm_stops_a_service_that_ignores_stop_after_the_deadline_with_code_0(
    tmp_path: Path,
) -> None:
    service = start(tmp_path, "ignores-stop", STOP_TIMEOUT_S="0.5")
    ready(service)
    service.signal(signal.SIGTERM)
    result = ended(service)
    assert result.code == 0
    assert result.said("asked to stop")["signal"] == "SIGTERM"
    assert result.said("service did not stop within 0.5 s; cancelling what is left")
    assert result.said("service stopped")


def test_a_service_that_will_not_even_be_cancelled_still_exits(tmp_path: Path) -> None:
    service = start(tmp_path, "ignores-cancel", STOP_TIMEOUT_S="0.5")
    ready(service)
    service.signal(signal.SIGINT)
    result = ended(service)
    assert result.code == 0
    assert result.said("service did not finish stopping; exiting anyway")["exit_code"] == 0


def test_a_stalled_consumer_loop_ends_the_process_with_code_1(tmp_path: Path) -> None:
    result = ended(start(tmp_path, "stalls", LIVENESS_STALL_S="0.5", STOP_TIMEOUT_S="0.5"))
    assert result.code == 1
    (stalled,) = [line for line in result.logs if line.get("task") == "liveness"]
    assert stalled["msg"].startswith("job requests consumer stalled: no progress for")
    assert stalled["level"] == "error"
