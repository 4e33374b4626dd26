"""Metered: one SP-API call under a quota token (shared/metered.py), with its ports faked.

One token, one request: every try (after a 429, a 5xx, a lost connection, a refused
access token) spends a grant of its own, never one already spent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from shared.jobs import JobType
from shared.metered import StillThrottled
from shared.quotas import QuotaClass
from shared.spapi.errors import (
    AccessTokenRejected,
    AuthError,
    MaybeAccepted,
    NotSent,
    PermanentError,
    Throttled,
    TransientError,
)
from shared.spapi.result import ApiResult
from shared.throttle.messages import QuotaKey, TokenGranted
from tests.factories import account_registered
from tests.fake_throttle import ACCOUNT, FakeThrottle, metered

FEED = QuotaClass.FEED_SUBMIT


class Amazon:
    """An SP-API call answering 429 ``throttles`` times, then ``result`` (or raising
    ``error``); counts the calls."""

    def __init__(
        self,
        *,
        throttles: int = 0,
        rate_limit: float | None = None,
        error: Exception | None = None,
    ) -> None:
        self.throttles = throttles
        self.rate_limit = rate_limit
        self.error = error
        self.calls = 0

    async def __call__(self) -> ApiResult[str]:
        self.calls += 1
        if self.calls <= self.throttles:
            raise Throttled("createFeed", FEED, request_id=f"amzn-{self.calls}")
        if self.error is not None:
            raise self.error
        return ApiResult("feed-1", self.rate_limit, "amzn-ok", 202)


async def test_request_ids_are_unique_and_name_the_job_and_the_purpose() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY, job_id="job-a")
    again = metered(throttle, JobType.UPDATE_QTY, job_id="job-a")  # the job driven anew
    other = metered(throttle, JobType.UPDATE_QTY, job_id="job-b")

    await job.first_token(FEED)
    await job.call(QuotaClass.FEED_DOCUMENT, "createFeedDocument", Amazon())
    await job.call(QuotaClass.FEED_DOCUMENT, "createFeedDocument", Amazon())
    await again.first_token(FEED)
    await other.first_token(FEED)

    ids = [t.request_id for t in throttle.taken]
    assert len(set(ids)) == len(ids) == 5
    assert [i.split(":")[:2] for i in ids] == [
        ["job-a", "first"],
        ["job-a", "createFeedDocument"],
        ["job-a", "createFeedDocument"],
        ["job-a", "first"],
        ["job-b", "first"],
    ]


class SilentThrottle(FakeThrottle):
    """A throttle whose first ``silent`` waits end without a grant."""

    silent = 2

    async def acquire(self, key: QuotaKey, **ask: Any) -> TokenGranted:
        grant = await super().acquire(key, **ask)
        if len(self.taken) <= self.silent:
            raise TimeoutError
        return grant


async def test_a_wait_without_a_grant_is_renewed_with_the_same_request_id() -> None:
    throttle = SilentThrottle()

    await metered(throttle, JobType.UPDATE_QTY).first_token(FEED)

    assert len(throttle.taken) == 3
    assert len({t.request_id for t in throttle.taken}) == 1
    assert {t.timeout for t in throttle.taken} == {30.0}  # the job's wait_s each time


async def test_tokens_are_asked_for_the_jobs_seller_region_and_priority() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.SEND_PRODUCTS, priority=700)

    await job.call(QuotaClass.ASIN_LOOKUP, "searchCatalogItems", Amazon())

    [taken] = throttle.taken
    assert (taken.key.seller_id, taken.key.region, taken.key.quota_class) == (
        "A1SELLERTEST",
        "EU",
        QuotaClass.ASIN_LOOKUP,
    )
    assert (taken.job_id, taken.job_type, taken.shop_id, taken.priority) == (
        "job-1",
        JobType.SEND_PRODUCTS,
        "shop1",
        700,
    )


async def test_accounts_of_one_seller_share_its_buckets_and_other_sellers_do_not() -> None:
    """A multistore: two shops, two accounts, one Amazon seller — one bucket, as Amazon
    counts; another seller (or the same seller in another region) has its own."""
    throttle = FakeThrottle()
    same = account_registered("acc-fr", shop_id="shop2", seller_id="A1SELLERTEST")
    other = account_registered("acc-it", shop_id="shop2", seller_id="A2OTHERSELLER")
    in_na = account_registered("acc-us", shop_id="shop2", seller_id="A1SELLERTEST", region="NA")
    for account in (ACCOUNT, same, other, in_na):
        job = metered(throttle, JobType.UPDATE_QTY, account=account)
        await job.call(FEED, "createFeed", Amazon())

    keys = [taken.key for taken in throttle.taken]
    assert keys[0] == keys[1]
    assert len({str(k) for k in keys}) == 3


async def test_the_first_token_is_spent_by_the_call_that_has_it_and_not_asked_again() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    amazon = Amazon()

    await job.first_token(FEED)
    result = await job.call(FEED, "createFeed", amazon, have_token=True)

    assert result.value == "feed-1"
    assert amazon.calls == 1
    assert throttle.tokens() == {FEED: 1}  # the first token, nothing more
    await job.give_back()
    assert throttle.released == []  # spent: nothing to give back


async def test_a_call_without_have_token_leaves_the_first_token_held() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)

    first = await job.first_token(FEED)
    await job.call(QuotaClass.FEED_DOCUMENT, "createFeedDocument", Amazon())
    await job.call(FEED, "createFeed", Amazon(), have_token=True)
    await job.call(FEED, "createFeed", Amazon(), have_token=True)  # a second feed

    assert throttle.tokens() == {FEED: 2, QuotaClass.FEED_DOCUMENT: 1}
    assert throttle.taken[0].request_id == first.request_id


async def test_give_back_releases_an_unspent_first_token_once() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    first = await job.first_token(FEED)

    await job.give_back()
    await job.give_back()

    assert throttle.released == [first]


async def test_a_call_that_fails_still_spends_the_first_token() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    await job.first_token(FEED)
    refused = PermanentError("Amazon refused createFeed", operation="createFeed", status=400)
    amazon = Amazon(error=refused)

    with pytest.raises(PermanentError):
        await job.call(FEED, "createFeed", amazon, have_token=True)

    assert amazon.calls == 1  # not retried
    assert throttle.throttled == []
    await job.give_back()
    assert throttle.released == []  # the request may have reached Amazon


async def test_429_is_reported_and_the_call_repeated_on_a_fresh_token() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    amazon = Amazon(throttles=1)
    first = await job.first_token(FEED)

    result = await job.call(FEED, "createFeed", amazon, have_token=True)

    assert result.value == "feed-1"
    assert amazon.calls == 2
    assert throttle.throttled == [job.key(FEED)]
    assert throttle.tokens() == {FEED: 2}
    fresh = throttle.taken[1]
    assert fresh.request_id != first.request_id
    assert fresh.request_id.split(":")[:2] == ["job-1", "createFeed"]


async def test_max_throttles_429s_on_fresh_tokens_still_succeed() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY, max_throttles=10)
    amazon = Amazon(throttles=10)
    await job.first_token(FEED)

    result = await job.call(FEED, "createFeed", amazon, have_token=True)

    assert result.value == "feed-1"
    assert amazon.calls == 11
    assert throttle.tokens() == {FEED: 11}  # the first token and 10 fresh ones


async def test_still_throttled_after_max_throttles_fresh_tokens() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY, max_throttles=10)
    amazon = Amazon(throttles=1_000)
    await job.first_token(FEED)

    with pytest.raises(StillThrottled) as caught:
        await job.call(FEED, "createFeed", amazon, have_token=True)

    assert isinstance(caught.value, TransientError)  # retried later, not a failed job
    assert caught.value.status == 429
    assert amazon.calls == 11
    assert throttle.tokens() == {FEED: 11}
    assert len(throttle.throttled) == 11  # each 429 drained the bucket


async def test_the_observed_rate_is_reported_only_when_amazon_states_one() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)

    await job.call(FEED, "createFeed", Amazon(rate_limit=0.0083))
    await job.call(FEED, "createFeed", Amazon(rate_limit=None))
    await job.call(FEED, "createFeed", Amazon(rate_limit=5.0), report_rate=False)

    assert throttle.rates == [(job.key(FEED), 0.0083)]


# ------------------------------------------------------------------ retries on fresh tokens


def server_error(operation: str = "getFeed") -> TransientError:
    return TransientError(
        f"{operation} failed: HTTP 503", operation=operation, attempts=1, status=503
    )


def refused_connection(operation: str = "getFeed") -> NotSent:
    return NotSent(f"{operation} not sent: ConnectError", operation=operation, attempts=1)


def rejected_token(operation: str = "getFeed") -> AccessTokenRejected:
    return AccessTokenRejected(
        "A1SELLERTEST", "Unauthorized: expired", operation=operation, status=403
    )


def throttled(operation: str = "getFeed") -> Throttled:
    return Throttled(operation, QuotaClass.FEED_STATUS)


class Script:
    """An SP-API call whose tries go as scripted (an error to raise, or ``None``: the
    answer), then succeed. Counts the tries Amazon received: a ``NotSent`` never left."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.outcomes = list(outcomes)
        self.tries = 0
        self.received = 0

    async def __call__(self) -> ApiResult[str]:
        self.tries += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if not isinstance(outcome, NotSent):
            self.received += 1
        if outcome is not None:
            raise outcome
        return ApiResult("answer", None, "amzn-ok", 200)


STATUS = QuotaClass.FEED_STATUS


async def test_a_5xx_is_tried_again_after_a_backoff_on_a_fresh_token() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    amazon = Script(server_error(), server_error())

    result = await job.call(STATUS, "getFeed", amazon)

    assert result.value == "answer"
    assert amazon.received == 3
    assert throttle.tokens() == {STATUS: 3}  # one grant per request Amazon received
    assert len({t.request_id for t in throttle.taken}) == 3
    assert throttle.backoffs == [0.25, 0.5]  # jittered, doubling, before each fresh token
    assert throttle.throttled == []  # a 5xx says nothing about the bucket


async def test_5xx_on_every_attempt_is_transient_after_the_policys_attempts() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    amazon = Script(*(server_error() for _ in range(10)))

    with pytest.raises(TransientError) as caught:
        await job.call(STATUS, "getFeed", amazon)

    assert not isinstance(caught.value, MaybeAccepted)
    assert (caught.value.attempts, caught.value.status) == (4, 503)
    assert "failed 4 times in a row" in str(caught.value)
    assert amazon.received == 4
    assert throttle.tokens() == {STATUS: 4}
    assert throttle.backoffs == [0.25, 0.5, 1.0]


async def test_the_held_first_token_serves_the_first_try_only() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.ORDERS_IMPORT)
    first = await job.first_token(QuotaClass.ORDERS_PAGE)
    amazon = Script(server_error("searchOrders"))

    await job.call(QuotaClass.ORDERS_PAGE, "searchOrders", amazon, have_token=True)

    assert amazon.received == 2
    assert throttle.taken[0].request_id == first.request_id
    assert throttle.tokens() == {QuotaClass.ORDERS_PAGE: 2}  # the retry took a fresh one
    await job.give_back()
    assert throttle.released == []  # the first token was spent by the first try


async def test_a_request_that_never_left_gives_its_grant_back_and_goes_on_a_fresh_one() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    first = await job.first_token(FEED)
    amazon = Script(refused_connection("createFeed"))

    await job.call(FEED, "createFeed", amazon, have_token=True)

    assert (amazon.tries, amazon.received) == (2, 1)
    assert throttle.released == [first]  # Amazon never saw the first try
    assert throttle.tokens() == {FEED: 2}
    assert throttle.backoffs == [0.25]


async def test_maybe_accepted_is_raised_at_once_and_never_sent_again() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    await job.first_token(FEED)
    maybe = MaybeAccepted("createFeed failed after it was sent", operation="createFeed", attempts=1)
    amazon = Script(maybe)

    with pytest.raises(MaybeAccepted):
        await job.call(FEED, "createFeed", amazon, have_token=True)

    assert amazon.received == 1  # a second createFeed could be a second feed
    assert throttle.tokens() == {FEED: 1}
    assert throttle.released == [] and throttle.backoffs == []


async def test_a_rejected_access_token_gets_one_more_try_on_a_fresh_grant() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    amazon = Script(rejected_token())

    result = await job.call(STATUS, "getFeed", amazon)

    assert result.value == "answer"
    assert amazon.received == 2
    assert throttle.tokens() == {STATUS: 2}
    assert throttle.backoffs == []  # a new access token is no reason to wait


async def test_an_access_token_rejected_twice_is_an_auth_error() -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    amazon = Script(rejected_token(), rejected_token())

    with pytest.raises(AuthError) as caught:
        await job.call(STATUS, "getFeed", amazon)

    assert "re-authorise the app" in str(caught.value)
    assert caught.value.seller_id == "A1SELLERTEST"
    assert amazon.received == 2
    assert throttle.tokens() == {STATUS: 2}


@pytest.mark.parametrize(
    "outcomes",
    [
        (throttled(), server_error(), throttled(), None),
        (refused_connection(), server_error(), refused_connection(), None),
        (rejected_token(), throttled(), server_error(), server_error()),
        (server_error(), rejected_token(), refused_connection(), throttled(), throttled()),
    ],
    ids=["429 and 5xx", "refused and 5xx", "token, 429, 5xx", "all of them"],
)
async def test_every_request_amazon_receives_spends_a_grant_of_its_own(
    outcomes: Sequence[Exception | None],
) -> None:
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    await job.first_token(STATUS)
    amazon = Script(*outcomes)

    await job.call(STATUS, "getFeed", amazon, have_token=True)

    grants = {(t.request_id, n) for n, t in enumerate(throttle.taken, start=1)}
    released = {(g.request_id, g.grant_seq) for g in throttle.released}
    assert released <= grants
    assert amazon.received == len(grants) - len(released)
    assert amazon.tries == len(grants)  # no grant served two tries


@pytest.mark.parametrize(
    ("outcomes", "raised", "unrefused"),
    [
        # Refused every time before an answer: nothing reached Amazon but the last try.
        ((throttled("createFeed"), refused_connection("createFeed"), None), None, 1),
        ((rejected_token("createFeed"), None), None, 1),
        # A 4xx: Amazon answered and did nothing.
        ((PermanentError("bad feed type", operation="createFeed", status=400),), PermanentError, 0),
        ((throttled("createFeed"),) * 11, StillThrottled, 0),
        # The answer was lost: Amazon may hold it.
        ((MaybeAccepted("lost", operation="createFeed", attempts=1),), MaybeAccepted, 1),
    ],
)
async def test_unrefused_counts_the_tries_amazon_may_have_carried_out(
    outcomes: tuple[Exception | None, ...], raised: type[Exception] | None, unrefused: int
) -> None:
    """What the submitter reads to tell a driver stopped while waiting for a token (its
    request never reached Amazon) from one whose request may be there."""
    job = metered(FakeThrottle(), JobType.UPDATE_QTY)
    amazon = Script(*outcomes)
    if raised is None:
        await job.call(FEED, "createFeed", amazon)
    else:
        with pytest.raises(raised):
            await job.call(FEED, "createFeed", amazon)
    assert job.unrefused == unrefused


async def test_a_try_cut_short_counts_as_one_amazon_may_have_carried_out() -> None:
    job = metered(FakeThrottle(), JobType.UPDATE_QTY)
    started = asyncio.Event()

    async def hanging() -> ApiResult[str]:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    task = asyncio.create_task(job.call(FEED, "createFeed", hanging))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert job.unrefused == 1


async def test_taking_says_a_call_is_waiting_for_its_grant() -> None:
    """What a stopping submitter reads to stop a driver at once rather than wait for it."""
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)
    asked, granted = asyncio.Event(), asyncio.Event()
    acquire = throttle.acquire

    async def slow_acquire(*args: Any, **kwargs: Any) -> TokenGranted:
        asked.set()
        await granted.wait()
        return await acquire(*args, **kwargs)

    throttle.acquire = slow_acquire  # type: ignore[method-assign]
    task = asyncio.create_task(job.call(FEED, "createFeed", Amazon()))
    await asked.wait()
    assert (job.taking, job.unrefused) == (1, 0)
    granted.set()
    await task
    assert (job.taking, job.unrefused) == (0, 1)
