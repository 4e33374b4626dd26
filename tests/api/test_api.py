"""The HTTP API against the real system: every endpoint, filter, cursor page, tenant rule
and error code. Jobs are created through the API and run by the real services."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from prometheus_client.parser import text_string_to_metric_families

from devtools.ports import free_port
from devtools.topics_read import records_to_end
from devtools.world import MARKETPLACE, Seller
from services.api.app import create_app
from services.api.pagination import encode_cursor
from services.api.settings import ApiSettings
from shared.events import (
    ItemState,
    JobFailed,
    JobLogged,
    ListingState,
    LogLine,
    StockChanged,
)
from shared.jobs import JobStatus, JobType
from shared.kafka.admin import ensure_topics
from shared.kafka.dead_letters import dead_letter_for
from shared.kafka.producer import EventPublisher
from shared.mongo import get_database, make_mongo_client
from shared.signing import Verifier, master_secret, shop_key, signature
from shared.topics import CATALOG_EVENTS, DEAD_LETTERS, JOB_EVENTS, LISTINGS, TopicSpec, listing_key
from tests.stack import SECRET_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

PLANTED = f"PLANTED-SECRET-{uuid.uuid4().hex}"
ONE = Seller("apione", shop_id="shop1", listed=10)
TWO = Seller("apitwo", shop_id="shop2", listed=5)


def account_body(seller: Seller, secret: str = "client-secret") -> dict[str, Any]:
    return {
        "account_id": seller.account_id,
        "shop_id": seller.shop_id,
        "name": f"Shop {seller.name}",
        "seller_id": seller.seller_id,
        "region": "EU",
        "marketplace_ids": [MARKETPLACE],
        "lwa": {
            "client_id": "amzn1.application-oa2-client.api",
            "client_secret": secret,
            "refresh_token": seller.refresh_token,
        },
    }


@pytest.fixture(scope="module")
async def world(
    system: Stack, admin: httpx.AsyncClient, shop1: httpx.AsyncClient, shop2: httpx.AsyncClient
) -> dict[str, Any]:
    """Two shops with an account each; shop1 has six jobs, shop2 one; all finished."""
    async with httpx.AsyncClient() as http:
        for seller in (ONE, TWO):
            (
                await http.post(
                    f"{system.sandbox_url}/_sandbox/sellers", json=seller.sandbox_payload()
                )
            ).raise_for_status()
    for seller, secret in ((ONE, PLANTED), (TWO, "other-secret")):
        created = await admin.post("/v1/accounts", json=account_body(seller, secret))
        assert created.status_code == 202, created.text
        assert PLANTED not in created.text
    await eventually(lambda: _count(admin, "/v1/accounts", 2), "both accounts projected")
    ids = []
    for n in range(5):
        r = await shop1.post(
            "/v1/jobs",
            json={
                "job_id": f"api-qty-{n}-{uuid.uuid4().hex[:4]}",
                "account_id": ONE.account_id,
                "job_type": "update_qty",
                "items": [{"sku": ONE.sku(n), "quantity": n}],
            },
        )
        assert r.status_code == 202, r.text
        ids.append(r.json()["job_id"])
    report = await shop1.post(
        "/v1/jobs",
        json={"account_id": ONE.account_id, "job_type": "inventory_report", "params": {}},
    )
    ids.append(report.json()["job_id"])
    other = await shop2.post(
        "/v1/jobs",
        json={
            "account_id": TWO.account_id,
            "job_type": "update_qty",
            "items": [{"sku": TWO.sku(0), "quantity": 1}],
        },
    )
    assert other.status_code == 202, other.text

    async def all_done() -> bool:
        rows = (await admin.get("/v1/jobs", params={"limit": 200})).json()["data"]
        status = {r["id"]: r["status"] for r in rows}
        return all(status.get(j) == "done" for j in [*ids, other.json()["job_id"]])

    await eventually(all_done, "every job of both shops done")
    return {
        "shop1_jobs": ids,
        "shop2_job": other.json()["job_id"],
        "report_job": report.json()["job_id"],
    }


async def _count(client: httpx.AsyncClient, path: str, n: int) -> bool:
    return len((await client.get(path)).json()["data"]) >= n


async def test_job_rows_have_the_manuals_columns(
    world: dict[str, Any], shop1: httpx.AsyncClient
) -> None:
    rows = (await shop1.get("/v1/jobs")).json()["data"]
    assert {r["shop_id"] for r in rows} == {"shop1"}
    row = next(r for r in rows if r["id"] == world["shop1_jobs"][0])
    assert row["account"] == {"id": ONE.account_id, "name": "Shop apione"}
    assert (row["job_type"], row["job_type_label"]) == ("update_qty", "Update Products QTY")
    assert (row["status"], row["status_label"], row["cancelable"]) == ("done", "Done", False)
    assert row["items"] == {
        "total": 1,
        "pending": 0,
        "accepted": 1,
        "warning": 0,
        "error": 0,
        "canceled": 0,
    }
    assert datetime.fromisoformat(row["created_at"]) <= datetime.fromisoformat(row["updated_at"])
    created = [datetime.fromisoformat(r["created_at"]) for r in rows]
    assert created == sorted(created, reverse=True)  # newest first (as times, not text)


async def test_job_detail_items_and_log(world: dict[str, Any], shop1: httpx.AsyncClient) -> None:
    job_id = world["shop1_jobs"][2]
    detail = (await shop1.get(f"/v1/jobs/{job_id}")).json()
    assert detail["status"] == "done" and detail["data"]["feed_id"]
    items = (await shop1.get(f"/v1/jobs/{job_id}/items")).json()
    assert [(i["key"], i["status"]) for i in items["data"]] == [(ONE.sku(2), "accepted")]
    log = (await shop1.get(f"/v1/jobs/{job_id}/log")).json()["data"]
    messages = [line["message"] for line in log]
    assert messages[0].startswith("job received with 1 item")
    assert any("submitted" in m for m in messages)
    times = [datetime.fromisoformat(line["at"]) for line in log]
    assert times == sorted(times)  # as times: "…:09Z" sorts after "…:09.391000Z" as text


async def test_filters(
    world: dict[str, Any], admin: httpx.AsyncClient, shop1: httpx.AsyncClient
) -> None:
    def ids(resp: httpx.Response) -> set[str]:
        assert resp.status_code == 200, resp.text
        return {r["id"] for r in resp.json()["data"]}

    assert ids(await shop1.get("/v1/jobs", params={"job_type": "inventory_report"})) == {
        world["report_job"]
    }
    assert ids(await shop1.get("/v1/jobs", params={"status": "done"})) >= set(world["shop1_jobs"])
    assert ids(await shop1.get("/v1/jobs", params={"status": "canceled"})) == set()
    assert ids(await admin.get("/v1/jobs", params={"account_id": TWO.account_id})) == {
        world["shop2_job"]
    }
    rows = (await shop1.get("/v1/jobs")).json()["data"]
    newest = max(r["created_at"] for r in rows)
    assert ids(await shop1.get("/v1/jobs", params={"created_from": newest})) == {
        r["id"] for r in rows if r["created_at"] == newest
    }
    assert ids(await shop1.get("/v1/jobs", params={"created_to": "2000-01-01T00:00:00Z"})) == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"job_type": "teleport"}, "job_type"),
        ({"limit": 0}, "limit"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"created_to": "0.5"}, "created_to"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        (
            {"created_from": "2026-02-01T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"},
            "created_from",
        ),
    ],
)
async def test_bad_filters_are_422_naming_the_field(
    world: dict[str, Any], shop1: httpx.AsyncClient, params: dict[str, Any], field: str
) -> None:
    resp = await shop1.get("/v1/jobs", params=params)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "invalid"
    assert resp.json()["error"]["message"].startswith(f"{field}:")


async def test_cursor_pages_cover_everything_once(
    world: dict[str, Any], shop1: httpx.AsyncClient
) -> None:
    everything = [r["id"] for r in (await shop1.get("/v1/jobs")).json()["data"]]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await shop1.get("/v1/jobs", params=params)).json()
        seen += [r["id"] for r in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything and pages == (len(everything) + 1) // 2


async def test_tenant_isolation_on_every_path(
    world: dict[str, Any], shop2: httpx.AsyncClient, shop1: httpx.AsyncClient
) -> None:
    job = world["shop1_jobs"][0]
    for path in (
        f"/v1/jobs/{job}",
        f"/v1/jobs/{job}/items",
        f"/v1/jobs/{job}/log",
        f"/v1/accounts/{ONE.account_id}/listings",
        f"/v1/accounts/{ONE.account_id}/inventory",
        f"/v1/accounts/{ONE.account_id}/orders",
    ):
        resp = await shop2.get(path)
        assert resp.status_code == 404, path
        assert resp.json()["error"]["code"] == "not_found"
    assert (await shop2.post(f"/v1/jobs/{job}/cancel")).status_code == 404
    foreign = await shop2.post(
        "/v1/jobs",
        json={
            "account_id": ONE.account_id,
            "job_type": "update_qty",
            "items": [{"sku": "X", "quantity": 1}],
        },
    )
    assert foreign.status_code == 404
    as_other = await shop2.post(
        "/v1/jobs",
        json={
            "shop_id": "shop1",
            "account_id": ONE.account_id,
            "job_type": "update_qty",
            "items": [{"sku": "X", "quantity": 1}],
        },
    )
    assert as_other.status_code == 404
    assert {r["id"] for r in (await shop2.get("/v1/jobs")).json()["data"]} == {world["shop2_job"]}
    assert [a["id"] for a in (await shop2.get("/v1/accounts")).json()["data"]] == [TWO.account_id]
    quotas = (await shop2.get("/v1/throttle")).json()["data"]
    assert {q["seller_id"] for q in quotas} <= {TWO.seller_id}  # buckets are the seller's
    assert (await shop1.get(f"/v1/accounts/{ONE.account_id}/listings")).status_code == 200


async def test_auth_errors(world: dict[str, Any], system: Stack, shop1: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=system.api_url) as anonymous:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            resp = await anonymous.get("/v1/jobs", headers=headers)
            assert resp.status_code == 401
            assert resp.json()["error"]["code"] == "unauthorized"
    assert (await shop1.get("/v1/dead-letters")).status_code == 403
    assert (await shop1.post("/v1/accounts", json=account_body(ONE))).status_code == 403


async def test_create_validates_and_cancel_explains(
    world: dict[str, Any], shop1: httpx.AsyncClient
) -> None:
    bad = await shop1.post(
        "/v1/jobs",
        json={
            "account_id": ONE.account_id,
            "job_type": "update_qty",
            "items": [{"sku": "A", "quantity": -1}],
        },
    )
    assert bad.status_code == 422 and "items.0.quantity" in bad.json()["error"]["message"]
    unknown = await shop1.post(
        "/v1/jobs", json={"account_id": ONE.account_id, "job_type": "teleport", "items": []}
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["message"].startswith("job_type")
    spain = await shop1.post(
        "/v1/jobs",
        json={
            "account_id": ONE.account_id,
            "job_type": "update_qty",
            "items": [{"sku": ONE.sku(0), "quantity": 1}],
            "marketplace_id": "A1RKKUPIHCS9HS",
        },
    )
    assert spain.status_code == 422
    assert spain.json()["error"]["message"] == (
        f"marketplace_id: 'A1RKKUPIHCS9HS' is not a marketplace of account "
        f"'{ONE.account_id}' ({MARKETPLACE})"
    )
    done = await shop1.post(f"/v1/jobs/{world['shop1_jobs'][0]}/cancel")
    assert done.status_code == 409
    assert done.json()["error"] == {"code": "not_cancelable", "message": "the job is already done"}
    assert (await shop1.get("/v1/jobs/no-such-job")).status_code == 404


async def test_account_data_endpoints(
    world: dict[str, Any], shop1: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    listings = (await shop1.get(f"/v1/accounts/{ONE.account_id}/listings")).json()["data"]
    assert {row["sku"]: row["quantity"] for row in listings if row["status"] == "active"}[
        ONE.sku(3)
    ] == 3
    # A record of before listings had a marketplace is the account's first marketplace's.
    old = ListingState(account_id=ONE.account_id, shop_id="shop1", sku="OLD-1", status="active")
    await publisher.publish(LISTINGS, listing_key(ONE.account_id, "OLD-1"), old)

    async def on_its_marketplace() -> list[dict[str, Any]]:
        rows = await _rows(
            shop1, f"/v1/accounts/{ONE.account_id}/listings", marketplace_id=MARKETPLACE
        )
        return rows if "OLD-1" in {r["sku"] for r in rows} else []

    rows = await eventually(on_its_marketplace, "the old record shown on the first marketplace")
    assert {r["marketplace_id"] for r in rows} == {MARKETPLACE}
    assert {r["sku"] for r in rows} >= {ONE.sku(3), "OLD-1"}
    listings_path = f"/v1/accounts/{ONE.account_id}/listings"
    assert await _rows(shop1, listings_path, marketplace_id="A13V1IB3VIYZZH") == []
    inventory = await eventually(
        lambda: _rows(shop1, f"/v1/accounts/{ONE.account_id}/inventory"),
        "the account's inventory projected",
    )
    assert {r["sku"] for r in inventory} >= {ONE.sku(n) for n in range(5, 10)}
    page = (await shop1.get(f"/v1/accounts/{ONE.account_id}/inventory", params={"limit": 3})).json()
    rest = (
        await shop1.get(
            f"/v1/accounts/{ONE.account_id}/inventory",
            params={"limit": 1000, "cursor": page["next_cursor"]},
        )
    ).json()
    assert [r["sku"] for r in page["data"] + rest["data"]] == sorted(r["sku"] for r in inventory)
    orders = await shop1.get(f"/v1/accounts/{ONE.account_id}/orders")
    assert orders.status_code == 200 and orders.json()["data"] == []  # none imported yet


async def _rows(client: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    answer = await client.get(path, params={"limit": 1000, **params})
    rows: list[dict[str, Any]] = answer.json()["data"]
    return rows


async def test_throttle_panel(world: dict[str, Any], admin: httpx.AsyncClient) -> None:
    quotas = await eventually(
        lambda: _rows(admin, "/v1/throttle"), "the throttle's buckets projected"
    )
    feed = next(
        q for q in quotas if q["seller_id"] == ONE.seller_id and q["quota_class"] == "feed_submit"
    )
    assert feed["burst"] == 15 and feed["queue_depth"] >= 0 and 0 <= feed["tokens"] <= 15


async def test_throttle_filters_and_pages(
    world: dict[str, Any], admin: httpx.AsyncClient, shop2: httpx.AsyncClient
) -> None:
    everything = await eventually(
        lambda: _rows(admin, "/v1/throttle"), "the throttle's buckets projected"
    )
    keys = [(q["seller_id"], q["region"], q["quota_class"]) for q in everything]
    assert keys == sorted(keys)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await admin.get("/v1/throttle", params=params)).json()
        seen += page["data"]
        if not (cursor := page["next_cursor"]):
            break
    walked = [(q["seller_id"], q["region"], q["quota_class"]) for q in seen]
    # Each bucket once, in order (a bucket the throttle adds meanwhile may join the walk).
    assert walked == sorted(set(walked)) and set(walked) >= set(keys)
    feeds = (await admin.get("/v1/throttle", params={"quota_class": "feed_submit"})).json()
    assert feeds["data"] and {q["quota_class"] for q in feeds["data"]} == {"feed_submit"}
    # An account's buckets are its seller's (every account of that seller shares them).
    mine = (await admin.get("/v1/throttle", params={"account_id": ONE.account_id})).json()
    assert {q["seller_id"] for q in mine["data"]} == {ONE.seller_id}
    by_seller = (await admin.get("/v1/throttle", params={"seller_id": ONE.seller_id})).json()
    assert by_seller["data"] == mine["data"]
    other = await shop2.get("/v1/throttle", params={"account_id": ONE.account_id})
    assert other.status_code == 200 and other.json()["data"] == []  # not shop2's account
    bad = await admin.get("/v1/throttle", params={"quota_class": "teleport"})
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("quota_class:")


async def test_dead_letters_listed_and_replayed(
    world: dict[str, Any], admin: httpx.AsyncClient, publisher: EventPublisher
) -> None:
    marker = f"broken-{uuid.uuid4().hex[:6]}"
    await publisher.publish_raw(CATALOG_EVENTS.name, marker.encode(), b'{"event_type": ')

    async def letter() -> dict[str, Any] | None:
        rows = (await admin.get("/v1/dead-letters")).json()["data"]
        return next((r for r in rows if r["key"] == marker), None)

    found = await eventually(letter, "the broken record's dead letter listed")
    assert found["original_topic"] == CATALOG_EVENTS.name
    assert "malformed JSON" in found["error"]
    assert (found["raw_stored"], found["raw_value"], found["raw_size"]) == (
        "copy",
        '{"event_type": ',
        15,
    )
    assert found["raw_sha256"] == hashlib.sha256(b'{"event_type": ').hexdigest()
    replay = await admin.post(f"/v1/dead-letters/{found['id']}/replay")
    assert replay.status_code == 202 and replay.json()["topic"] == CATALOG_EVENTS.name
    assert (replay.json()["raw_stored"], replay.json()["size"]) == ("copy", 15)
    sent = replay.json()

    async def recorded() -> list[dict[str, Any]]:
        rows = (await admin.get("/v1/dead-letters", params={"limit": 500})).json()["data"]
        return next(r["replays"] for r in rows if r["id"] == found["id"])

    # The replay is on the letter (the same bytes fail again, so a new letter appears too).
    [done] = await eventually(recorded, "the replay recorded on the letter")
    assert (done["topic"], done["partition"], done["offset"]) == (
        CATALOG_EVENTS.name,
        sent["partition"],
        sent["offset"],
    )
    assert (await admin.post("/v1/dead-letters/nope/replay")).status_code == 404


async def test_a_large_message_is_dead_lettered_by_reference_and_replayed_from_its_topic(
    system: Stack, admin: httpx.AsyncClient, publisher: EventPublisher, topics: str
) -> None:
    """About 1 MB that the submitter cannot read: the letter only refers to it, and a
    replay reads the original back from its topic and sends the very same bytes."""
    marker = f"large-{uuid.uuid4().hex[:6]}"
    value = StockChanged(shop_id=marker, sku="A", quantity=1).model_dump_json().encode()
    value = value[:-1] + b', "padding": "' + b"x" * (1_000_000 - len(value) - 15) + b'"}'
    assert 999_000 < len(value) <= 1_000_000
    await publisher.publish_raw(CATALOG_EVENTS.name, marker.encode(), value)

    async def letter() -> dict[str, Any] | None:
        rows = (await admin.get("/v1/dead-letters")).json()["data"]
        return next((r for r in rows if r["key"] == marker), None)

    found = await eventually(letter, "the large record's dead letter listed")
    assert (found["raw_stored"], found["raw_value"]) == ("reference", None)
    assert found["raw_size"] == len(value)
    assert found["raw_sha256"] == hashlib.sha256(value).hexdigest()
    assert found["raw_head"] == value[:2048].decode() and found["raw_encoding"] == "utf-8"
    assert "padding" in found["error"]
    replay = await admin.post(f"/v1/dead-letters/{found['id']}/replay")
    assert replay.status_code == 202, replay.text
    sent = replay.json()
    assert (sent["raw_stored"], sent["size"]) == ("reference", len(value))
    key, again = await record_at(topics, sent["topic"], sent["partition"], sent["offset"])
    assert (key, again) == (marker.encode(), value)


async def record_at(bootstrap: str, topic: str, partition: int, offset: int) -> tuple[Any, Any]:
    """The key and value of one record, read by offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        async with asyncio.timeout(30):
            while True:
                for rec in (await consumer.getmany(tp, timeout_ms=500)).get(tp, []):
                    if rec.offset == offset:
                        return rec.key, rec.value
    finally:
        await consumer.stop()


async def test_a_replay_whose_original_is_gone_is_410_saying_why(
    system: Stack, admin: httpx.AsyncClient, publisher: EventPublisher, topics: str
) -> None:
    """Letters written as any consumer writes them, referring to records of a topic that
    retention has since cut (delete-records does now what retention does later), or whose
    offset holds other bytes than the letter describes."""
    topic = TopicSpec(f"test.gone-{uuid.uuid4().hex[:8]}", 1)
    await ensure_topics(topics, [topic])
    value = b"x" * 300_000
    for key in (b"old", b"new"):
        await publisher.publish_raw(topic.name, key, value)
    gone = dead_letter_for(
        topic=topic.name,
        partition=0,
        offset=0,
        key=b"old",
        value=value,
        error="refused by a test",
        consumer_group="test",
    )
    other = gone.model_copy(
        update={"event_id": uuid.uuid4(), "offset": 1, "key": "new", "raw_sha256": "0" * 64}
    )
    assert gone.raw_stored == other.raw_stored == "reference"
    for letter in (gone, other):
        await publisher.publish(DEAD_LETTERS, letter.key, letter)
    admin_client = AIOKafkaAdminClient(bootstrap_servers=topics)
    await admin_client.start()
    try:
        await admin_client.delete_records({TopicPartition(topic.name, 0): RecordsToDelete(1)})
    finally:
        await admin_client.close()

    async def listed() -> bool:
        rows = (await admin.get("/v1/dead-letters")).json()["data"]
        return {str(gone.event_id), str(other.event_id)} <= {r["id"] for r in rows}

    await eventually(listed, "both letters listed")
    answer = await admin.post(f"/v1/dead-letters/{gone.event_id}/replay")
    assert answer.status_code == 410
    assert answer.json()["error"] == {
        "code": "gone",
        "message": f"cannot replay dead letter '{gone.event_id}': {topic.name}/0 offset 0 is no "
        "longer retained: the partition now begins at offset 1",
    }
    answer = await admin.post(f"/v1/dead-letters/{other.event_id}/replay")
    assert answer.status_code == 410
    assert "SHA-256 differs from the letter's" in answer.json()["error"]["message"]


async def _walk(
    client: httpx.AsyncClient, path: str, limit: int, most: int = 10_000
) -> list[dict[str, Any]]:
    """Every row of a list endpoint, ``limit`` at a time, by next_cursor (at most ``most``
    rows: a cursor that goes back would walk for ever)."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while len(rows) <= most:
        params: dict[str, Any] = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = await client.get(path, params=params)
        assert page.status_code == 200, page.text
        rows += page.json()["data"]
        if not (cursor := page.json()["next_cursor"]):
            return rows
    raise AssertionError(f"{path}: more than {most} rows; the first: {rows[:3]}")


async def test_items_log_and_dead_letters_page_by_cursor(
    world: dict[str, Any],
    admin: httpx.AsyncClient,
    shop1: httpx.AsyncClient,
    publisher: EventPublisher,
) -> None:
    """A job refused on arrival (terminal, so no service acts on it) with five items and
    three log lines, published as the submitter would."""
    job_id = f"api-pages-{uuid.uuid4().hex[:6]}"
    at = datetime.now(UTC)
    failed = JobFailed(
        job_id=job_id,
        seq=1,
        shop_id="shop1",
        account_id=ONE.account_id,
        job_type=JobType.UPDATE_QTY,
        status=JobStatus.ERROR,
        items=[ItemState(key=f"P-{n}", status="error", messages=["bad"]) for n in (3, 1, 4, 0, 2)],
        log=[
            LogLine(level="error", message=f"line {n}", at=at + timedelta(0, n)) for n in range(3)
        ],
    )
    await publisher.publish(JOB_EVENTS, job_id, failed)
    await eventually(lambda: _ok(shop1, f"/v1/jobs/{job_id}"), "the refused job projected")
    items = await _walk(shop1, f"/v1/jobs/{job_id}/items", 2)
    assert [i["key"] for i in items] == [f"P-{n}" for n in (3, 1, 4, 0, 2)]  # request order
    log = await _walk(shop1, f"/v1/jobs/{job_id}/log", 1)
    assert [line["message"] for line in log] == ["line 0", "line 1", "line 2"]
    job = (await shop1.get(f"/v1/jobs/{job_id}")).json()
    assert (job["status_label"], job["items"]["error"], job["items"]["total"]) == ("Error", 5, 5)
    before = {r["id"] for r in (await admin.get("/v1/dead-letters")).json()["data"]}
    assert len(before) >= 2
    walked = await _walk(admin, "/v1/dead-letters", 1)
    ids = [r["id"] for r in walked]
    # Each letter once, newest first (one arriving meanwhile is newer than the walk).
    assert len(ids) == len(set(ids)) and set(ids) >= before
    # As times: "…:09Z" and "…:09.391000Z" sort the other way round as text.
    times = [datetime.fromisoformat(r["occurred_at"]) for r in walked]
    assert times == sorted(times, reverse=True)


async def test_a_long_log_pages_in_order_across_chunks_and_old_one_line_documents(
    world: dict[str, Any],
    system: Stack,
    shop1: httpx.AsyncClient,
    publisher: EventPublisher,
) -> None:
    """A job's log of 450 lines in one event (stored as three documents of up to 200
    lines), two lines stored one per document as the projector wrote them before chunks,
    then an event of two lines. Walked at any page size, every line comes once, in order;
    a cursor given out before chunks goes on after its line."""
    job_id = f"api-longlog-{uuid.uuid4().hex[:6]}"
    t0 = datetime.now(UTC).replace(microsecond=0)
    ident: dict[str, Any] = {
        "job_id": job_id,
        "shop_id": "shop1",
        "account_id": ONE.account_id,
        "job_type": JobType.UPDATE_QTY,
        "status": JobStatus.ERROR,
    }
    lines = [LogLine(message=f"big {n}", at=t0 + timedelta(milliseconds=n)) for n in range(450)]
    await publisher.publish(JOB_EVENTS, job_id, JobFailed(seq=1, log=lines, **ident))
    await eventually(lambda: _ok(shop1, f"/v1/jobs/{job_id}"), "the job projected")
    old_at = t0 + timedelta(seconds=1)
    client = make_mongo_client(system.mongo_url)
    try:
        db = get_database(client, system.mongo_url)
        await db.job_log.insert_many(
            [
                {
                    "_id": f"old-{job_id}:{n}",
                    "job_id": job_id,
                    "shop_id": "shop1",
                    "seq": 1,
                    "at": old_at,
                    "level": "info",
                    "message": f"old {n}",
                    "event_type": "JobLogged",
                }
                for n in range(2)
            ]
        )
    finally:
        await client.close()
    later = [LogLine(message=f"later {n}", at=t0 + timedelta(seconds=2)) for n in range(2)]
    await publisher.publish(JOB_EVENTS, job_id, JobLogged(seq=1, log=later, **ident))

    expected = [f"big {n}" for n in range(450)] + ["old 0", "old 1", "later 0", "later 1"]

    async def whole_log() -> bool:
        page = (await shop1.get(f"/v1/jobs/{job_id}/log", params={"limit": 1000})).json()
        return len(page["data"]) == len(expected)

    await eventually(whole_log, "the later event's lines projected")
    for limit in (1, 7, 200, 449, 450, 500):
        walked = await _walk(shop1, f"/v1/jobs/{job_id}/log", limit, most=len(expected))
        assert [line["message"] for line in walked] == expected, limit
    assert {line["event_type"] for line in walked} == {"JobFailed", "JobLogged"}
    old_cursor = encode_cursor([old_at, 1, f"old-{job_id}:0"])
    page = await shop1.get(f"/v1/jobs/{job_id}/log", params={"cursor": old_cursor})
    assert [line["message"] for line in page.json()["data"]] == expected[451:]


async def _ok(client: httpx.AsyncClient, path: str) -> bool:
    return (await client.get(path)).status_code == 200


async def test_a_planted_secret_is_nowhere(
    world: dict[str, Any],
    system: Stack,
    admin: httpx.AsyncClient,
    topics: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Secrets registered through the API process and through an app in this process
    (whose log records caplog sees, at DEBUG) appear in no answer, no log, no message of
    any topic and no MongoDB document."""
    caplog.set_level(logging.DEBUG)
    in_process = f"PLANTED-IN-PROCESS-{uuid.uuid4().hex}"
    settings = ApiSettings(
        kafka_bootstrap_servers=topics,
        mongo_url=system.mongo_url,
        api_keys="*:k",
        run_projector=False,
        secret_key=SECRET_KEY,
    )
    app = create_app(settings)
    body = account_body(Seller("apithree", shop_id="shop1"), in_process)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api,
    ):
        registered = await api.post(
            "/v1/accounts", json=body, headers={"Authorization": "Bearer k"}
        )
    assert registered.status_code == 202 and in_process not in registered.text
    await eventually(
        lambda: _count(admin, "/v1/accounts", 3), "the third account projected"
    )  # projected by the system
    secrets = (PLANTED, in_process)
    assert not [s for s in secrets if s in caplog.text]
    for path in ("/v1/accounts", f"/v1/accounts/{ONE.account_id}/listings"):
        assert not [s for s in secrets if s in (await admin.get(path)).text]
    for service in system.services.values():
        output = service.log_path.read_text(errors="replace")
        assert not [s for s in secrets if s in output], service.name
    raw = await every_topic(topics)
    assert ONE.account_id.encode() in raw and body["account_id"].encode() in raw
    assert not [s for s in secrets if s.encode() in raw]
    client = make_mongo_client(system.mongo_url)
    try:
        db = get_database(client, system.mongo_url)
        for name in await db.list_collection_names():
            async for doc in db[name].find({}):
                text = json.dumps(doc, default=str)
                assert not [s for s in secrets if s in text], name
    finally:
        await client.close()


async def every_topic(bootstrap: str) -> bytes:
    """Every key and value on the broker, from offset zero to the end."""
    lister = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await lister.start()
    try:
        names = sorted(await lister.topics())
    finally:
        await lister.stop()
    records = await records_to_end(bootstrap, *names)
    return b"\n".join((r.key or b"") + b"\n" + (r.value or b"") for r in records)


async def test_replaying_the_topics_gives_the_same_documents(
    world: dict[str, Any], system: Stack, topics: str
) -> None:
    """A second projector with a fresh group, into another database, from offset zero."""
    from services.api.projector import Projector
    from shared.kafka.producer import make_producer

    other_url = system.mongo_url.rsplit("/", 1)[0] + f"/replay_{uuid.uuid4().hex[:6]}"
    settings = ApiSettings(
        kafka_bootstrap_servers=topics,
        mongo_url=other_url,
        consumer_group=f"replay-{uuid.uuid4().hex[:6]}",
    )
    client = make_mongo_client(other_url)
    original = make_mongo_client(system.mongo_url)
    producer = make_producer(topics, "replay-test")
    await producer.start()
    stop = asyncio.Event()
    projector = Projector(settings, get_database(client, other_url), EventPublisher(producer))
    task = asyncio.create_task(projector.run(stop))
    try:
        await asyncio.wait_for(projector.caught_up.wait(), 120)
        ids = [*world["shop1_jobs"], world["shop2_job"]]
        for collection in ("jobs", "job_item_pages"):
            key = "_id" if collection == "jobs" else "job_id"
            query = {key: {"$in": ids}}
            a = (
                await get_database(original, system.mongo_url)[collection]
                .find(query)
                .sort("_id", 1)
                .to_list()
            )
            b = (
                await get_database(client, other_url)[collection]
                .find(query)
                .sort("_id", 1)
                .to_list()
            )
            assert a == b and a  # the same documents, and some
    finally:
        stop.set()
        await task
        await producer.stop()
        await client.close()
        await original.close()


async def test_mongodb_unavailable_is_503_with_retry_after(topics: str) -> None:
    port = free_port()  # nothing listens there
    settings = ApiSettings(
        kafka_bootstrap_servers=topics,
        mongo_url=f"mongodb://127.0.0.1:{port}/x",
        api_keys="*:k",
        run_projector=False,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        resp = await client.get("/v1/jobs", headers={"Authorization": "Bearer k"})
        ready = await client.get("/readyz")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "5"
    assert resp.json()["error"]["code"] == "unavailable"
    assert ready.status_code == 503 and ready.json()["checks"]["kafka"] == "ok"


async def test_health_metrics_openapi(system: Stack, admin: httpx.AsyncClient) -> None:
    assert (await admin.get("/healthz")).status_code == 200
    ready = (await admin.get("/readyz")).json()
    assert ready == {"status": "ok", "checks": {"mongodb": "ok", "kafka": "ok"}}
    metrics = (await admin.get("/metrics")).text
    assert "projector_events_applied_total" in metrics
    spec = (await admin.get("/openapi.json")).json()
    assert {"/v1/jobs", "/v1/jobs/{job_id}/cancel", "/v1/throttle", "/v1/dead-letters"} <= set(
        spec["paths"]
    )
    assert spec["components"]["schemas"]["JobRow"]["examples"]
    _ = JOB_EVENTS


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples of one metric in a /metrics scrape, by their labels."""
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def test_http_metrics_count_requests_by_route_template(
    system: Stack, admin: httpx.AsyncClient
) -> None:
    made_up = [f"no-such-job-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    before = _samples((await admin.get("/metrics")).text, "api_http_requests_total")
    for job_id in made_up:
        assert (await admin.get(f"/v1/jobs/{job_id}")).status_code == 404
    assert (await admin.get("/v1/jobs/nope/nope/nope")).status_code == 404
    text = (await admin.get("/metrics")).text
    after = _samples(text, "api_http_requests_total")

    def grew(route: str, status: str) -> float:
        labels = (("method", "GET"), ("route", route), ("status", status))
        return after.get(labels, 0.0) - before.get(labels, 0.0)

    assert grew("/v1/jobs/{job_id}", "404") == 2
    assert grew("unmatched", "404") == 1
    assert not any(job_id in text for job_id in made_up)  # templates, never raw paths
    latency = _samples(text, "api_http_request_duration_seconds_count")
    assert latency[(("method", "GET"), ("route", "/v1/jobs/{job_id}"))] >= 2


async def test_a_shop_gets_its_own_signing_key_and_an_operator_any_shops(
    admin: httpx.AsyncClient, shop1: httpx.AsyncClient
) -> None:
    master = master_secret(None, SECRET_KEY)
    own = await shop1.get("/v1/signing-key")
    assert own.status_code == 200, own.text
    assert (own.json()["shop_id"], own.json()["key"]) == ("shop1", shop_key(master, "shop1").hex())
    # What the shop signs with it is its own, and only its own, to the submitter's check.
    verifier = Verifier(master, require_signed=True)
    key, value = b"shop1", b'{"shop_id": "shop1"}'
    sig = signature(bytes.fromhex(own.json()["key"]), CATALOG_EVENTS.name, key, value)
    headers = [(own.json()["header"], sig)]
    assert verifier.ingress_refusal(CATALOG_EVENTS.name, key, value, headers, "shop1") is None
    assert verifier.ingress_refusal(CATALOG_EVENTS.name, key, value, headers, "shop2")

    other = await shop1.get("/v1/signing-key", params={"shop_id": "shop2"})
    assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
    unnamed = await admin.get("/v1/signing-key")
    assert unnamed.status_code == 400 and unnamed.json()["error"]["code"] == "no_shop"
    given = await admin.get("/v1/signing-key", params={"shop_id": "shop2"})
    assert given.status_code == 200
    assert given.json()["key"] == shop_key(master, "shop2").hex() != own.json()["key"]
