"""`make up` restarts what exits: SIGKILL the submitter and it is back, consuming, within
its backoff; SIGTERM still stops everything without a restart (docs/design.md §17).

Runs ``python -m devtools.up`` itself, against this module's broker and the suite's
MongoDB-compatible server (a database of its own), with fresh consumer groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from devtools.ports import free_port
from devtools.processes import ChildProcess
from devtools.up import SERVICES
from devtools.world import job_events, submit
from shared.events import JobRequested
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from tests.stack import SECRET_KEY
from tests.waiting import eventually

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STARTUP_S = 180.0  # six Python processes on a shared machine; only a safety net
STOP_S = 60.0


class Console:
    """``make up`` as a person at the terminal sees it."""

    def __init__(self, up: ChildProcess, log_path: Path) -> None:
        self.up = up
        self.lines: list[str] = []
        self.log_path = log_path
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with self.log_path.open("w") as log:
            async for raw in self.up.output_lines():
                line = ANSI.sub("", raw.decode("utf-8", "replace")).rstrip("\n")
                self.lines.append(line)
                log.write(line + "\n")
                log.flush()

    def pids(self, name: str) -> list[int]:
        """Every pid ``make up`` reported for the service, oldest first."""
        started = re.compile(rf"\[up\]\s+. {name}\s+running \(pid (\d+)")
        restarted = re.compile(rf"\[up\] {name} restarted \(pid (\d+)\)")
        found = []
        for line in self.lines:
            if match := started.search(line) or restarted.search(line):
                found.append(int(match.group(1)))
        return found

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def tail(self, n: int = 150) -> str:
        return "\n".join(self.lines[-n:])

    async def finish(self) -> None:
        await self._reader


@contextlib.asynccontextmanager
async def make_up(topics: str, mongo_url: str, log_path: Path) -> AsyncIterator[Console]:
    run = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        AMAZON_JOBS_DEMO="0",
        KAFKA_BOOTSTRAP_SERVERS=topics,
        MONGO_URL=mongo_url.rsplit("/", 1)[0] + f"/up_{run}",
        API_PORT=str(free_port()),
        SANDBOX_PORT=str(free_port()),
        AMAZON_JOBS_SECRET_KEY=SECRET_KEY,
        AMAZON_JOBS_API_KEYS="*:up-test-admin-key",
        AMAZON_JOBS_TIME_SCALE="600",
        SUBMITTER_CONSUMER_GROUP=f"up-submitter-{run}",
        POLLER_CONSUMER_GROUP=f"up-poller-{run}",
        APPLIER_CONSUMER_GROUP=f"up-applier-{run}",
        THROTTLE_CONSUMER_GROUP=f"up-throttle-{run}",
        PROJECTOR_CONSUMER_GROUP=f"up-projector-{run}",
        PYTHONUNBUFFERED="1",
    )
    up = ChildProcess("make up", [sys.executable, "-m", "devtools.up"], log_path=None, env=env)
    up.start()
    console = Console(up, log_path)
    try:
        yield console
    except BaseException:
        print(f"\n===== make up said (last lines) =====\n{console.tail()}")
        raise
    finally:
        up.kill()  # at once if it still runs; and ends whatever it left behind
        await console.finish()


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def refused_request(job_id: str) -> JobRequested:
    """A request the submitter decides at once: its account is not registered."""
    return JobRequested(
        job_id=job_id,
        shop_id="shop-up",
        account_id="acc-not-registered",
        job_type=JobType.UPDATE_QTY,
        items=[{"sku": "SKU-1", "quantity": 3}],
    )


async def test_make_up_restarts_a_killed_worker_which_then_consumes_again(
    topics: str, mongo_url: str, publisher: EventPublisher, test_output_dir: Path
) -> None:
    log_path = test_output_dir / "e2e" / f"make-up-{uuid.uuid4().hex[:8]}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    async with make_up(topics, mongo_url, log_path) as console:
        await eventually(lambda: bool(console.pids("submitter")), "make up to start")
        (first,) = console.pids("submitter")

        # Working before: the first submitter decides a request.
        before = f"before-kill-{uuid.uuid4().hex[:8]}"
        await submit(publisher, refused_request(before))
        events = await job_events(topics, {before}, timeout_s=STARTUP_S)
        assert events[before][-1].event_type == "JobFailed"

        os.kill(first, signal.SIGKILL)
        await eventually(
            lambda: console.said("submitter was killed by SIGKILL — restarting in 1 s (restart 1)"),
            "make up to say it restarts the submitter",
        )
        await eventually(lambda: len(console.pids("submitter")) == 2, "a new pid")
        second = console.pids("submitter")[1]
        assert second != first
        assert running(second)

        # Working after: a request published after the kill is decided by the new one.
        after = f"after-kill-{uuid.uuid4().hex[:8]}"
        await submit(publisher, refused_request(after))
        events = await job_events(topics, {after}, timeout_s=STARTUP_S)
        assert events[after][-1].event_type == "JobFailed"

        # Ctrl-C / SIGTERM: everything stops, and nothing is restarted on the way.
        assert console.up.alive()
        names = ("amazon_sandbox", *SERVICES)
        children = {pid for name in names for pid in console.pids(name)}
        assert len(children) == len(names) + 1  # one pid each, and the submitter's second
        console.up.terminate()
        assert await asyncio.wait_for(console.up.exited(), STOP_S) == 0
        await console.finish()
        assert console.said("stopped everything")
        stopping = next(i for i, line in enumerate(console.lines) if "[up] stopping" in line)
        restarts = [line for line in console.lines if "restarting in" in line]
        assert len(restarts) == 1 and "submitter was killed by SIGKILL" in restarts[0]
        assert not [line for line in console.lines[stopping:] if "restarted (pid" in line]
        assert not [pid for pid in children if running(pid)]
