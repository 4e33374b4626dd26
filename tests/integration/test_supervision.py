"""No silent death, and a prompt stop: the real ``run_service`` in a child process decides
its exit code the way ``make up``, compose and Kubernetes need (docs/design.md §17)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from devtools import REPO_ROOT

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


def start(mode: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.misbehaving_service", mode],
        cwd=REPO_ROOT,
        env={**os.environ, "AMAZON_JOBS_LOG_LEVEL": "INFO", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"


def ended(proc: subprocess.Popen[str]) -> Ended:
    _, stderr = proc.communicate(timeout=WAIT_S)
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return Ended(proc.returncode, logs)


def test_a_supervised_task_that_dies_ends_the_process_with_code_1() -> None:
    result = ended(start("task-dies"))
    assert result.code == 1
    died = result.said(
        "throttle grants reader died: ConnectionError: the broker closed the connection"
    )
    assert died["task"] == "throttle grants reader" and died["level"] == "error"
    assert "ConnectionError" in died["exc"]  # with its traceback
    assert result.said("service failed; exiting with code 1")["level"] == "error"


def test_a_supervised_task_that_returns_unasked_ends_the_process_with_code_1() -> None:
    result = ended(start("task-returns"))
    assert result.code == 1
    died = result.said("amazon.accounts reader ended without the service being asked to stop")
    assert died["task"] == "amazon.accounts reader"


def test_sigterm_stops_a_service_that_ignores_stop_after_the_deadline_with_code_0() -> None:
    proc = start("ignores-stop", STOP_TIMEOUT_S="0.5")
    ready(proc)
    proc.send_signal(signal.SIGTERM)
    result = ended(proc)
    assert result.code == 0
    assert result.said("asked to stop")["signal"] == "SIGTERM"
    assert result.said("service did not stop within 0.5 s; cancelling what is left")
    assert result.said("service stopped")


def test_a_service_that_will_not_even_be_cancelled_still_exits() -> None:
    proc = start("ignores-cancel", STOP_TIMEOUT_S="0.5")
    ready(proc)
    proc.send_signal(signal.SIGINT)
    result = ended(proc)
    assert result.code == 0
    assert result.said("service did not finish stopping; exiting anyway")["exit_code"] == 0


def test_a_stalled_consumer_loop_ends_the_process_with_code_1() -> None:
    result = ended(start("stalls", LIVENESS_STALL_S="0.5", STOP_TIMEOUT_S="0.5"))
    assert result.code == 1
    (stalled,) = [line for line in result.logs if line.get("task") == "liveness"]
    assert stalled["msg"].startswith("job requests consumer stalled: no progress for")
    assert stalled["level"] == "error"
