"""The sandbox as a real process over real HTTP: concurrency, scaled restore, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx

from devtools.sandbox_process import running_sandbox
from tests.sandbox.conftest import JSON_TYPE, MARKETPLACE, REFRESH_TOKEN, SELLER, seller_body
from tests.waiting import eventually


async def test_concurrent_create_feed_hits_the_bucket_and_tokens_return_at_the_scaled_rate() -> (
    None
):
    # Scale 60: createFeed restores 1 token per 120 Amazon seconds = one every 2 real seconds.
    with running_sandbox("--time-scale", "60") as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.url, timeout=10) as client:
            registered = await client.post("/_sandbox/sellers", json=seller_body())
            assert registered.status_code == 201
            token = await client.post(
                "/auth/o2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": REFRESH_TOKEN,
                    "client_id": "id",
                    "client_secret": "secret",
                },
            )
            auth = {"x-amz-access-token": token.json()["access_token"]}
            document = await client.post(
                "/feeds/2021-06-30/documents", json={"contentType": JSON_TYPE}, headers=auth
            )
            upload = await client.put(
                document.json()["url"], content=b"{}", headers={"content-type": JSON_TYPE}
            )
            assert upload.status_code == 200
            body = {
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": [MARKETPLACE],
                "inputFeedDocumentId": document.json()["feedDocumentId"],
            }

            async def create_feed() -> httpx.Response:
                return await client.post("/feeds/2021-06-30/feeds", json=body, headers=auth)

            responses = await asyncio.gather(*(create_feed() for _ in range(16)))
            codes = sorted(response.status_code for response in responses)
            assert codes == [202] * 15 + [429]
            [throttled] = [r for r in responses if r.status_code == 429]
            assert throttled.json() == {
                "errors": [
                    {
                        "code": "QuotaExceeded",
                        "message": "You exceeded your quota for the requested resource.",
                        "details": "",
                    }
                ]
            }
            assert throttled.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
            assert throttled.headers["x-amzn-RequestId"]
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
            assert (await create_feed()).status_code == 429

            stats = (await client.get("/_sandbox/stats")).json()["sellers"][SELLER]
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


async def test_time_scale_from_the_environment_and_sigint_stop() -> None:
    with running_sandbox(env={"AMAZON_JOBS_TIME_SCALE": "120"}) as sandbox:
        async with httpx.AsyncClient(base_url=sandbox.url) as client:
            health = await client.get("/_sandbox/health")
            assert health.json() == {"status": "ok", "time_scale": 120.0}
            assert health.headers["x-amzn-RequestId"]
        os.kill(sandbox.pid, signal.SIGINT)
        assert sandbox.process.wait(10) == 0
