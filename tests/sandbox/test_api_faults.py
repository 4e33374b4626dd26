"""Injected faults and call statistics."""

from __future__ import annotations

import time

from tests.sandbox.conftest import PROCESSING_DONE_S, Sandbox, listings_feed, quantity_message


async def add_fault(sandbox: Sandbox, **fault: object) -> None:
    response = await sandbox.client.post("/_sandbox/faults", json=fault)
    assert response.status_code == 201, response.text


async def test_error_status_for_one_operation_of_one_seller(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    await sandbox.register(seller_id="A3OTHER", refresh_token="Atzr|other")
    other = await sandbox.login("Atzr|other")
    await add_fault(sandbox, seller_id="A2SELLER", operation="getFeed", status=503)
    failed = await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=auth)
    assert failed.status_code == 503
    assert failed.json()["errors"][0]["code"] == "ServiceUnavailable"
    assert "x-amzn-RateLimit-Limit" not in failed.headers
    # Other operations, and the same operation of another seller, are untouched.
    assert (await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=other)).status_code == 404
    reports = await sandbox.client.get("/reports/2021-06-30/reports/1", headers=auth)
    assert reports.status_code == 404
    stats = await sandbox.stats()
    assert stats["getFeed"] == {"calls": 1, "accepted": 0, "throttled": 0, "errors": 1}
    # getReport answered 404: an error too.
    assert stats["getReport"] == {"calls": 1, "accepted": 0, "throttled": 0, "errors": 1}

    assert (await sandbox.client.delete("/_sandbox/faults")).status_code == 204
    assert (await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=auth)).status_code == 404


async def test_error_rate_fails_a_share_of_calls(sandbox: Sandbox, auth: dict[str, str]) -> None:
    await add_fault(sandbox, operation="getFeed", error_rate=0.5)
    codes = []
    for _ in range(200):
        response = await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=auth)
        codes.append(response.status_code)
        sandbox.clock.advance(0.5)  # getFeed restores 2 tokens a second
    failures = codes.count(500)
    assert failures + codes.count(404) == 200
    assert 60 < failures < 140


async def test_throttle_storm_answers_429_for_its_duration(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    await add_fault(sandbox, operation="getFeed", throttle_storm_s=10)
    storm = await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=auth)
    assert storm.status_code == 429
    assert storm.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert storm.json()["errors"][0]["code"] == "QuotaExceeded"
    sandbox.clock.advance(10)
    assert (await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=auth)).status_code == 404
    assert (await sandbox.stats())["getFeed"]["throttled"] == 1


async def test_fatal_feeds_fault(sandbox: Sandbox, auth: dict[str, str]) -> None:
    await add_fault(sandbox, fatal_feeds=True)
    feed_id = await sandbox.submit(auth, listings_feed(quantity_message(1, "PEN", 0)))
    sandbox.clock.advance(PROCESSING_DONE_S)
    assert (await sandbox.feed(auth, feed_id))["processingStatus"] == "FATAL"
    assert (await sandbox.listings())["PEN"]["quantity"] == 5


async def test_latency(sandbox: Sandbox, auth: dict[str, str]) -> None:
    await add_fault(sandbox, operation="getFeed", latency_ms=150)
    started = time.monotonic()
    response = await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=auth)
    assert response.status_code == 404
    assert time.monotonic() - started >= 0.15


async def test_faults_are_validated(sandbox: Sandbox) -> None:
    for fault in ({"operation": "makeCoffee"}, {"error_rate": 2}, {"status": 200}, {"oops": 1}):
        response = await sandbox.client.post("/_sandbox/faults", json=fault)
        assert response.status_code == 400, fault


async def test_stats_count_each_sellers_calls_by_outcome(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    await sandbox.register(seller_id="A3OTHER", refresh_token="Atzr|other")
    other = await sandbox.login("Atzr|other")
    document = {"contentType": "text/xml"}
    for headers in (auth, auth, other):
        created = await sandbox.client.post(
            "/feeds/2021-06-30/documents", json=document, headers=headers
        )
        assert created.status_code == 201
    assert (await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=auth)).status_code == 404
    await add_fault(sandbox, seller_id="A2SELLER", operation="getFeed", throttle_storm_s=10)
    assert (await sandbox.client.get("/feeds/2021-06-30/feeds/1", headers=auth)).status_code == 429
    await sandbox.client.get("/feeds/2021-06-30/feeds/1")  # no token: no seller to count

    mine = {
        "createFeedDocument": {"calls": 2, "accepted": 2, "throttled": 0, "errors": 0},
        "getFeed": {"calls": 2, "accepted": 0, "throttled": 1, "errors": 1},
    }
    theirs = {"createFeedDocument": {"calls": 1, "accepted": 1, "throttled": 0, "errors": 0}}
    assert (await sandbox.client.get("/_sandbox/stats")).json() == {
        "operations": {
            "createFeedDocument": {"calls": 3, "accepted": 3, "throttled": 0, "errors": 0},
            "getFeed": mine["getFeed"],
        },
        "sellers": {"A2SELLER": mine, "A3OTHER": theirs},
    }
    one = await sandbox.client.get("/_sandbox/stats", params={"seller_id": "A3OTHER"})
    assert one.json() == {"operations": theirs, "sellers": {"A3OTHER": theirs}}
