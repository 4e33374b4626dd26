"""Feeds API over HTTP: lifecycle, result documents, FATAL and CANCELLED, listing rules."""

from __future__ import annotations

import json

import pytest

from tests.sandbox.conftest import (
    JSON_TYPE,
    MARKETPLACE,
    PROCESSING_DONE_S,
    SELLER,
    Sandbox,
    listings_feed,
    quantity_message,
)


async def test_feed_with_good_and_bad_messages_ends_done_with_issues_on_the_bad_skus(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    price = {
        "messageId": 3,
        "sku": "MUG",
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/purchasable_offer",
                "value": [
                    {
                        "marketplace_id": MARKETPLACE,
                        "currency": "EUR",
                        "audience": "ALL",
                        "our_price": [{"schedule": [{"value_with_tax": -1}]}],
                    }
                ],
            }
        ],
    }
    feed_id = await sandbox.submit(
        auth,
        listings_feed(
            quantity_message(1, "PEN", 9),
            quantity_message(2, "GHOST", 1),
            price,
            quantity_message(4, "MUG", -3),
        ),
    )
    feed = await sandbox.feed(auth, feed_id)
    assert feed["processingStatus"] == "IN_QUEUE"
    assert set(feed) == {"feedId", "feedType", "marketplaceIds", "createdTime", "processingStatus"}

    sandbox.clock.advance(30)
    feed = await sandbox.feed(auth, feed_id)
    assert feed["processingStatus"] == "IN_PROGRESS"
    assert "processingStartTime" in feed and "resultFeedDocumentId" not in feed
    assert (await sandbox.listings())["PEN"]["quantity"] == 5  # not applied before DONE

    sandbox.clock.advance(60)
    feed = await sandbox.feed(auth, feed_id)
    assert feed["processingStatus"] == "DONE"
    assert feed["processingStartTime"] == "2026-01-01T00:00:30.000Z"
    assert feed["processingEndTime"] == "2026-01-01T00:01:30.000Z"

    report = json.loads(await sandbox.result_document(auth, feed_id))
    assert report["header"] == {"sellerId": SELLER, "version": "2.0", "feedId": feed_id}
    assert report["summary"] == {
        "errors": 3,
        "warnings": 0,
        "messagesProcessed": 4,
        "messagesAccepted": 1,
        "messagesInvalid": 3,
    }
    assert sorted((i["messageId"], i["sku"]) for i in report["issues"]) == [
        (2, "GHOST"),
        (3, "MUG"),
        (4, "MUG"),
    ]
    listings = await sandbox.listings()
    assert listings["PEN"]["quantity"] == 9
    assert (listings["MUG"]["quantity"], listings["MUG"]["price"]) == (2, 8.0)


async def test_feeds_of_one_seller_are_processed_one_at_a_time(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    first = await sandbox.submit(auth, listings_feed(quantity_message(1, "PEN", 1)))
    second = await sandbox.submit(auth, listings_feed(quantity_message(1, "PEN", 2)))
    sandbox.clock.advance(31)
    assert (await sandbox.feed(auth, first))["processingStatus"] == "IN_PROGRESS"
    assert (await sandbox.feed(auth, second))["processingStatus"] == "IN_QUEUE"
    sandbox.clock.advance(60)  # the first ends at 90 s, the second starts then
    assert (await sandbox.feed(auth, first))["processingStatus"] == "DONE"
    assert (await sandbox.listings())["PEN"]["quantity"] == 1
    second_feed = await sandbox.feed(auth, second)
    assert second_feed["processingStartTime"] == "2026-01-01T00:01:30.000Z"
    sandbox.clock.advance(60)
    assert (await sandbox.feed(auth, second))["processingStatus"] == "DONE"
    assert (await sandbox.listings())["PEN"]["quantity"] == 2


async def test_cancel_only_while_in_queue(sandbox: Sandbox, auth: dict[str, str]) -> None:
    feed_id = await sandbox.submit(auth, listings_feed(quantity_message(1, "PEN", 0)))
    response = await sandbox.client.delete(f"/feeds/2021-06-30/feeds/{feed_id}", headers=auth)
    assert response.status_code == 200
    assert response.content == b""
    sandbox.clock.advance(PROCESSING_DONE_S)
    feed = await sandbox.feed(auth, feed_id)
    assert feed["processingStatus"] == "CANCELLED"
    assert "resultFeedDocumentId" not in feed
    assert (await sandbox.listings())["PEN"]["quantity"] == 5

    running = await sandbox.submit(auth, listings_feed(quantity_message(1, "PEN", 0)))
    sandbox.clock.advance(31)
    refused = await sandbox.client.delete(f"/feeds/2021-06-30/feeds/{running}", headers=auth)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "InvalidInput"
    assert "IN_PROGRESS" in refused.json()["errors"][0]["message"]
    missing = await sandbox.client.delete("/feeds/2021-06-30/feeds/1", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NotFound"


@pytest.mark.parametrize(
    ("feed_type", "content", "why"),
    [
        ("POST_PRODUCT_DATA", b"<AmazonEnvelope/>", "no longer supported"),
        ("POST_INVENTORY_AVAILABILITY_DATA", b"<AmazonEnvelope/>", "no longer supported"),
        ("JSON_LISTINGS_FEED", b"{ this is not json", "not valid JSON"),
        (
            "JSON_LISTINGS_FEED",
            listings_feed(quantity_message(1, "PEN", 1), seller_id="X"),
            "sellerId",
        ),
    ],
)
async def test_fatal_feeds(
    sandbox: Sandbox, auth: dict[str, str], feed_type: str, content: bytes, why: str
) -> None:
    feed_id = await sandbox.submit(auth, content, feed_type=feed_type)
    sandbox.clock.advance(PROCESSING_DONE_S)
    feed = await sandbox.feed(auth, feed_id)
    assert feed["processingStatus"] == "FATAL"
    assert why in (await sandbox.result_document(auth, feed_id)).decode()
    assert (await sandbox.listings())["PEN"]["quantity"] == 5


async def test_feed_whose_document_was_never_uploaded_ends_fatal(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    created = await sandbox.client.post(
        "/feeds/2021-06-30/documents", json={"contentType": JSON_TYPE}, headers=auth
    )
    response = await sandbox.client.post(
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [MARKETPLACE],
            "inputFeedDocumentId": created.json()["feedDocumentId"],
        },
        headers=auth,
    )
    assert response.status_code == 202
    sandbox.clock.advance(PROCESSING_DONE_S)
    feed = await sandbox.feed(auth, response.json()["feedId"])
    assert feed["processingStatus"] == "FATAL"


async def test_upload_url_checks_content_type_and_expires(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    created = await sandbox.client.post(
        "/feeds/2021-06-30/documents", json={"contentType": JSON_TYPE}, headers=auth
    )
    url = created.json()["url"]
    assert url.startswith("http://sandbox.test/_documents/")
    wrong = await sandbox.client.put(url, content=b"{}", headers={"content-type": "text/plain"})
    assert wrong.status_code == 403
    assert b"SignatureDoesNotMatch" in wrong.content
    sandbox.clock.advance(301)
    late = await sandbox.client.put(url, content=b"{}", headers={"content-type": JSON_TYPE})
    assert late.status_code == 403
    assert b"expired" in late.content
    forged = await sandbox.client.put(
        "http://sandbox.test/_documents/forged", content=b"{}", headers={"content-type": JSON_TYPE}
    )
    assert forged.status_code == 403


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"marketplaceIds": [MARKETPLACE], "inputFeedDocumentId": "x"}, "feedType"),
        ({"feedType": "NO_SUCH_FEED", "marketplaceIds": [MARKETPLACE]}, "feedType"),
        ({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": []}, "marketplaceIds"),
        ({"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": ["ATVPDKIKX0DER"]}, "marketplace"),
        (
            {
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": [MARKETPLACE],
                "inputFeedDocumentId": "x",
            },
            "inputFeedDocumentId",
        ),
    ],
)
async def test_create_feed_rejects_bad_input(
    sandbox: Sandbox, auth: dict[str, str], body: dict[str, object], fragment: str
) -> None:
    response = await sandbox.client.post("/feeds/2021-06-30/feeds", json=body, headers=auth)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["code"] == "InvalidInput" and fragment in error["message"]
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0083"


async def test_get_feeds_filters_and_pages(sandbox: Sandbox, auth: dict[str, str]) -> None:
    await sandbox.register(
        quotas={
            "createFeed": {"burst": 100, "rate_per_s": 1},
            "JSON_LISTINGS_FEED": {"max_calls": 100, "window_s": 300},
        }
    )
    document = await sandbox.upload(auth, listings_feed(quantity_message(1, "PEN", 1)))
    ids = []
    for _ in range(25):
        response = await sandbox.client.post(
            "/feeds/2021-06-30/feeds",
            json={
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": [MARKETPLACE],
                "inputFeedDocumentId": document,
            },
            headers=auth,
        )
        ids.append(response.json()["feedId"])
        sandbox.clock.advance(1)
    await sandbox.client.delete(f"/feeds/2021-06-30/feeds/{ids[-1]}", headers=auth)

    seen: list[str] = []
    params: dict[str, str] = {"feedTypes": "JSON_LISTINGS_FEED", "pageSize": "10"}
    pages = 0
    while True:
        response = await sandbox.client.get("/feeds/2021-06-30/feeds", params=params, headers=auth)
        assert response.status_code == 200, response.text
        pages += 1
        seen += [feed["feedId"] for feed in response.json()["feeds"]]
        if "nextToken" not in response.json():
            break
        params = {"nextToken": response.json()["nextToken"]}
    assert pages == 3
    assert seen == list(reversed(ids))  # newest first, each exactly once

    cancelled = await sandbox.client.get(
        "/feeds/2021-06-30/feeds",
        params={"feedTypes": "JSON_LISTINGS_FEED", "processingStatuses": "CANCELLED"},
        headers=auth,
    )
    assert [feed["feedId"] for feed in cancelled.json()["feeds"]] == [ids[-1]]
    other_type = await sandbox.client.get(
        "/feeds/2021-06-30/feeds",
        params={"feedTypes": "POST_ORDER_FULFILLMENT_DATA"},
        headers=auth,
    )
    assert other_type.json() == {"feeds": []}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"pageSize": "10"},
        {"feedTypes": "JSON_LISTINGS_FEED", "pageSize": "0"},
        {"feedTypes": "JSON_LISTINGS_FEED", "pageSize": "101"},
        {"feedTypes": "JSON_LISTINGS_FEED", "processingStatuses": "SOMETIMES"},
        {"nextToken": "abc", "feedTypes": "JSON_LISTINGS_FEED"},
        {"nextToken": "!!not-a-token!!"},
    ],
)
async def test_get_feeds_parameter_rules(
    sandbox: Sandbox, auth: dict[str, str], params: dict[str, str]
) -> None:
    response = await sandbox.client.get("/feeds/2021-06-30/feeds", params=params, headers=auth)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


async def test_unknown_feed_and_document_are_404(sandbox: Sandbox, auth: dict[str, str]) -> None:
    feed = await sandbox.client.get("/feeds/2021-06-30/feeds/999", headers=auth)
    document = await sandbox.client.get("/feeds/2021-06-30/documents/amzn1.nope", headers=auth)
    for response in (feed, document):
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "NotFound"
        assert response.headers["x-amzn-RateLimit-Limit"]
        assert response.headers["x-amzn-RequestId"]


async def test_feeds_of_one_seller_are_invisible_to_another(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    feed_id = await sandbox.submit(auth, listings_feed(quantity_message(1, "PEN", 1)))
    await sandbox.register(seller_id="A3OTHER", refresh_token="Atzr|other")
    other = await sandbox.login("Atzr|other")
    response = await sandbox.client.get(f"/feeds/2021-06-30/feeds/{feed_id}", headers=other)
    assert response.status_code == 404


async def test_the_admin_feed_list_shows_each_feed_with_its_processing_summary(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    first = await sandbox.submit(
        auth, listings_feed(quantity_message(1, "PEN", 3), quantity_message(2, "GHOST", 1))
    )
    sandbox.clock.advance(PROCESSING_DONE_S)
    second = await sandbox.submit(auth, listings_feed(quantity_message(1, "MUG", 4)))

    response = await sandbox.client.get(f"/_sandbox/sellers/{SELLER}/feeds")
    assert response.status_code == 200, response.text
    feeds = response.json()["feeds"]
    assert [f["feedId"] for f in feeds] == [first, second]  # oldest first
    assert feeds[0]["processingStatus"] == "DONE"
    assert feeds[0]["createdTime"] == "2026-01-01T00:00:00.000Z"
    assert feeds[0]["summary"] == {
        "errors": 1,
        "warnings": 0,
        "messagesProcessed": 2,
        "messagesAccepted": 1,
        "messagesInvalid": 1,
    }
    assert (feeds[1]["processingStatus"], feeds[1]["summary"]) == ("IN_QUEUE", None)
    unknown = await sandbox.client.get("/_sandbox/sellers/NOBODY/feeds")
    assert unknown.status_code == 404


async def test_one_listing_is_read_alone_and_shows_what_a_feed_did_to_it(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    await sandbox.submit(auth, listings_feed(quantity_message(1, "PEN", 0)))
    before = await sandbox.client.get(f"/_sandbox/sellers/{SELLER}/listings/PEN")
    assert before.status_code == 200, before.text
    assert (before.json()["quantity"], before.json()["status"]) == (5, "Active")
    sandbox.clock.advance(PROCESSING_DONE_S)
    after = (await sandbox.client.get(f"/_sandbox/sellers/{SELLER}/listings/PEN")).json()
    assert after == (await sandbox.listings())["PEN"]
    assert (after["quantity"], after["status"]) == (0, "Inactive")
    missing = await sandbox.client.get(f"/_sandbox/sellers/{SELLER}/listings/GHOST")
    assert missing.status_code == 404
    assert (await sandbox.client.get("/_sandbox/sellers/NOBODY/listings/PEN")).status_code == 404
