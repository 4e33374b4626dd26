"""Error policy of SpApiClient: 429, 5xx, network failures, other 4xx, malformed bodies.
Each SP-API call is one request: the client never repeats one on its own."""

from __future__ import annotations

import httpx
import pytest

from shared.quotas import QuotaClass
from shared.spapi import (
    MalformedResponse,
    MaybeAccepted,
    NotSent,
    PermanentError,
    Throttled,
    TransientError,
)
from tests.spapi.conftest import Api
from tests.spapi.fake_amazon import Fault, amazon_error, json_response, lost_answer, server_error
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


async def test_a_5xx_is_one_request_and_a_transient_error(api: Api) -> None:
    # Every request to Amazon must be paid for by a quota token of its own: a repeat is
    # the caller's (shared/metered.py), on a fresh token.
    api.fake.sequence(
        "GET", FEED_PATH, amazon_error(503, "ServiceUnavailable", "down"), json_response(200, FEED)
    )

    with pytest.raises(TransientError) as caught:
        await api.client.get_feed("50012345")

    assert not isinstance(caught.value, NotSent | MaybeAccepted)
    assert (caught.value.operation, caught.value.status, caught.value.attempts) == (
        "getFeed",
        503,
        1,
    )
    assert caught.value.request_id == "req-1"
    assert [(e.code, e.message) for e in caught.value.errors] == [("ServiceUnavailable", "down")]
    assert len(api.fake.api_requests(FEED_PATH)) == 1
    assert api.sleep.delays == []
    # Amazon recovered: the next call (on its own token) gets the answer.
    assert (await api.client.get_feed("50012345")).value.feed_id == "50012345"


async def test_a_timeout_on_a_read_is_one_request_and_a_transient_error(api: Api) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    api.fake.route("GET", FEED_PATH, slow)

    with pytest.raises(TransientError) as caught:
        await api.client.get_feed("50012345")

    assert not isinstance(caught.value, NotSent | MaybeAccepted)  # sent, maybe answered
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert "ReadTimeout" in str(caught.value)
    assert len(api.fake.api_requests(FEED_PATH)) == 1
    assert api.sleep.delays == []


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_a_request_that_never_left_is_not_sent(
    api: Api, error: type[httpx.TransportError]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise error("refused", request=request)

    api.fake.route("POST", CREATE_FEED_PATH, refuse)

    with pytest.raises(NotSent) as caught:
        await api.client.create_feed("JSON_LISTINGS_FEED", ["A1PA6795UKMFR9"], "doc-1")

    # Even createFeed: Amazon never saw it, so sending it again makes no second feed.
    assert not isinstance(caught.value, MaybeAccepted)
    assert isinstance(caught.value, TransientError)
    assert isinstance(caught.value.__cause__, error)
    assert len(api.fake.api_requests(CREATE_FEED_PATH)) == 1
    assert api.sleep.delays == []


@pytest.mark.parametrize(
    ("fault", "cause"),
    [(server_error(500), "HTTP 500"), (lost_answer(), "ReadTimeout")],
    ids=["500", "lost answer"],
)
async def test_a_create_that_failed_after_it_was_sent_may_have_been_accepted(
    api: Api, fault: Fault, cause: str
) -> None:
    api.fake.sequence("POST", CREATE_FEED_PATH, json_response(202, {"feedId": "50012345"}))
    api.fake.inject("POST", CREATE_FEED_PATH, fault)

    with pytest.raises(MaybeAccepted) as caught:
        await api.client.create_feed("JSON_LISTINGS_FEED", ["A1PA6795UKMFR9"], "doc-1")

    assert (caught.value.operation, caught.value.attempts) == ("createFeed", 1)
    assert cause in str(caught.value) and "may have accepted" in str(caught.value)
    assert len(api.fake.api_requests(CREATE_FEED_PATH)) == 1


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
    assert caught.value.status == 502
