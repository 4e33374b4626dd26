"""Throttles for integration tests: in-process on the session's broker, or as a real
``python -m services.throttle`` child process that a test may kill."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devtools.processes import ChildProcess
from devtools.topics_read import records_to_end
from services.throttle.service import ThrottleService
from services.throttle.settings import ThrottleSettings
from shared.codec import decode
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.quotas import QuotaClass
from shared.throttle.client import ThrottleClient
from shared.throttle.messages import QuotaKey, TokenGranted
from shared.topics import THROTTLE_GRANTS
from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[2]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def feed_key(account_id: str) -> QuotaKey:
    return QuotaKey(seller_id=account_id, region="EU", quota_class=QuotaClass.FEED_SUBMIT)


@dataclass
class Received:
    """Every grant a test's clients got, with the (monotonic) time it arrived."""

    t0: float = field(default_factory=time.monotonic)
    grants: list[tuple[float, TokenGranted, str]] = field(default_factory=list)

    def add(self, grant: TokenGranted, shop_id: str) -> None:
        self.grants.append((time.monotonic() - self.t0, grant, shop_id))

    def distinct(self) -> list[tuple[float, TokenGranted, str]]:
        """First arrival of each grant number (repeats of a grant are not a new token)."""
        seen: dict[int, tuple[float, TokenGranted, str]] = {}
        for item in sorted(self.grants, key=lambda g: g[0]):
            seen.setdefault(item[1].grant_seq, item)
        return sorted(seen.values(), key=lambda g: g[0])

    def assert_within_bucket(self, burst: int, rate_per_s: float, slack: float = 1e-6) -> None:
        """No more grants by any instant than the bucket could have made since t0."""
        for n, (t, grant, _) in enumerate(self.distinct(), start=1):
            allowed = burst + rate_per_s * t
            assert n <= allowed + slack, (
                f"grant #{n} (seq {grant.grant_seq}) at {t:.3f}s: only {allowed:.2f} allowed"
            )


@pytest.fixture
async def client_factory(
    topics: str, publisher: EventPublisher
) -> AsyncIterator[Callable[..., AbstractAsyncContextManager[ThrottleClient]]]:
    clients: list[ThrottleClient] = []

    @contextlib.asynccontextmanager
    async def make(**kwargs: Any) -> AsyncIterator[ThrottleClient]:
        kwargs.setdefault("resend_interval_s", 2.0)
        client = ThrottleClient(topics, publisher, unique("requester"), **kwargs)
        await client.start()
        clients.append(client)
        yield client

    yield make
    for client in clients:
        await client.stop()


@pytest.fixture
async def run_inprocess(topics: str) -> AsyncIterator[Callable[..., Any]]:
    """Start a throttle in this process with the given settings; stopped at teardown."""
    started: list[ThrottleService] = []

    async def start(**overrides: Any) -> ThrottleService:
        fields: dict[str, Any] = {
            "kafka_bootstrap_servers": topics,
            "consumer_group": unique("throttle-test"),
            "session_timeout_s": 6,
            # This group is new; the requests of earlier tests are not its business.
            "new_group_from": "latest",
            **overrides,
        }
        settings = ThrottleSettings(**fields)
        service = ThrottleService(settings)
        await service.start()
        started.append(service)
        # Ready: keys rebuilt, and the consumer positioned (with "latest" a request sent
        # before the seek would be skipped).
        await eventually(lambda: service.ready, "partitions ready")
        return service

    yield start
    for service in started:
        try:
            async with asyncio.timeout(30):
                await service.stop()
        except TimeoutError:
            for task in asyncio.all_tasks():
                task.print_stack(limit=8)
            raise


class ThrottleProcess:
    """``python -m services.throttle`` as a child process, killable like in production."""

    def __init__(self, bootstrap: str, log_dir: Path, env: dict[str, str]) -> None:
        self.group = unique("throttle-proc")
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "THROTTLE_CONSUMER_GROUP": self.group,
            # Static membership: a restart under the same id gets its partitions back at
            # once instead of after the session timeout.
            "AMAZON_JOBS_INSTANCE_ID": self.group + "-0",
            "THROTTLE_SESSION_TIMEOUT_S": "6",
            "HEALTH_PORT": "0",
            "PYTHONPATH": str(REPO),
            **env,
        }
        self.log_path = log_dir / f"{self.group}.log"
        self.process = ChildProcess(
            "throttle", [sys.executable, "-m", "services.throttle"], log_path=self.log_path, env=env
        )

    def start(self) -> None:
        self.process.start()

    def ready_count(self) -> int:
        text = self.log_path.read_text() if self.log_path.exists() else ""
        return sum(1 for line in text.splitlines() if '"msg": "partitions ready"' in line)

    async def wait_ready(self) -> None:
        await eventually(lambda: self.ready_count() >= self.process.starts, "throttle ready")

    def kill(self) -> None:
        self.process.kill()

    def stop(self) -> int | None:
        return self.process.stop(30)

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                lines.append(json.loads(line))
        return lines


@pytest.fixture
def throttle_process(
    topics: str, test_output_dir: Path
) -> Iterator[Callable[[dict[str, str]], ThrottleProcess]]:
    procs: list[ThrottleProcess] = []

    def make(env: dict[str, str]) -> ThrottleProcess:
        proc = ThrottleProcess(topics, test_output_dir, env)
        procs.append(proc)
        return proc

    yield make
    for proc in procs:
        proc.stop()


async def grants_on_topic(bootstrap: str, key: QuotaKey) -> list[tuple[float, TokenGranted]]:
    """Every grant of ``key`` the throttle ever published, with its (wall-clock) send time:
    the ground truth, including grants no requester was waiting for any more."""
    found: list[tuple[float, TokenGranted]] = []
    for record in await records_to_end(bootstrap, THROTTLE_GRANTS.name):
        event = decode(record.value) if record.value is not None else None
        if isinstance(event, TokenGranted) and event.quota_key == key:
            found.append((record.timestamp_ms / 1000, event))
    return sorted(found, key=lambda item: item[0])


def assert_grants_within_bucket(
    grants: list[tuple[float, TokenGranted]], since: float, burst: int, rate_per_s: float
) -> None:
    """Each grant number is one token; a request id has one number (repeats reuse it); and
    by any instant no more numbers were handed out than the bucket held since ``since``."""
    seq_of: dict[str, set[int]] = {}
    id_of: dict[int, set[str]] = {}
    first_seen: dict[int, float] = {}
    for at, grant in grants:
        seq_of.setdefault(grant.request_id, set()).add(grant.grant_seq)
        id_of.setdefault(grant.grant_seq, set()).add(grant.request_id)
        first_seen.setdefault(grant.grant_seq, at)
    assert all(len(s) == 1 for s in seq_of.values()), {
        r: s for r, s in seq_of.items() if len(s) > 1
    }
    assert all(len(r) == 1 for r in id_of.values())
    for n, at in enumerate(sorted(first_seen.values()), start=1):
        allowed = burst + rate_per_s * (at - since)
        # the broker timestamp has millisecond resolution
        assert n <= allowed + rate_per_s * 0.002, (
            f"grant #{n} at +{at - since:.3f}s: {allowed:.2f} allowed"
        )


async def closed_loop(
    client: ThrottleClient,
    key: QuotaKey,
    received: Received,
    *,
    shop_id: str,
    until: float,
    job_type: JobType = JobType.UPDATE_QTY,
) -> None:
    """One requester that asks again as soon as it has its token, until ``until``."""
    while time.monotonic() < until:
        rid = unique(shop_id)
        try:
            grant = await client.acquire(
                key,
                request_id=rid,
                job_id=f"job-{rid}",
                job_type=job_type,
                shop_id=shop_id,
                timeout=max(0.1, until - time.monotonic()),
            )
        except TimeoutError:
            return
        received.add(grant, shop_id)


async def gather_all(*coros: Any) -> list[Any]:
    return list(await asyncio.gather(*coros))
