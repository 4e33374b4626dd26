"""Retry and bulk actions against the real system (issue 15): a retry carries the items
that did not succeed and links both jobs; bulk cancel and retry act per job, by ids or by
the list's filters, within the caller's shop.

One account's feed quota holds a single token that never comes back, so its jobs after
the first stay ``created``: they are what a bulk cancel can act on."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.world import Seller
from tests.api.conftest import SHOP1_KEY
from tests.api.test_api import account_body
from tests.cli.test_cli_live import cli
from tests.e2e.conftest import make_stack
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

ONE = Seller("rtone", shop_id="shop1", listed=10)
HELD = Seller("rtheld", shop_id="shop1", listed=2)
TWO = Seller("rttwo", shop_id="shop2", listed=2)
HELD_JOBS = 51


@pytest.fixture(scope="module")
def system(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    db_url = mongo_url.rsplit("/", 1)[0] + f"/retry_{uuid.uuid4().hex[:8]}"
    # One token, restored once in tens of years of Amazon time: HELD's jobs stay created.
    held: dict[str, object] = {HELD.seller_id: {"feed_submit": {"burst": 1, "rate_per_s": 1e-9}}}
    stack = make_stack(topics, db_url, test_output_dir / "retry", overrides=held)
    try:
        stack.start(["amazon_sandbox", "throttle", "submitter", "poller", "applier", "api"])
        yield stack
    finally:
        stack.stop()


async def _job(client: httpx.AsyncClient, job_id: str) -> dict[str, Any] | None:
    r = await client.get(f"/v1/jobs/{job_id}")
    return r.json() if r.status_code == 200 else None


async def _finished(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        job = await _job(client, job_id)
        return job if job and job["status"] in ("done", "error", "canceled") else None

    result: dict[str, Any] | None = await eventually(check, f"job {job_id} finished")
    assert result is not None
    return result


async def _create(client: httpx.AsyncClient, seller: Seller, items: list[dict[str, Any]]) -> str:
    r = await client.post(
        "/v1/jobs", json={"account_id": seller.account_id, "job_type": "update_qty", "items": items}
    )
    assert r.status_code == 202, r.text
    job_id: str = r.json()["job_id"]
    return job_id


@pytest.fixture(scope="module")
async def world(
    system: Stack, admin: httpx.AsyncClient, shop1: httpx.AsyncClient
) -> dict[str, Any]:
    """ONE: a job of 10 items of which 3 name SKUs Amazon does not know (done, 3 errors),
    and one all accepted. HELD: 51 jobs, of which all but the first stay created."""
    async with httpx.AsyncClient() as http:
        for seller in (ONE, HELD, TWO):
            payload = seller.sandbox_payload()
            (
                await http.post(f"{system.sandbox_url}/_sandbox/sellers", json=payload)
            ).raise_for_status()
    for seller in (ONE, HELD, TWO):
        created = await admin.post("/v1/accounts", json=account_body(seller))
        assert created.status_code == 202, created.text

    async def accounts_known() -> bool:
        return len((await admin.get("/v1/accounts")).json()["data"]) >= 3

    await eventually(accounts_known, "the accounts projected")
    bad = [f"rtone-UNKNOWN-{n}" for n in range(3)]
    items = [{"sku": ONE.sku(n), "quantity": n + 1} for n in range(7)]
    items[2:2] = [{"sku": sku, "quantity": 5} for sku in bad]  # in the middle of the request
    mixed = await _create(shop1, ONE, items)
    clean = await _create(shop1, ONE, [{"sku": ONE.sku(8), "quantity": 3}])
    held = [
        await _create(shop1, HELD, [{"sku": HELD.sku(0), "quantity": n + 1}])
        for n in range(HELD_JOBS)
    ]
    return {"mixed": mixed, "bad": bad, "clean": clean, "held": held}


async def test_retry_of_3_bad_items_of_10_is_a_job_of_3_linked_both_ways(
    world: dict[str, Any], shop1: httpx.AsyncClient
) -> None:
    original = await _finished(shop1, world["mixed"])
    assert (original["status"], original["items"]["total"], original["items"]["error"]) == (
        "done",
        10,
        3,
    )
    new_id = f"retry-{uuid.uuid4().hex[:8]}"
    r = await shop1.post(f"/v1/jobs/{world['mixed']}/retry", json={"job_id": new_id})
    assert r.status_code == 202, r.text
    assert r.json() == {"job_id": new_id, "retry_of": world["mixed"], "status": "requested"}
    # The caller's repeat of the call is the same retry, not a second one.
    again = await shop1.post(f"/v1/jobs/{world['mixed']}/retry", json={"job_id": new_id})
    assert again.status_code == 202 and again.json()["job_id"] == new_id

    retry = await _finished(shop1, new_id)
    assert (retry["job_type"], retry["account"]["id"]) == ("update_qty", ONE.account_id)
    assert retry["retry_of"] == world["mixed"] and retry["retried_by"] == []
    items = (await shop1.get(f"/v1/jobs/{new_id}/items")).json()["data"]
    assert [(i["key"], i["request"]["quantity"]) for i in items] == [
        (sku, 5) for sku in world["bad"]
    ]
    log = (await shop1.get(f"/v1/jobs/{new_id}/log")).json()["data"]
    assert f"retry of job {world['mixed']}" in [line["message"] for line in log]

    async def linked() -> dict[str, Any] | None:
        job = await _job(shop1, world["mixed"])
        return job if job and job["retried_by"] else None

    assert (await eventually(linked, "the retry linked"))["retried_by"] == [new_id]


async def test_retry_refusals(
    world: dict[str, Any], shop1: httpx.AsyncClient, shop2: httpx.AsyncClient
) -> None:
    await _finished(shop1, world["clean"])
    nothing = await shop1.post(f"/v1/jobs/{world['clean']}/retry")
    assert nothing.status_code == 409, nothing.text
    assert nothing.json()["error"] == {
        "code": "not_retryable",
        "message": "every item of the job succeeded: nothing to retry",
    }

    async def created() -> str | None:
        query: dict[str, str | int] = {
            "account_id": HELD.account_id,
            "status": "created",
            "limit": 1,
        }
        rows = (await shop1.get("/v1/jobs", params=query)).json()["data"]
        return rows[0]["id"] if rows else None

    waiting = await eventually(created, "a created job")
    unfinished = await shop1.post(f"/v1/jobs/{waiting}/retry")
    assert unfinished.status_code == 409
    assert unfinished.json()["error"]["message"].startswith("the job is created")
    # Another shop's job is as unknown as a job that does not exist.
    other = await shop2.post(f"/v1/jobs/{world['mixed']}/retry")
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"


async def test_bulk_body_is_ids_or_filter_and_bounded(shop1: httpx.AsyncClient) -> None:
    for body in ({}, {"job_ids": ["a"], "filter": {}}):
        r = await shop1.post("/v1/jobs/bulk/cancel", json=body)
        assert r.status_code == 422 and "either job_ids or filter" in r.text
    many = await shop1.post("/v1/jobs/bulk/retry", json={"job_ids": [f"j{n}" for n in range(1001)]})
    assert many.status_code == 422 and many.json()["error"]["message"].startswith("job_ids")


async def test_bulk_retry_by_ids_answers_per_job(
    world: dict[str, Any], shop1: httpx.AsyncClient
) -> None:
    await _finished(shop1, world["mixed"])
    await _finished(shop1, world["clean"])
    ids = [world["mixed"], world["clean"], "no-such-job"]
    r = await shop1.post("/v1/jobs/bulk/retry", json={"job_ids": ids})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["matched"] == 3
    results = {x["job_id"]: x for x in body["results"]}
    assert results[world["mixed"]]["outcome"] == "requested"
    assert results[world["clean"]] == {
        "job_id": world["clean"],
        "outcome": "refused",
        "new_job_id": None,
        "reason": "every item of the job succeeded: nothing to retry",
    }
    assert results["no-such-job"]["reason"] == "job not found"
    new = await _finished(shop1, results[world["mixed"]]["new_job_id"])
    assert (new["retry_of"], new["items"]["total"]) == (world["mixed"], 3)


async def test_bulk_cancel_of_50_created_jobs_by_filter(
    world: dict[str, Any], shop1: httpx.AsyncClient, shop2: httpx.AsyncClient
) -> None:
    held = world["held"]
    query: dict[str, str | int] = {"account_id": HELD.account_id, "status": "created", "limit": 200}

    async def fifty_created() -> bool:
        rows = (await shop1.get("/v1/jobs", params=query)).json()["data"]
        return len(rows) == HELD_JOBS - 1

    await eventually(fifty_created, "fifty created jobs")
    # Another shop's key reaches none of them, by filter or by id.
    theirs = await shop2.post(
        "/v1/jobs/bulk/cancel", json={"filter": {"account_id": HELD.account_id}}
    )
    assert theirs.json() == {"matched": 0, "results": []}
    by_id = await shop2.post("/v1/jobs/bulk/cancel", json={"job_ids": held[:2]})
    assert [x["reason"] for x in by_id.json()["results"]] == ["job not found"] * 2

    r = await shop1.post(
        "/v1/jobs/bulk/cancel",
        json={"filter": {"account_id": HELD.account_id, "status": "created"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["matched"] == HELD_JOBS - 1
    assert {x["outcome"] for x in r.json()["results"]} == {"requested"}
    canceled = {x["job_id"] for x in r.json()["results"]}
    assert canceled < set(held)

    async def all_canceled() -> bool:
        rows = (
            await shop1.get(
                "/v1/jobs",
                params={"account_id": HELD.account_id, "status": "canceled", "limit": 200},
            )
        ).json()["data"]
        return {row["id"] for row in rows} == canceled

    await eventually(all_canceled, "all fifty canceled")
    # Asked again, each one is refused with its reason; the call itself does not fail.
    again = await shop1.post("/v1/jobs/bulk/cancel", json={"job_ids": sorted(canceled)[:3]})
    assert again.status_code == 200
    assert [x["reason"] for x in again.json()["results"]] == ["the job is already canceled"] * 3


async def test_the_cli_retries_and_acts_in_bulk(
    system: Stack, world: dict[str, Any], shop1: httpx.AsyncClient
) -> None:
    await _finished(shop1, world["mixed"])
    await _finished(shop1, world["clean"])
    refused = await cli(system, SHOP1_KEY, "jobs", "retry", world["clean"])
    assert refused.returncode == 1 and "nothing to retry" in refused.stderr
    retried = await cli(system, SHOP1_KEY, "jobs", "retry", world["mixed"], "--json")
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["retry_of"] == world["mixed"]
    bulk = await cli(
        system, SHOP1_KEY, "jobs", "bulk-cancel", "--id", world["clean"], "--id", "nope", "--json"
    )
    assert bulk.returncode == 0, bulk.stderr
    answer = json.loads(bulk.stdout)
    assert answer["matched"] == 2
    assert [r["reason"] for r in answer["results"]] == ["the job is already done", "job not found"]


async def test_a_bulk_retry_sent_again_with_its_request_id_retries_once(
    world: dict[str, Any], shop1: httpx.AsyncClient
) -> None:
    await _finished(shop1, world["mixed"])
    body = {"job_ids": [world["mixed"]], "request_id": f"again-{uuid.uuid4().hex[:8]}"}
    first = (await shop1.post("/v1/jobs/bulk/retry", json=body)).json()["results"][0]
    again = (await shop1.post("/v1/jobs/bulk/retry", json=body)).json()["results"][0]
    assert first["outcome"] == again["outcome"] == "requested"
    assert first["new_job_id"] == again["new_job_id"]
    new = await _finished(shop1, first["new_job_id"])
    assert new["retry_of"] == world["mixed"]
    original = await _job(shop1, world["mixed"])
    assert original is not None
    assert original["retried_by"].count(first["new_job_id"]) == 1
