"""Every call is logged with structured fields, and no secret ever reaches a log."""

from __future__ import annotations

import logging

import httpx
import pytest

from shared.spapi import (
    AccessTokenRejected,
    AuthError,
    PermanentError,
    SpApiError,
    Throttled,
    TransientError,
)
from tests.spapi.conftest import Api
from tests.spapi.fake_amazon import (
    CLIENT_SECRET,
    REFRESH_TOKEN,
    amazon_error,
    json_response,
)
from tests.spapi.payloads import FEED

SIGNATURE = "X-Amz-Signature=PLANTED-SIGNATURE-55aa"


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Messages and every structured field of every record, as one string."""
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(repr(record.__dict__))
    return "\n".join(parts)


async def test_calls_are_logged_with_operation_status_request_id_and_seller(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.fake.sequence(
        "GET",
        "/feeds/2021-06-30/feeds/1",
        json_response(200, FEED, headers={"x-amzn-RequestId": "rid-42"}),
    )

    await api.client.get_feed("1")

    records = [r for r in caplog.records if getattr(r, "operation", None) == "getFeed"]
    assert len(records) == 1
    record = records[0]
    assert record.__dict__["http_status"] == 200
    assert record.__dict__["request_id"] == "rid-42"
    assert record.__dict__["seller_id"] == "A1SELLERTEST"
    assert "getFeed" in record.getMessage() and "rid-42" in record.getMessage()


async def test_a_planted_secret_never_appears_in_logs_or_errors(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's included
    path = "/feeds/2021-06-30/feeds/1"
    errors: list[SpApiError] = []

    # expired token → refresh → 5xx → success, each a call of its own
    api.fake.sequence(
        "GET",
        path,
        amazon_error(403, "Unauthorized", "expired"),
        amazon_error(503, "ServiceUnavailable"),
        json_response(200, FEED),
    )
    for first in (AccessTokenRejected, TransientError):
        with pytest.raises(first) as failed:
            await api.client.get_feed("1")
        errors.append(failed.value)
    await api.client.get_feed("1")
    # throttled, refused, the token refused again (and what Metered makes of that)
    for response, expected in (
        (amazon_error(429, "QuotaExceeded"), Throttled),
        (amazon_error(400, "InvalidInput"), PermanentError),
        (amazon_error(403, "Unauthorized"), AccessTokenRejected),
    ):
        api.fake.sequence("GET", path, response)
        with pytest.raises(expected) as caught:
            await api.client.get_feed("1")
        errors.append(caught.value)
    rejected = errors[-1]
    assert isinstance(rejected, AccessTokenRejected)
    errors.append(rejected.persisting())
    # presigned transfers, whose query string is a credential too
    api.fake.route("PUT", "/upload", lambda _: httpx.Response(500))
    with pytest.raises(TransientError) as failed_upload:
        await api.client.upload_feed_document(
            f"https://s3.test/upload?{SIGNATURE}", b"{}", "application/json"
        )
    errors.append(failed_upload.value)
    # LWA refuses the refresh token (the last 403 made the client forget its token)
    api.fake.lwa_handler = lambda _: httpx.Response(400, json={"error": "invalid_grant"})
    with pytest.raises(AuthError) as refused:
        await api.client.get_feed("1")
    errors.append(refused.value)

    logged = everything_logged(caplog)
    secrets = [CLIENT_SECRET, REFRESH_TOKEN, SIGNATURE, *api.fake.issued_tokens]
    assert len(api.fake.issued_tokens) >= 2
    for secret in secrets:
        assert secret not in logged
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
    assert "getFeed" in logged  # the calls themselves were logged
