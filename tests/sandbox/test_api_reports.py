"""Reports API over HTTP: the listings report through its lifecycle, CANCELLED paths."""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from typing import Any

import pytest

from tests.sandbox.conftest import (
    MARKETPLACE,
    PROCESSING_DONE_S,
    Sandbox,
    listings_feed,
    quantity_message,
)


async def create_report(
    sandbox: Sandbox, auth: dict[str, str], report_type: str = "GET_MERCHANT_LISTINGS_ALL_DATA"
) -> str:
    response = await sandbox.client.post(
        "/reports/2021-06-30/reports",
        json={"reportType": report_type, "marketplaceIds": [MARKETPLACE]},
        headers=auth,
    )
    assert response.status_code == 202, response.text
    return str(response.json()["reportId"])


async def get_report(sandbox: Sandbox, auth: dict[str, str], report_id: str) -> dict[str, Any]:
    response = await sandbox.client.get(f"/reports/2021-06-30/reports/{report_id}", headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def download(sandbox: Sandbox, auth: dict[str, str], document_id: str) -> bytes:
    info = await sandbox.client.get(f"/reports/2021-06-30/documents/{document_id}", headers=auth)
    assert info.status_code == 200
    assert info.json()["compressionAlgorithm"] == "GZIP"
    response = await sandbox.client.get(info.json()["url"])
    assert response.status_code == 200
    assert "content-encoding" not in response.headers  # the client gunzips, as with Amazon
    return response.content


async def test_merchant_listings_report(sandbox: Sandbox, auth: dict[str, str]) -> None:
    report_id = await create_report(sandbox, auth)
    assert (await get_report(sandbox, auth, report_id))["processingStatus"] == "IN_QUEUE"
    sandbox.clock.advance(PROCESSING_DONE_S)
    report = await get_report(sandbox, auth, report_id)
    assert report["processingStatus"] == "DONE"
    assert report["reportType"] == "GET_MERCHANT_LISTINGS_ALL_DATA"
    assert report["marketplaceIds"] == [MARKETPLACE]
    tsv = gzip.decompress(await download(sandbox, auth, report["reportDocumentId"])).decode()
    rows = list(csv.DictReader(io.StringIO(tsv), delimiter="\t"))
    assert [
        (r["seller-sku"], r["asin1"], r["quantity"], r["price"], r["status"]) for r in rows
    ] == [
        ("MUG", "B000MUG001", "2", "8.00", "Active"),
        ("PEN", "B000PEN001", "5", "2.50", "Active"),
    ]


async def test_download_url_expires_after_five_minutes(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    report_id = await create_report(sandbox, auth)
    sandbox.clock.advance(PROCESSING_DONE_S)
    document_id = (await get_report(sandbox, auth, report_id))["reportDocumentId"]
    info = await sandbox.client.get(f"/reports/2021-06-30/documents/{document_id}", headers=auth)
    sandbox.clock.advance(300)
    expired = await sandbox.client.get(info.json()["url"])
    assert expired.status_code == 403
    assert b"<Code>AccessDenied</Code>" in expired.content
    # getReportDocument hands out a fresh URL each time.
    assert gzip.decompress(await download(sandbox, auth, document_id)).startswith(b"item-name\t")


async def test_report_sees_feeds_that_finished_before_it_and_not_after(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    await sandbox.submit(auth, listings_feed(quantity_message(1, "PEN", 0)))  # done at 90 s
    sandbox.clock.advance(10)
    early = await create_report(sandbox, auth)  # done at 100 s: after the feed
    sandbox.clock.advance(300)  # nobody looked meanwhile; order is still kept
    report = await get_report(sandbox, auth, early)
    tsv = gzip.decompress(await download(sandbox, auth, report["reportDocumentId"])).decode()
    pen = next(
        row
        for row in csv.DictReader(io.StringIO(tsv), delimiter="\t")
        if row["seller-sku"] == "PEN"
    )
    assert (pen["quantity"], pen["status"]) == ("0", "Inactive")


async def test_open_listings_report(sandbox: Sandbox, auth: dict[str, str]) -> None:
    report_id = await create_report(sandbox, auth, "GET_FLAT_FILE_OPEN_LISTINGS_DATA")
    sandbox.clock.advance(PROCESSING_DONE_S)
    report = await get_report(sandbox, auth, report_id)
    tsv = gzip.decompress(await download(sandbox, auth, report["reportDocumentId"])).decode()
    assert tsv.splitlines() == [
        "sku\tasin\tprice\tquantity",
        "MUG\tB000MUG001\t8.00\t2",
        "PEN\tB000PEN001\t2.50\t5",
    ]


async def test_report_without_data_is_cancelled(sandbox: Sandbox) -> None:
    await sandbox.register(listings=[])
    auth = await sandbox.login()
    report_id = await create_report(sandbox, auth)
    sandbox.clock.advance(PROCESSING_DONE_S)
    report = await get_report(sandbox, auth, report_id)
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


async def test_cancel_report_while_queued(sandbox: Sandbox, auth: dict[str, str]) -> None:
    report_id = await create_report(sandbox, auth)
    response = await sandbox.client.delete(f"/reports/2021-06-30/reports/{report_id}", headers=auth)
    assert response.status_code == 200
    sandbox.clock.advance(PROCESSING_DONE_S)
    assert (await get_report(sandbox, auth, report_id))["processingStatus"] == "CANCELLED"
    again = await sandbox.client.delete(f"/reports/2021-06-30/reports/{report_id}", headers=auth)
    assert again.status_code == 400


async def test_get_reports_lists_by_type(sandbox: Sandbox, auth: dict[str, str]) -> None:
    await create_report(sandbox, auth)
    open_id = await create_report(sandbox, auth, "GET_FLAT_FILE_OPEN_LISTINGS_DATA")
    response = await sandbox.client.get(
        "/reports/2021-06-30/reports",
        params={"reportTypes": "GET_FLAT_FILE_OPEN_LISTINGS_DATA"},
        headers=auth,
    )
    assert [r["reportId"] for r in response.json()["reports"]] == [open_id]
    assert (
        await sandbox.client.get("/reports/2021-06-30/reports", headers=auth)
    ).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"marketplaceIds": [MARKETPLACE]},
        {"reportType": "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE", "marketplaceIds": [MARKETPLACE]},
        {"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA"},
        {
            "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
            "marketplaceIds": [MARKETPLACE],
            "dataStartTime": "yesterday",
        },
    ],
)
async def test_create_report_rejects_bad_input(
    sandbox: Sandbox, auth: dict[str, str], body: dict[str, object]
) -> None:
    response = await sandbox.client.post("/reports/2021-06-30/reports", json=body, headers=auth)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


async def test_malformed_reports_fault_corrupts_the_document(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    fault = await sandbox.client.post("/_sandbox/faults", json={"malformed_reports": True})
    assert fault.status_code == 201
    report_id = await create_report(sandbox, auth)
    sandbox.clock.advance(PROCESSING_DONE_S)
    report = await get_report(sandbox, auth, report_id)
    assert report["processingStatus"] == "DONE"
    data = await download(sandbox, auth, report["reportDocumentId"])
    with pytest.raises((EOFError, OSError, zlib.error)):
        gzip.decompress(data)
