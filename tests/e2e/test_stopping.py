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

from devtools.topics_read import collect
from devtools.world import TERMINAL, Seller, job_events, open_shop, sandbox_stats, submit
from shared.events import JobEvent, JobRequested
from shared.job_data import said
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.topics import JOB_EVENTS
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
    for record in _records(log_path):
        if record.get("event") == "stopping":
            asked = datetime.fromisoformat(str(record["ts"]))
        elif record.get("event") == "stop":
            stopped = datetime.fromisoformat(str(record["ts"]))
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


# ------------------------------------------------ a submitter stopped mid-createFeed


async def _fault(stack: Stack, **fault: object) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{stack.sandbox_url}/_sandbox/faults", json=fault)
        assert answer.status_code == 201, answer.text


async def _clear_faults(stack: Stack) -> None:
    async with httpx.AsyncClient() as http:
        assert (await http.delete(f"{stack.sandbox_url}/_sandbox/faults")).status_code == 204


async def _marked_sending(
    stack: Stack, publisher: EventPublisher, name: str, **fault: object
) -> tuple[Seller, JobRequested]:
    """A seller of its own, whose createFeed calls meet ``fault``, and a job of one item
    once it is marked "sending the request to Amazon"."""
    seller = Seller(name, shop_id=f"shop-{name}", listed=2)
    await open_shop(stack.sandbox_url, publisher, seller)
    await _fault(stack, seller_id=seller.seller_id, operation="createFeed", **fault)
    job = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 7}])
    await submit(publisher, job)
    await collect(
        stack.bootstrap,
        JOB_EVENTS.name,
        lambda found: any(said(e.data).get("sending") for e in found if isinstance(e, JobEvent)),
        where=lambda e: isinstance(e, JobEvent) and e.job_id == job.job_id,
        timeout_s=120,
    )
    return seller, job


def _records(log_path: Path) -> list[dict[str, object]]:
    """The JSON records of the service's last start."""
    records: list[dict[str, object]] = []
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("====="):
            records = []
        elif line.startswith("{"):
            records.append(json.loads(line))
    return records


async def _stop(stack: Stack, name: str) -> list[dict[str, object]]:
    process = stack.services[name]
    assert process.proc is not None
    process.proc.send_signal(15)
    await eventually(lambda: not process.alive(), f"{name} exiting after SIGTERM")
    assert process.proc.returncode == 0, process.log_tail()
    return _records(process.log_path)


async def _one_feed_and_done(stack: Stack, seller: Seller, job_id: str) -> list[JobEvent]:
    events = (await job_events(stack.bootstrap, {job_id}, timeout_s=240))[job_id]
    assert events[-1].event_type == "JobDone", [e.event_type for e in events]
    stats = (await sandbox_stats(stack.sandbox_url, seller))["createFeed"]
    assert stats["calls"] - stats["throttled"] - stats["errors"] == 1, stats
    return events


async def test_a_submitter_stopped_while_throttled_takes_back_its_mark_and_sends_once(
    stack: Stack, publisher: EventPublisher
) -> None:
    """createFeed answered 429 on its granted token: the driver waits for another token
    in the critical section. Stopped then, nothing of it is at Amazon, so it takes its
    "sending" mark back, and the next owner sends it as a first time: no repeat counted,
    one feed."""
    seller, job = await _marked_sending(stack, publisher, "stop-throttled", status=429)
    await eventually(
        lambda: any(
            r.get("msg") == "throttled by Amazon" and r.get("job_id") == job.job_id
            for r in _records(stack.services["submitter"].log_path)
        ),
        "createFeed answered 429",
    )
    records = await _stop(stack, "submitter")
    assert not [r for r in records if r.get("unanswered")], "a refused call counted as unanswered"

    await _clear_faults(stack)
    stack.services["submitter"].start()
    events = await _one_feed_and_done(stack, seller, job.job_id)
    marks = [said(e.data)["sending"] for e in events if "sending" in said(e.data)]
    assert marks[:2] == [True, False], marks  # taken back on the way out, then sent anew
    resent = [
        r
        for r in _records(stack.services["submitter"].log_path)
        if r.get("job_id") == job.job_id and "sending it again" in str(r.get("msg"))
    ]
    assert not resent, resent


async def test_a_submitter_stopped_with_createfeed_in_flight_records_its_answer_first(
    stack: Stack, publisher: EventPublisher
) -> None:
    """SIGTERM while createFeed is on its way (the sandbox answers after 6 s, and the
    submitter runs with a stop deadline of 20 s, as an SRE sets it where Amazon answers
    slowly): the submitter waits for the answer and records the feed before it stops, so
    its next owner does not send it again."""
    submitter = stack.services["submitter"]
    await _stop(stack, "submitter")
    submitter.env["STOP_TIMEOUT_S"] = "20"
    try:
        submitter.start()
        seller, job = await _marked_sending(stack, publisher, "stop-inflight", latency_ms=6000)
        records = await _stop(stack, "submitter")
    finally:
        del submitter.env["STOP_TIMEOUT_S"]
    asked = next(i for i, r in enumerate(records) if r.get("event") == "stopping")
    answered = [
        i
        for i, r in enumerate(records)
        if r.get("operation") == "createFeed" and r.get("seller_id") == seller.seller_id
    ]
    assert answered and answered[-1] > asked, "no createFeed answer after SIGTERM: cut short"
    assert not [r for r in records if r.get("unanswered")]

    await _clear_faults(stack)
    submitter.start()
    events = await _one_feed_and_done(stack, seller, job.job_id)
    submitted = [e for e in events if e.event_type == "JobSubmitted"]
    assert len(submitted) == 1, [e.event_type for e in events]


async def test_a_createfeed_unanswered_by_the_stop_deadline_is_counted_and_sent_again(
    stack: Stack, publisher: EventPublisher
) -> None:
    """The sandbox answers createFeed after 6 s, past the default stop deadline (4.5 s):
    the stopping submitter says it leaves the call unanswered, and the next owner sends
    it again saying Amazon may hold it twice. One feed or two at Amazon, never silently."""
    seller, job = await _marked_sending(stack, publisher, "stop-slow", latency_ms=6000)
    records = await _stop(stack, "submitter")
    left = [r for r in records if r.get("unanswered")]
    assert [r["jobs"] for r in left] == [[job.job_id]], left

    await _clear_faults(stack)
    stack.services["submitter"].start()
    events = (await job_events(stack.bootstrap, {job.job_id}, timeout_s=240))[job.job_id]
    assert events[-1].event_type == "JobDone", [e.event_type for e in events]
    again = [
        r
        for r in _records(stack.services["submitter"].log_path)
        if r.get("job_id") == job.job_id and str(r.get("msg")).startswith("the last owner may")
    ]
    assert len(again) == 1, again
    stats = (await sandbox_stats(stack.sandbox_url, seller))["createFeed"]
    assert 1 <= stats["calls"] - stats["throttled"] - stats["errors"] <= 2, stats
