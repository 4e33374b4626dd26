"""A shop cannot act as another shop (docs/design.md §22): inbound events must be signed
with the key of the shop they name, and ``amazon.accounts`` takes only the system's
writes. The pipeline runs with AMAZON_JOBS_REQUIRE_SIGNED_EVENTS=true."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devtools.topics_read import collect
from devtools.world import Seller, job_events, open_shop
from shared.codec import encode
from shared.events import DeadLettered, Event, JobDone, JobFailed, JobRequested
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.signing import HEADER, Signer, master_secret, shop_key, signature
from shared.topics import ACCOUNTS, DEAD_LETTERS, JOB_REQUESTS
from tests.conftest import publisher_on
from tests.stack import SECRET_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

STACK_ENV = {"AMAZON_JOBS_REQUIRE_SIGNED_EVENTS": "true"}
MASTER = master_secret(None, SECRET_KEY)


@pytest.fixture(scope="module")
async def publisher(topics: str) -> AsyncIterator[EventPublisher]:
    """The system's publisher (as the API and scheduler sign): each ingress event with
    its shop's key, account records with the system key."""
    async with publisher_on(topics) as publisher:
        publisher.signer = Signer(MASTER)
        yield publisher


async def send_as(publisher: EventPublisher, shop: str, topic: str, key: str, event: Event) -> None:
    """What a shop holding only its own key can publish: ``event`` signed with it."""
    value, raw_key = encode(event), key.encode()
    header = signature(shop_key(MASTER, shop), topic, raw_key, value)
    await publisher.producer.send_and_wait(topic, value, key=raw_key, headers=[(HEADER, header)])


async def dead_letter_of(bootstrap: str, job_id: str) -> DeadLettered:
    def about(e: Event) -> bool:
        return isinstance(e, DeadLettered) and e.key == job_id

    (letter,) = await collect(bootstrap, DEAD_LETTERS.name, bool, where=about, timeout_s=120)
    assert isinstance(letter, DeadLettered)
    return letter


async def test_an_event_signed_by_its_own_shop_runs(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("sig", shop_id="shop-sig")
    await open_shop(pipeline.sandbox_url, publisher, seller)
    job = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 2}])
    await send_as(publisher, "shop-sig", JOB_REQUESTS.name, job.job_id, job)
    events = (await job_events(pipeline.bootstrap, {job.job_id}))[job.job_id]
    assert isinstance(events[-1], JobDone)


async def test_an_event_claiming_another_shop_is_dead_lettered(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    victim = Seller("victim", shop_id="shop-victim")
    await open_shop(pipeline.sandbox_url, publisher, victim)
    forged = victim.request(JobType.STOP_PRODUCTS, items=[{"sku": victim.sku(0)}])
    await send_as(publisher, "shop-attacker", JOB_REQUESTS.name, forged.job_id, forged)

    letter = await dead_letter_of(pipeline.bootstrap, forged.job_id)
    assert "signature does not match shop 'shop-victim'" in letter.error
    assert letter.original_topic == JOB_REQUESTS.name
    # The letter keeps the attacker's signature, so a replay sends it as it came and is
    # refused again: the system never signs a letter anew (it would launder the forgery).
    forged_sig = signature(
        shop_key(MASTER, "shop-attacker"), JOB_REQUESTS.name, forged.job_id.encode(), encode(forged)
    )
    assert letter.signature == forged_sig.decode()


async def test_an_unsigned_event_is_dead_lettered(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("unsigned", shop_id="shop-unsigned")
    await open_shop(pipeline.sandbox_url, publisher, seller)
    job = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 1}])
    await publisher.producer.send_and_wait(JOB_REQUESTS.name, encode(job), key=job.job_id.encode())

    letter = await dead_letter_of(pipeline.bootstrap, job.job_id)
    assert "unsigned event claiming shop 'shop-unsigned'" in letter.error


async def test_an_account_write_from_a_shop_is_refused(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    victim = Seller("owner", shop_id="shop-owner")
    await open_shop(pipeline.sandbox_url, publisher, victim)
    # The attacker re-registers the victim's account as its own, signed with its own key.
    taken = victim.account().model_copy(update={"shop_id": "shop-taker"})
    await send_as(publisher, "shop-taker", ACCOUNTS.name, victim.account_id, taken)

    def refused_by_submitter() -> bool:
        log = pipeline.services["submitter"].log_path.read_text()
        return "refused record" in log and "written only by the system" in log

    await eventually(refused_by_submitter, "the submitter refusing the shop's account write")
    attempt = JobRequested(
        job_id=f"taker-{victim.account_id}",
        shop_id="shop-taker",
        account_id=victim.account_id,
        job_type=JobType.STOP_PRODUCTS,
        items=[{"sku": victim.sku(1)}],
    )
    await send_as(publisher, "shop-taker", JOB_REQUESTS.name, attempt.job_id, attempt)
    events = (await job_events(pipeline.bootstrap, {attempt.job_id}))[attempt.job_id]
    assert isinstance(events[-1], JobFailed)
    assert "does not belong to shop 'shop-taker'" in " ".join(
        line.message for line in events[-1].log
    )
