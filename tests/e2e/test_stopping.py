"""SIGTERM to each service in the middle of a burst: it stops within seconds, committing
what it finished, and once it is back every job of the burst ends, once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from devtools.world import TERMINAL, Seller, job_events, open_shop, submit
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from tests.e2e.conftest import PIPELINE, make_stack
from tests.stack import ADMIN_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

BURST = 60
STOP_BUDGET_S = 5.0  # the promise: every service stops within 5 s of SIGTERM


@pytest.fixture(scope="module")
def stack(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    stack = make_stack(topics, mongo_url, test_output_dir / "e2e")
    try:
        stack.start([*PIPELINE, "api"])
        yield stack
    finally:
        stack.stop()


def stop_seconds(log_path: Path) -> float:
    """From "asked to stop" to "service stopped" in the service's own last start."""
    asked = stopped = None
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("====="):
            asked = stopped = None
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if record.get("event") == "stopping":
            asked = datetime.fromisoformat(record["ts"])
        elif record.get("event") == "stop":
            stopped = datetime.fromisoformat(record["ts"])
    assert asked is not None and stopped is not None, f"no stop logged in {log_path}"
    return (stopped - asked).total_seconds()


@pytest.mark.parametrize("service", ["submitter", "poller", "applier", "throttle", "api"])
async def test_sigterm_mid_burst_stops_promptly_and_loses_nothing(
    stack: Stack, publisher: EventPublisher, service: str
) -> None:
    seller = Seller(f"stop-{service}", shop_id=f"shop-stop-{service}", listed=10)
    await open_shop(stack.sandbox_url, publisher, seller)
    jobs = [
        seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(n % 10), "quantity": n}])
        for n in range(BURST)
    ]
    await submit(publisher, *jobs[: BURST // 2])
    process = stack.services[service]
    assert process.proc is not None
    process.proc.send_signal(15)  # SIGTERM, while the first half is on its way
    await submit(publisher, *jobs[BURST // 2 :])
    await eventually(lambda: not process.alive(), f"{service} exiting after SIGTERM")
    assert process.proc.returncode == 0, process.log_tail()
    took = stop_seconds(process.log_path)
    print(f"\n{service} stopped {took:.2f}s after SIGTERM")
    assert took <= STOP_BUDGET_S

    process.start()
    if service == "api":
        stack.wait_http(f"{stack.api_url}/healthz", "api")
    events = await job_events(stack.bootstrap, {j.job_id for j in jobs}, timeout_s=240)
    endings = Counter(
        e.event_type for seen in events.values() for e in seen if e.event_type in TERMINAL
    )
    assert endings == {"JobDone": BURST}, endings
    if service == "api":
        # The projector inside the API committed what it wrote; the rest it writes now.
        async with httpx.AsyncClient(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        ) as http:

            async def projected() -> set[str]:
                found: set[str] = set()
                for job in jobs:
                    answer = await http.get(f"/v1/jobs/{job.job_id}")
                    if answer.status_code == 200 and answer.json()["status"] == "done":
                        found.add(job.job_id)
                return found

            async def all_projected() -> bool:
                return await projected() == {j.job_id for j in jobs}

            await eventually(all_projected, "every job projected as done")
