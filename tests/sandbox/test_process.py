"""The sandbox as a real process over real HTTP: concurrency, Amazon's limits per seller,
scaled restore, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any

import httpx

from devtools.sandbox_process import running_sandbox
from tests.sandbox.conftest import JSON_TYPE, MARKETPLACE, REFRESH_TOKEN, SELLER, seller_body
from tests.waiting import eventually

QUOTA_EXCEEDED = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}


class Client:
    """One seller's SP-API calls to a running sandbox."""

    def __init__(self, http: httpx.AsyncClient, auth: dict[str, str]) -> None:
        self.http = http
        self.auth = auth

    @classmethod
    async def register(
        cls, http: httpx.AsyncClient, seller_id: str, refresh: str, **registration: Any
    ) -> Client:
        body = seller_body(seller_id=seller_id, refresh_token=refresh, **registration)
        assert (await http.post("/_sandbox/sellers", json=body)).status_code == 201
        token = await http.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": "id",
                "client_secret": "secret",
            },
        )
        return cls(http, {"x-amz-access-token": token.json()["access_token"]})

    async def upload(self) -> str:
        document = await self.http.post(
            "/feeds/2021-06-30/documents", json={"contentType": JSON_TYPE}, headers=self.auth
        )
        upload = await self.http.put(
            document.json()["url"], content=b"{}", headers={"content-type": JSON_TYPE}
        )
        assert upload.status_code == 200
        return str(document.json()["feedDocumentId"])

    async def create_feed(self, document_id: str, feed_type: str) -> httpx.Response:
        body = {
            "feedType": feed_type,
            "marketplaceIds": [MARKETPLACE],
            "inputFeedDocumentId": document_id,
        }
        return await self.http.post("/feeds/2021-06-30/feeds", json=body, headers=self.auth)

    async def search_catalog(self) -> httpx.Response:
        params = {"identifiers": "4006381333931", "identifiersType": "EAN"}
        params["marketplaceIds"] = MARKETPLACE
        return await self.http.get("/catalog/2022-04-01/items", params=params, headers=self.auth)


async def test_concurrent_create_feed_hits_the_bucket_and_tokens_return_at_the_scaled_rate() -> (
    None
):
    # Scale 60: createFeed restores 0.0083 tokens an Amazon second, one per 120.5 Amazon
    # seconds: one every 2.008 real seconds.
    with running_sandbox("--time-scale", "60") as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=10) as http:
            seller = await Client.register(http, SELLER, REFRESH_TOKEN)
            document = await seller.upload()

            async def create_feed() -> httpx.Response:
                return await seller.create_feed(document, "POST_ORDER_FULFILLMENT_DATA")

            started = time.monotonic()
            responses = await asyncio.gather(*(create_feed() for _ in range(16)))
            codes = sorted(response.status_code for response in responses)
            assert codes == [202] * 15 + [429]
            [throttled] = [r for r in responses if r.status_code == 429]
            assert throttled.json() == QUOTA_EXCEEDED
            assert throttled.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
            assert throttled.headers["x-amzn-RequestId"]
            assert "Retry-After" not in throttled.headers
            assert "x-amzn-RateLimit-Limit" not in throttled.headers
            assert all(
                r.headers["x-amzn-RateLimit-Limit"] == "0.0083"
                for r in responses
                if r.status_code == 202
            )
            assert len({r.json()["feedId"] for r in responses if r.status_code == 202}) == 15

            # A token comes back at the restore rate (a refused call takes none): ask until
            # one is taken, then the bucket is empty again.
            attempts = 0

            async def accepted() -> bool:
                nonlocal attempts
                attempts += 1
                return (await create_feed()).status_code == 202

            await eventually(accepted, "a restored createFeed token")
            # Not sooner than the published rate allows, time-scaled (the bucket was full
            # when the first of the 16 calls arrived, after ``started``).
            assert time.monotonic() - started >= 2.0
            assert (await create_feed()).status_code == 429

            stats = (await http.get("/_sandbox/stats")).json()["sellers"][SELLER]
            assert stats["createFeed"] == {
                "calls": 16 + attempts + 1,
                "accepted": 16,
                "throttled": 1 + (attempts - 1) + 1,
                "errors": 0,
            }

        assert sandbox.stop() == 0
    start = next(entry for entry in sandbox.log if entry.get("event") == "start")
    assert start["settings"]["time_scale"] == 60.0
    assert any(entry.get("event") == "stop" for entry in sandbox.log)


async def test_amazons_limits_per_seller_over_real_http() -> None:
    # Time scale 1, so no token comes back while the concurrent calls are in flight: the
    # listings window is 5 real minutes, createFeed restores one token per 2 minutes.
    with running_sandbox() as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=10) as http:
            # searchCatalogItems: Amazon's burst of 2; its restore (2 a second) slowed so
            # that a slow machine cannot refill the bucket between the three calls.
            slowed = {"searchCatalogItems": {"burst": 2, "rate_per_s": 0.001}}
            one = await Client.register(http, SELLER, REFRESH_TOKEN, quotas=slowed)
            other = await Client.register(http, "A3OTHER", "Atzr|other")

            searches = await asyncio.gather(*(one.search_catalog() for _ in range(3)))
            assert sorted(r.status_code for r in searches) == [200, 200, 429]
            theirs = await asyncio.gather(*(other.search_catalog() for _ in range(2)))
            assert [r.status_code for r in theirs] == [200, 200]

            document = await one.upload()
            listings = await asyncio.gather(
                *(one.create_feed(document, "JSON_LISTINGS_FEED") for _ in range(7))
            )
            assert sorted(r.status_code for r in listings) == [202] * 5 + [429] * 2
            assert all(r.json() == QUOTA_EXCEEDED for r in listings if r.status_code == 429)
            fulfillment = await one.create_feed(document, "POST_ORDER_FULFILLMENT_DATA")
            assert fulfillment.status_code == 202

            stats = (await http.get("/_sandbox/stats")).json()["sellers"]
            assert stats[SELLER]["searchCatalogItems"]["throttled"] == 1
            assert stats["A3OTHER"]["searchCatalogItems"]["throttled"] == 0
            assert stats[SELLER]["createFeed"] == {
                "calls": 8,
                "accepted": 6,
                "throttled": 2,
                "errors": 0,
            }


async def test_time_scale_from_the_environment_and_sigint_stop() -> None:
    with running_sandbox(env={"AMAZON_JOBS_TIME_SCALE": "120"}) as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.url) as client:
            health = await client.get("/_sandbox/health")
            assert health.json() == {"status": "ok", "time_scale": 120.0}
            assert health.headers["x-amzn-RequestId"]
        os.kill(sandbox.pid, signal.SIGINT)
        assert sandbox.process.wait(10) == 0
