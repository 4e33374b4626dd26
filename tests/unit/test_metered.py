"""Metered: one SP-API call under a quota token (shared/metered.py), with its ports faked."""

from __future__ import annotations

from typing import Any

import pytest

from shared.jobs import JobType
from shared.metered import StillThrottled
from shared.quotas import QuotaClass
from shared.spapi.errors import PermanentError, Throttled, TransientError
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
