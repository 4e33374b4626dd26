"""A submitter killed between restoring a canceled job's listings and recording the cancel:
once it is back, the job is canceled once and its listings are as before the job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.topics_read import collect, read_to_end
from devtools.world import Seller, job_events, open_shop, submit
from shared.events import CancelRequested, JobCreated, ListingState
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.topics import JOB_EVENTS, JOB_REQUESTS, LISTINGS
from tests.e2e.conftest import PIPELINE, make_stack
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

CRASH = "submitter:cancel-after-restore"


@pytest.fixture(scope="module")
def crashing(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    overrides: dict[str, object] = {
        "A2UNDOSELLER": {"feed_submit": {"burst": 1, "rate_per_s": 0.000001}}
    }
    stack = make_stack(
        topics, mongo_url, test_output_dir / "e2e", overrides, AMAZON_JOBS_CRASH_AT=CRASH
    )
    try:
        stack.start(PIPELINE)
        yield stack
    finally:
        stack.stop()


async def test_a_kill_between_restore_and_cancel_still_ends_restored(
    crashing: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("undo", shop_id="shop-undo", seller_id="A2UNDOSELLER")
    await open_shop(crashing.sandbox_url, publisher, seller, synced_skus=range(2))
    first = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 1}])
    await submit(publisher, first)
    await job_events(crashing.bootstrap, {first.job_id})  # took the account's only token
    second = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(1), "quantity": 99}])
    await submit(publisher, second)
    await collect(
        crashing.bootstrap,
        JOB_EVENTS.name,
        lambda found: bool(found),
        where=lambda e: isinstance(e, JobCreated) and e.job_id == second.job_id,
    )
    await publisher.publish(
        JOB_REQUESTS, second.job_id, CancelRequested(job_id=second.job_id, shop_id=seller.shop_id)
    )
    submitter = crashing.services["submitter"]
    await eventually(lambda: not submitter.alive(), "the submitter dying at the crash point")
    assert submitter.proc is not None and submitter.proc.returncode == 137

    # Nothing recorded the cancel yet; the listing already holds its old state.
    seen = await read_to_end(
        crashing.bootstrap,
        JOB_EVENTS.name,
        where=lambda e: getattr(e, "job_id", "") == second.job_id,
    )
    assert [e.event_type for e in seen] == ["JobReserved", "JobCreated"]

    del submitter.env["AMAZON_JOBS_CRASH_AT"]
    submitter.start()
    events = (await job_events(crashing.bootstrap, {second.job_id}))[second.job_id]
    assert [e.event_type for e in events] == ["JobReserved", "JobCreated", "JobCanceled"]
    listing = await read_to_end(
        crashing.bootstrap,
        LISTINGS.name,
        where=lambda e: isinstance(e, ListingState) and e.sku == seller.sku(1),
    )
    assert isinstance(listing[-1], ListingState)
    assert (listing[-1].status, listing[-1].quantity) == ("active", 10)
