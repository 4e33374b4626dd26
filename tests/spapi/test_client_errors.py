"""Error policy of SpApiClient: 429, 5xx, network failures, other 4xx, malformed bodies."""

from __future__ import annotations

import httpx
import pytest

from shared.quotas import QuotaClass
from shared.spapi import MalformedResponse, PermanentError, Throttled, TransientError
from tests.spapi.conftest import Api
from tests.spapi.fake_amazon import amazon_error, json_response
from tests.spapi.payloads import FEED

FEED_PATH = "/feeds/2021-06-30/feeds/50012345"
CREATE_FEED_PATH = "/feeds/2021-06-30/feeds"


async def test_429_raises_throttled_with_operation_and_quota_class_without_retry(api: Api) -> None:
    api.fake.sequence("POST", CREATE_FEED_PATH, amazon_error(429, "QuotaExceeded"))

    with pytest.raises(Throttled) as caught:
        await api.client.create_feed("JSON_LISTINGS_FEED", ["A1PA6795UKMFR9"], "doc-1")

    assert caught.value.operation == "createFeed"
    assert caught.value.quota_class is QuotaClass.FEED_SUBMIT
    assert caught.value.status == 429
    assert caught.value.request_id == "req-1"
    assert [e.code for e in caught.value.errors] == ["QuotaExceeded"]
    assert len(api.fake.api_requests(CREATE_FEED_PATH)) == 1  # no blind retry
    assert api.sleep.delays == []


async def test_5xx_is_retried_with_jittered_backoff_then_succeeds(api: Api) -> None:
    api.fake.sequence(
        "GET",
        FEED_PATH,
        amazon_error(503, "ServiceUnavailable"),
        amazon_error(500, "InternalFailure"),
        json_response(200, FEED),
    )

    result = await api.client.get_feed("50012345")

    assert result.value.feed_id == "50012345"
    assert len(api.fake.api_requests(FEED_PATH)) == 3
    # base 0.5 s doubling, full jitter with random() = 0.5 → half of each ceiling
    assert api.sleep.delays == [0.25, 0.5]


async def test_5xx_gives_up_after_the_bounded_attempts(api: Api) -> None:
    api.fake.sequence("GET", FEED_PATH, amazon_error(503, "ServiceUnavailable", "down"))

    with pytest.raises(TransientError) as caught:
        await api.client.get_feed("50012345")

    assert caught.value.attempts == 4
    assert caught.value.status == 503
    assert [(e.code, e.message) for e in caught.value.errors] == [("ServiceUnavailable", "down")]
    assert len(api.fake.api_requests(FEED_PATH)) == 4
    assert len(api.sleep.delays) == 3


async def test_timeouts_are_retried_and_then_succeed(api: Api) -> None:
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return json_response(200, FEED)

    api.fake.route("GET", FEED_PATH, flaky)

    result = await api.client.get_feed("50012345")

    assert result.status == 200
    assert calls == 2
    assert len(api.sleep.delays) == 1


async def test_connection_errors_become_transient_error_with_the_cause(api: Api) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    api.fake.route("GET", FEED_PATH, refuse)

    with pytest.raises(TransientError) as caught:
        await api.client.get_feed("50012345")

    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert caught.value.attempts == 4


async def test_jitter_stays_within_the_exponential_ceiling() -> None:
    from shared.spapi import RetryPolicy

    low = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0, random=lambda: 0.0)
    high = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0, random=lambda: 0.999)
    assert [low.delay(n) for n in (1, 2, 3, 4)] == [0.0, 0.0, 0.0, 0.0]
    assert [round(high.delay(n), 2) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    half = RetryPolicy(base_delay_s=1.0, jitter=0.5, random=lambda: 0.0)
    assert half.delay(2) == 1.0  # half of the 2 s ceiling is fixed


async def test_other_4xx_is_permanent_and_carries_amazons_errors(api: Api) -> None:
    api.fake.sequence(
        "POST", CREATE_FEED_PATH, amazon_error(400, "InvalidInput", "Invalid feedType.")
    )

    with pytest.raises(PermanentError) as caught:
        await api.client.create_feed("NOPE", ["A1PA6795UKMFR9"], "doc-1")

    assert caught.value.status == 400
    assert "InvalidInput: Invalid feedType." in str(caught.value)  # what the job log shows
    assert [e.code for e in caught.value.errors] == ["InvalidInput"]
    assert "Invalid feedType." in str(caught.value)
    assert len(api.fake.api_requests(CREATE_FEED_PATH)) == 1


async def test_403_that_is_not_unauthorized_is_permanent(api: Api) -> None:
    api.fake.sequence("GET", FEED_PATH, amazon_error(403, "InvalidInput", "wrong marketplace"))

    with pytest.raises(PermanentError) as caught:
        await api.client.get_feed("50012345")

    assert caught.value.status == 403
    assert len(api.fake.lwa_requests) == 1  # no refresh for this one


async def test_a_2xx_body_that_breaks_the_model_is_malformed_response(api: Api) -> None:
    api.fake.sequence("GET", FEED_PATH, json_response(200, {"feedId": "1"}))

    with pytest.raises(MalformedResponse) as caught:
        await api.client.get_feed("50012345")

    assert isinstance(caught.value, PermanentError)
    assert "Feed" in str(caught.value)


async def test_non_json_error_bodies_are_tolerated(api: Api) -> None:
    api.fake.sequence("GET", FEED_PATH, httpx.Response(502, text="<html>Bad gateway</html>"))

    with pytest.raises(TransientError) as caught:
        await api.client.get_feed("50012345")

    assert caught.value.errors == ()
