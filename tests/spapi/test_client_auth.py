"""LWA tokens: caching, refresh before expiry, one refresh under concurrency, 403 handling
(the client forgets a refused token; the fresh try, on a grant of its own, is Metered's)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from shared.jobs import JobType
from shared.quotas import QuotaClass
from shared.spapi import (
    AccessTokenRejected,
    AuthError,
    LwaTokenProvider,
    NotSent,
    RetryPolicy,
    TransientError,
)
from tests.fake_throttle import FakeThrottle, metered
from tests.spapi.conftest import Api
from tests.spapi.fake_amazon import (
    CLIENT_SECRET,
    CREDENTIALS,
    LWA,
    REFRESH_TOKEN,
    FakeAmazon,
    RecordingSleep,
    amazon_error,
    json_response,
)
from tests.spapi.payloads import FEED

FEED_PATH = "/feeds/2021-06-30/feeds/50012345"


async def test_the_token_is_fetched_once_and_sent_as_x_amz_access_token(api: Api) -> None:
    api.fake.sequence("GET", FEED_PATH, json_response(200, FEED))

    await api.client.get_feed("50012345")
    await api.client.get_feed("50012345")

    assert api.fake.lwa_requests == [
        {
            "grant_type": ["refresh_token"],
            "refresh_token": [REFRESH_TOKEN],
            "client_id": [CREDENTIALS.client_id],
            "client_secret": [CLIENT_SECRET],
        }
    ]
    sent = [r.headers["x-amz-access-token"] for r in api.fake.api_requests(FEED_PATH)]
    assert sent == ["token-1", "token-1"]
    assert "authorization" not in api.fake.requests[0].headers


async def test_an_expired_token_403_forgets_the_token_and_the_next_call_has_a_fresh_one(
    api: Api,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["x-amz-access-token"] == "token-1":
            return amazon_error(403, "Unauthorized", "The access token you provided has expired.")
        return json_response(200, FEED)

    api.fake.route("GET", FEED_PATH, handler)

    with pytest.raises(AccessTokenRejected) as caught:
        await api.client.get_feed("50012345")
    result = await api.client.get_feed("50012345")  # the caller's fresh try

    assert not isinstance(caught.value, AuthError)  # worth another try, not re-authorising
    assert "has expired" in str(caught.value)
    assert result.value.feed_id == "50012345"
    assert len(api.fake.lwa_requests) == 2
    assert [r.headers["x-amz-access-token"] for r in api.fake.requests] == ["token-1", "token-2"]
    assert api.sleep.delays == []  # a refresh is not a backoff


async def test_through_metered_an_expired_token_costs_one_more_grant_and_succeeds(
    api: Api,
) -> None:
    api.fake.sequence(
        "GET", FEED_PATH, amazon_error(403, "Unauthorized", "expired"), json_response(200, FEED)
    )
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)

    result = await job.call(
        QuotaClass.FEED_STATUS, "getFeed", lambda: api.client.get_feed("50012345")
    )

    assert result.value.feed_id == "50012345"
    assert [r.headers["x-amz-access-token"] for r in api.fake.requests] == ["token-1", "token-2"]
    assert throttle.tokens() == {QuotaClass.FEED_STATUS: 2}  # one grant per request


async def test_a_403_that_persists_after_one_fresh_token_is_an_auth_error(api: Api) -> None:
    api.fake.sequence("GET", FEED_PATH, amazon_error(403, "Unauthorized", "Access denied."))
    throttle = FakeThrottle()
    job = metered(throttle, JobType.UPDATE_QTY)

    with pytest.raises(AuthError) as caught:
        await job.call(QuotaClass.FEED_STATUS, "getFeed", lambda: api.client.get_feed("50012345"))

    message = str(caught.value)
    assert "Amazon rejected the credentials of seller A1SELLERTEST: re-authorise the app" in message
    assert "Access denied." in message
    assert caught.value.seller_id == "A1SELLERTEST"
    assert len(api.fake.lwa_requests) == 2  # exactly one refresh
    assert len(api.fake.requests) == 2
    assert throttle.tokens() == {QuotaClass.FEED_STATUS: 2}


async def test_lwa_invalid_grant_is_an_auth_error(api: Api) -> None:
    api.fake.lwa_handler = lambda _: httpx.Response(
        400,
        json={"error": "invalid_grant", "error_description": "The request has an invalid grant"},
    )

    with pytest.raises(AuthError) as caught:
        await api.client.get_feed("50012345")

    assert "re-authorise the app" in str(caught.value)
    assert "invalid_grant" in str(caught.value)
    assert api.fake.requests == []  # SP-API never called without a token


async def test_an_lwa_outage_sends_no_sp_api_request(api: Api) -> None:
    api.fake.lwa_handler = lambda _: httpx.Response(503, text="unavailable")
    api.fake.sequence("GET", FEED_PATH, json_response(200, FEED))

    with pytest.raises(NotSent) as caught:
        await api.client.get_feed("50012345")

    assert caught.value.operation == "getFeed"
    assert "Login with Amazon" in str(caught.value)
    assert api.fake.requests == []  # no quota spent at Amazon: the grant can go back
    assert len(api.fake.lwa_requests) == 4  # LWA is not SP-API quota: its own retries


async def test_lwa_outage_is_retried_then_transient() -> None:
    fake = FakeAmazon()
    fake.lwa_handler = lambda _: httpx.Response(503, text="unavailable")
    sleep = RecordingSleep()
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        provider = LwaTokenProvider(http, LWA, retry=RetryPolicy(max_attempts=3, sleep=sleep))
        with pytest.raises(TransientError):
            await provider.access_token(CREDENTIALS)
    assert len(fake.lwa_requests) == 3
    assert len(sleep.delays) == 2


async def test_concurrent_calls_share_one_lwa_refresh(api: Api) -> None:
    api.fake.lwa_delay_s = 0.02  # keep the refresh in flight while the others arrive
    api.fake.sequence("GET", FEED_PATH, json_response(200, FEED))

    results = await asyncio.gather(*(api.client.get_feed("50012345") for _ in range(25)))

    assert len(results) == 25
    assert len(api.fake.lwa_requests) == 1


async def test_concurrent_403s_on_one_expired_token_cause_one_refresh(api: Api) -> None:
    api.fake.sequence("GET", FEED_PATH, json_response(200, FEED))
    await api.client.get_feed("50012345")  # token-1 cached
    api.fake.lwa_delay_s = 0.02

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let the calls interleave
        if request.headers["x-amz-access-token"] == "token-1":
            return amazon_error(403, "Unauthorized", "expired")
        return json_response(200, FEED)

    api.fake.route("GET", FEED_PATH, handler)

    refused = await asyncio.gather(
        *(api.client.get_feed("50012345") for _ in range(10)), return_exceptions=True
    )
    again = await asyncio.gather(*(api.client.get_feed("50012345") for _ in range(10)))

    assert all(isinstance(r, AccessTokenRejected) for r in refused)
    assert all(r.value.feed_id == "50012345" for r in again)
    assert len(api.fake.lwa_requests) == 2  # the first fetch and one refresh


async def test_the_token_is_refreshed_about_a_minute_before_it_expires() -> None:
    fake = FakeAmazon(expires_in=3600)
    now = [1000.0]
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        provider = LwaTokenProvider(http, LWA, clock=lambda: now[0])
        assert await provider.access_token(CREDENTIALS) == "token-1"
        now[0] += 3600 - 61
        assert await provider.access_token(CREDENTIALS) == "token-1"
        now[0] += 2  # now inside the 60 s margin
        assert await provider.access_token(CREDENTIALS) == "token-2"
    assert len(fake.lwa_requests) == 2


async def test_tokens_are_cached_per_credential() -> None:
    fake = FakeAmazon()
    other = CREDENTIALS.__class__(
        client_id=CREDENTIALS.client_id,
        client_secret=CLIENT_SECRET,
        refresh_token="Atzr|another-seller",
        seller_id="A2OTHER",
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
        provider = LwaTokenProvider(http, LWA)
        first, second = await asyncio.gather(
            provider.access_token(CREDENTIALS), provider.access_token(other)
        )
        assert {first, second} == {"token-1", "token-2"}
        assert await provider.access_token(CREDENTIALS) == first


def test_credentials_repr_hides_the_secrets() -> None:
    text = repr(CREDENTIALS)
    assert CLIENT_SECRET not in text
    assert REFRESH_TOKEN not in text
    assert CREDENTIALS.seller_id in text
    assert REFRESH_TOKEN not in CREDENTIALS.cache_key
