"""Listing issues on the real system (issue 15): Amazon's errors and warnings for each
listing, from the latest result for it, newest first, with the job that had them; a later
clean result takes a listing off the list. The sandbox reports an ERROR for a SKU the
seller does not have and a WARNING for a price ten times the last one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from devtools.world import Seller, ean
from tests.api.conftest import SHOP1_KEY
from tests.api.test_api import account_body
from tests.cli.test_cli_live import cli
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SELLER = Seller("lissues", shop_id="shop1", listed=4)
WARNED = SELLER.sku(0)  # listed at 20.00: 250.00 is a warning
UNKNOWN = SELLER.sku(15)  # in the catalog, not listed: an update is an error
LATER = SELLER.sku(16)  # the same, in a later job
PATCHED = SELLER.sku(17)  # the same, by a patch


async def _done(client: httpx.AsyncClient, body: dict[str, Any]) -> str:
    r = await client.post("/v1/jobs", json={"account_id": SELLER.account_id, **body})
    assert r.status_code == 202, r.text
    job_id: str = r.json()["job_id"]

    async def finished() -> str | None:
        job = (await client.get(f"/v1/jobs/{job_id}")).json()
        return job.get("status") if job.get("status") in ("done", "error") else None

    assert await eventually(finished, f"job {job_id} finished") == "done"
    return job_id


async def _issues(client: httpx.AsyncClient, **query: Any) -> list[dict[str, Any]]:
    r = await client.get(f"/v1/accounts/{SELLER.account_id}/listing-issues", params=query)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["data"]
    return rows


async def test_a_jobs_errors_and_warnings_are_listed_newest_first_until_a_clean_result(
    system: Stack, admin: httpx.AsyncClient, shop1: httpx.AsyncClient, shop2: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient() as http:
        payload = SELLER.sandbox_payload()
        (await http.post(f"{system.sandbox_url}/_sandbox/sellers", json=payload)).raise_for_status()
    assert (await admin.post("/v1/accounts", json=account_body(SELLER))).status_code == 202

    async def projected() -> bool:
        listings = await shop1.get(f"/v1/accounts/{SELLER.account_id}/listings")
        return listings.status_code == 200

    await eventually(projected, "the account projected")
    assert await _issues(shop1) == []

    prices = [
        {"sku": WARNED, "price": "250.00", "currency": "EUR"},
        {"sku": UNKNOWN, "price": "20.00", "currency": "EUR"},
    ]
    first = await _done(shop1, {"job_type": "update_price", "items": prices})
    second = await _done(
        shop1, {"job_type": "update_qty", "items": [{"sku": LATER, "quantity": 3}]}
    )

    async def listed() -> list[dict[str, Any]] | None:
        rows = await _issues(shop1)
        return rows if len(rows) == 3 else None

    rows = await eventually(listed, "three listings with issues")
    # Newest first: the later job's listing, then the first job's two.
    assert [r["sku"] for r in rows[:1]] == [LATER]
    assert {r["sku"] for r in rows[1:]} == {WARNED, UNKNOWN}
    assert [r["job_id"] for r in rows] == [second, first, first]
    reported = [datetime.fromisoformat(r["reported_at"]) for r in rows]  # times, not text
    assert reported == sorted(reported, reverse=True)
    by_sku = {r["sku"]: r for r in rows}
    [warning] = by_sku[WARNED]["issues"]
    assert (warning["severity"], warning["code"], warning["attribute_names"]) == (
        "warning",
        "99040",
        ["purchasable_offer"],
    )
    assert "price 250 " in warning["message"]
    assert by_sku[WARNED]["status"] == "active"  # a warning: applied all the same
    [error] = by_sku[UNKNOWN]["issues"]
    assert (error["severity"], error["code"]) == ("error", "99020")
    assert UNKNOWN in error["message"]
    assert by_sku[UNKNOWN]["status"] == "error"
    assert {r["marketplace_id"] for r in rows} == {SELLER.marketplaces[0]}

    # Filters, and pages of one that resume where the last ended.
    assert [r["sku"] for r in await _issues(shop1, severity="warning")] == [WARNED]
    assert [r["sku"] for r in await _issues(shop1, severity="error")] == [LATER, UNKNOWN]
    assert [r["sku"] for r in await _issues(shop1, sku=UNKNOWN)] == [UNKNOWN]
    assert await _issues(shop1, marketplace_id="A13V1IB3VIYZZH") == []
    paged: list[str] = []
    cursor: str | None = None
    while True:
        page = await shop1.get(
            f"/v1/accounts/{SELLER.account_id}/listing-issues",
            params={"limit": 1, **({"cursor": cursor} if cursor else {})},
        )
        paged += [r["sku"] for r in page.json()["data"]]
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert paged == [r["sku"] for r in rows]
    # Another shop does not see the account.
    assert (await shop2.get(f"/v1/accounts/{SELLER.account_id}/listing-issues")).status_code == 404

    # The CLI shows the same.
    shown = await cli(system, SHOP1_KEY, "listing-issues", SELLER.account_id, "--json")
    assert shown.returncode == 0, shown.stderr
    assert [(r["sku"], r["job_id"]) for r in json.loads(shown.stdout)] == [
        (r["sku"], r["job_id"]) for r in rows
    ]
    table = await cli(system, SHOP1_KEY, "listing-issues", SELLER.account_id)
    assert table.returncode == 0, table.stderr
    assert "99040" in table.stdout and UNKNOWN in table.stdout

    # A later clean result for the SKU in error: it is offered, matched by EAN, accepted.
    offered = {"sku": UNKNOWN, "ean": ean(15), "quantity": 2, "price": "20.00", "currency": "EUR"}
    await _done(shop1, {"job_type": "send_products", "items": [offered]})

    async def cleared() -> list[dict[str, Any]] | None:
        rows = await _issues(shop1)
        return rows if UNKNOWN not in {r["sku"] for r in rows} else None

    rest = await eventually(cleared, f"{UNKNOWN}'s issue cleared")
    assert [(r["sku"], r["job_id"]) for r in rest] == [(LATER, second), (WARNED, first)]
    listing = (
        await shop1.get(f"/v1/accounts/{SELLER.account_id}/listings", params={"limit": 1000})
    ).json()["data"]
    assert {r["sku"]: r["status"] for r in listing}[UNKNOWN] == "active"

    # A stock-out goes by patchListingsItem: its answer sets the issues just the same.
    patched = await _done(
        shop1, {"job_type": "update_qty", "items": [{"sku": PATCHED, "quantity": 0}]}
    )

    async def patch_listed() -> dict[str, Any] | None:
        rows = await _issues(shop1)
        return rows[0] if rows and rows[0]["sku"] == PATCHED else None

    newest = await eventually(patch_listed, f"{PATCHED}'s issue listed")
    assert (newest["sku"], newest["job_id"], newest["status"]) == (PATCHED, patched, "error")
    assert [(i["severity"], i["code"]) for i in newest["issues"]] == [("error", "99020")]
    log = (await shop1.get(f"/v1/jobs/{patched}/log")).json()["data"]
    assert any("by patchListingsItem" in line["message"] for line in log)
