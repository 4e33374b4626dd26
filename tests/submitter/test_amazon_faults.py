"""The submitter's calls to Amazon when Amazon or the network fails (5xx, timeouts, 429,
refusals), against the fake SP-API's injected faults.

What a merchant cares about: a refusal fails the job with a reason; a failure that may
pass is transient (the service tries the job again later), never a failed job; and how
often a call with a lasting effect reaches Amazon. The client (shared/spapi/client.py)
sends each call once; the job's Metered tries a 5xx, a timeout or a lost connection again
after a backoff, each time on a fresh token; ``createFeed`` and ``createReport`` only when
the request never left (a refused connection, whose token goes back): after it was sent,
a 5xx or a lost answer may hide a success, so it is ``MaybeAccepted`` at once and whoever
sends it again says so (the submitter's log line and resubmission counter).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from services.submitter.amazon import Submitted, import_orders, prepare, request_report
from shared.events import OrderImported
from shared.failures import failure_of
from shared.jobs import JobType
from shared.metered import StillThrottled
from shared.quotas import QuotaClass
from shared.spapi import MaybeAccepted, PermanentError, TransientError
from tests.fake_throttle import ACCOUNT, FakeThrottle, metered
from tests.spapi.fake_amazon import (
    NO_FAULT,
    Fault,
    amazon_error,
    lost_answer,
    lost_request,
    server_error,
    throttled,
)
from tests.submitter.fake_seller import (
    CATALOG,
    DOCUMENT,
    FEEDS,
    LOOKUP,
    ORDERS,
    PAGES,
    REPORTS,
    SINCE,
    SUBMIT,
    Published,
    Seller,
    ean,
    job,
    product,
    run_import,
    submit_feed,
)

# The jobs' Metered (tests/fake_throttle.py): 4 attempts in all, backoff 0.5 s doubling,
# jitter drawn 0.5, each backoff recorded in ``throttle.backoffs``.
ATTEMPTS = 4
BACKOFFS = [0.25, 0.5, 1.0]


# ------------------------------------------------------------------ the calls with a lasting effect


async def _feed(seller: Seller, throttle: FakeThrottle) -> Submitted:
    _, _, submitted = await submit_feed(
        seller, throttle, job(JobType.UPDATE_QTY, [{"sku": "PEN-1", "quantity": 3}])
    )
    return submitted


async def _report(seller: Seller, throttle: FakeThrottle) -> Submitted:
    state = job(JobType.INVENTORY_REPORT)
    job_metered = metered(throttle, state.job_type)
    await job_metered.first_token(QuotaClass.REPORT_REQUEST)
    return await request_report(seller.client, job_metered, ACCOUNT, state)


@dataclass(frozen=True)
class Lasting:
    """A call that leaves something at Amazon each time it is carried out."""

    operation: str
    path: str
    quota_class: QuotaClass
    run: Callable[[Seller, FakeThrottle], Awaitable[Submitted]]
    carried_out: Callable[[Seller], list[dict[str, Any]]]  # what Amazon holds
    recorded: Callable[[Submitted], str | None]  # the id the job records
    kind: str  # the fake's ids: feed-1, report-1, …

    def __str__(self) -> str:
        return self.operation


CREATE_FEED = Lasting(
    "createFeed",
    f"{FEEDS}/feeds",
    SUBMIT,
    _feed,
    lambda s: s.feeds,
    lambda s: s.data.feed_id,
    "feed",
)
CREATE_REPORT = Lasting(
    "createReport",
    REPORTS,
    QuotaClass.REPORT_REQUEST,
    _report,
    lambda s: s.reports,
    lambda s: s.data.report_id,
    "report",
)
LASTING = [CREATE_FEED, CREATE_REPORT]


@pytest.mark.parametrize("call", LASTING, ids=str)
@pytest.mark.parametrize(
    "make_fault",
    [lost_answer, lambda: server_error(500, reached=True), server_error],
    ids=["read timeout", "500 after carrying it out", "503"],
)
async def test_a_call_with_a_lasting_effect_is_not_repeated_once_it_was_sent(
    seller: Seller, call: Lasting, make_fault: Callable[[], Fault]
) -> None:
    # Amazon may have carried it out (it did, for the first two faults): a blind repeat
    # would make a second feed (a shipment confirmed twice) that no job records.
    throttle = FakeThrottle()
    seller.fake.inject("POST", call.path, make_fault())

    with pytest.raises(MaybeAccepted) as caught:
        await call.run(seller, throttle)

    assert len(seller.fake.api_requests(call.path)) == 1
    assert len(call.carried_out(seller)) <= 1
    assert (caught.value.operation, caught.value.attempts) == (call.operation, 1)
    assert "may have accepted" in str(caught.value)
    # Still a failure that may pass (the job is tried again, saying so), not a failed job.
    assert isinstance(caught.value, TransientError)
    assert failure_of(caught.value, "send the request to Amazon") is None
    assert seller.sleep.delays == [] and throttle.backoffs == []
    assert throttle.tokens()[call.quota_class] == 1


@pytest.mark.parametrize("call", LASTING, ids=str)
async def test_a_call_that_never_left_is_retried_into_one(seller: Seller, call: Lasting) -> None:
    throttle = FakeThrottle()
    seller.fake.inject("POST", call.path, lost_request())

    submitted = await call.run(seller, throttle)

    assert len(seller.fake.api_requests(call.path)) == 2
    assert len(call.carried_out(seller)) == 1
    assert call.recorded(submitted) == f"{call.kind}-1"
    # The first token bought nothing at Amazon and went back; the repeat had its own.
    assert throttle.tokens()[call.quota_class] == 2
    assert [g.quota_key.quota_class for g in throttle.released] == [call.quota_class]
    assert throttle.backoffs == BACKOFFS[:1]


@pytest.mark.parametrize("call", LASTING, ids=str)
async def test_a_call_whose_connection_fails_every_attempt_is_transient_not_a_failed_job(
    seller: Seller, call: Lasting
) -> None:
    throttle = FakeThrottle()
    seller.fake.inject("POST", call.path, *(lost_request() for _ in range(ATTEMPTS)))

    with pytest.raises(TransientError) as caught:
        await call.run(seller, throttle)

    assert not isinstance(caught.value, MaybeAccepted)
    assert failure_of(caught.value, "send the request to Amazon") is None  # tried again later
    assert (caught.value.operation, caught.value.attempts) == (call.operation, ATTEMPTS)
    assert len(seller.fake.api_requests(call.path)) == ATTEMPTS
    assert throttle.backoffs == BACKOFFS
    assert throttle.tokens()[call.quota_class] == ATTEMPTS  # each try on its own token…
    assert len(throttle.released) == ATTEMPTS  # …given back, since none left


@pytest.mark.parametrize("call", LASTING, ids=str)
async def test_amazon_refusing_the_call_fails_the_job_as_refused_without_a_retry(
    seller: Seller, call: Lasting
) -> None:
    throttle = FakeThrottle()
    refusal = amazon_error(400, "InvalidInput", "Invalid input")
    seller.fake.inject("POST", call.path, Fault(response=refusal))

    with pytest.raises(PermanentError) as caught:
        await call.run(seller, throttle)

    failure = failure_of(caught.value, "send the request to Amazon")
    assert failure is not None
    kind, message = failure
    assert kind == "refused"
    assert "InvalidInput: Invalid input" in message
    assert len(seller.fake.api_requests(call.path)) == 1
    assert call.carried_out(seller) == [] and seller.sleep.delays == []


# ------------------------------------------------------------------ feed documents


async def test_a_lost_feed_document_answer_is_retried_and_its_document_left_unused(
    seller: Seller,
) -> None:
    # A second feed document costs nothing but its token: Amazon drops unused ones. The
    # feed is sent once.
    throttle = FakeThrottle()
    seller.fake.inject("POST", f"{FEEDS}/documents", lost_answer())

    submitted = await _feed(seller, throttle)

    assert seller.documents["doc-1"][1] is None  # created, its answer lost, never uploaded
    assert submitted.data.input_document_id == "doc-2"
    assert [f["inputFeedDocumentId"] for f in seller.feeds] == ["doc-2"]
    assert throttle.tokens() == {SUBMIT: 1, DOCUMENT: 2}  # one per createFeedDocument
    assert throttle.backoffs == BACKOFFS[:1]


async def test_a_5xx_on_prepare_sends_no_feed_and_keeps_the_first_token_for_later(
    seller: Seller,
) -> None:
    throttle = FakeThrottle()
    seller.fake.inject("POST", f"{FEEDS}/documents", *(server_error() for _ in range(ATTEMPTS)))
    state = job(JobType.UPDATE_QTY, [{"sku": "PEN-1", "quantity": 3}])
    job_metered = metered(throttle, state.job_type)
    first = await job_metered.first_token(SUBMIT)

    with pytest.raises(TransientError) as caught:
        await prepare(seller.client, job_metered, ACCOUNT, state)

    assert failure_of(caught.value, "prepare the feed") is None
    assert seller.fake.api_requests(f"{FEEDS}/feeds") == []
    assert job_metered.first is first  # createFeed never ran: its token is unspent
    assert len(seller.fake.api_requests(f"{FEEDS}/documents")) == ATTEMPTS
    assert throttle.tokens() == {SUBMIT: 1, DOCUMENT: ATTEMPTS}


# ------------------------------------------------------------------ 429 on fresh tokens


async def test_throttled_lookups_are_asked_again_on_fresh_tokens(seller: Seller) -> None:
    throttle = FakeThrottle()
    seller.catalog = {ean(1): "B0EAN00001"}
    seller.fake.inject("GET", CATALOG, throttled(), throttled())

    job_metered, ready, _ = await submit_feed(
        seller, throttle, job(JobType.SEND_PRODUCTS, [product(1, ean=ean(1))])
    )

    assert len(seller.fake.api_requests(CATALOG)) == 3
    assert throttle.throttled == [job_metered.key(LOOKUP)] * 2
    assert throttle.tokens() == {SUBMIT: 1, LOOKUP: 3, DOCUMENT: 1}
    # A 429 waits for the throttle's next token, not for a backoff.
    assert seller.sleep.delays == [] and throttle.backoffs == []
    assert [(i.key, i.asin) for i in ready.items] == [("SKU-01", "B0EAN00001")]


async def test_a_feed_document_throttled_past_max_throttles_is_transient(seller: Seller) -> None:
    throttle = FakeThrottle()
    seller.fake.inject("POST", f"{FEEDS}/documents", *(throttled() for _ in range(3)))
    state = job(JobType.UPDATE_QTY, [{"sku": "PEN-1", "quantity": 3}])
    job_metered = metered(throttle, state.job_type, max_throttles=2)
    await job_metered.first_token(SUBMIT)

    with pytest.raises(StillThrottled) as caught:
        await prepare(seller.client, job_metered, ACCOUNT, state)

    assert failure_of(caught.value, "prepare the feed") is None
    assert caught.value.attempts == 3  # the call and max_throttles (2) more, each on its token
    assert throttle.tokens() == {SUBMIT: 1, DOCUMENT: 3}
    assert throttle.throttled == [job_metered.key(DOCUMENT)] * 3
    assert seller.documents == {} and seller.feeds == []


# ------------------------------------------------------------------ orders import


async def test_a_throttled_orders_page_is_read_again_on_a_fresh_token(seller: Seller) -> None:
    throttle = FakeThrottle()
    seller.orders = PAGES
    seller.fake.inject("GET", ORDERS, NO_FAULT, throttled())  # the second page, once

    finished, published = await run_import(
        seller, throttle, job(JobType.ORDERS_IMPORT, data={"params": {"since": SINCE}})
    )

    assert [q.get("paginationToken") for q in seller.order_queries] == [None, "p2", "p3"]
    assert [(cursor, n) for _, cursor, n in published] == [("p2", 1), ("p3", 2), (None, 3)]
    # Page 1 on the first token; page 2 on one token, 429, then a fresh one; page 3 on one.
    assert throttle.tokens() == {QuotaClass.ORDERS_PAGE: 4}
    assert (finished.data.orders, finished.data.pages) == (4, 3)


async def test_an_orders_import_cut_by_a_5xx_resumes_at_its_last_published_cursor(
    seller: Seller,
) -> None:
    seller.orders = PAGES
    params = {"since": SINCE, "page_size": 2}
    seller.fake.inject("GET", ORDERS, NO_FAULT, *(server_error() for _ in range(ATTEMPTS)))
    first_run: Published = []

    async def publish_page(orders: list[OrderImported], cursor: str | None, page: int) -> None:
        first_run.append((orders, cursor, page))

    state = job(JobType.ORDERS_IMPORT, data={"params": params})
    job_metered = metered(FakeThrottle(), state.job_type)
    await job_metered.first_token(QuotaClass.ORDERS_PAGE)
    with pytest.raises(TransientError) as caught:
        await import_orders(seller.client, job_metered, ACCOUNT, state, publish_page)

    assert failure_of(caught.value, "import orders") is None  # the job is tried again
    assert [(len(orders), cursor, n) for orders, cursor, n in first_run] == [(2, "p2", 1)]

    # The job's events recorded page 1 and its cursor: the next try starts there.
    resumed = job(
        JobType.ORDERS_IMPORT, data={"params": params, "cursor": "p2", "pages": 1, "orders": 2}
    )
    finished, published = await run_import(seller, FakeThrottle(), resumed)

    asked = [r.url.params for r in seller.fake.api_requests(ORDERS)]
    assert [q.get("paginationToken") for q in asked] == [None, *["p2"] * ATTEMPTS, "p2", "p3"]
    # A resumed page repeats the import's filters, as Amazon wants with a token.
    assert {(q["lastUpdatedAfter"], q["maxResultsPerPage"]) for q in asked} == {(SINCE, "2")}
    assert [([o.amazon_order_id for o in orders], c, n) for orders, c, n in published] == [
        (["302-0000003-0000003"], "p3", 2),
        (["302-0000004-0000004"], None, 3),
    ]
    every_order = [o.amazon_order_id for orders, _, _ in first_run + published for o in orders]
    assert len(every_order) == len(set(every_order)) == 4  # each order published once
    assert (finished.data.orders, finished.data.pages) == (4, 3)
