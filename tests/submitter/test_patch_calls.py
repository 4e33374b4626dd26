"""The urgent path's calls (services/submitter/amazon.py ``patch_item``) against the fake
SP-API, with the real Metered and a fake throttle that counts grants: one per call."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx

from services.submitter.amazon import patch_item, patched
from shared.jobs import JobType
from shared.quotas import QuotaClass
from tests.fake_throttle import ACCOUNT, FakeThrottle, metered
from tests.spapi.fake_amazon import amazon_error, json_response, throttled
from tests.submitter.fake_seller import DE, Seller, job

PATCH = QuotaClass.LISTING_PATCH
ITEMS = f"/listings/2021-08-01/items/{ACCOUNT.seller_id}"


def answer_with(status: str, *issues: dict[str, Any]) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        sku = request.url.path.rsplit("/", 1)[1]
        body = {"sku": sku, "status": status, "submissionId": f"sub-{sku}", "issues": [*issues]}
        return json_response(200, body, headers={"x-amzn-RateLimit-Limit": "5.0"})

    return handler


async def test_each_item_is_one_call_under_one_grant_the_first_being_the_jobs(
    seller: Seller,
) -> None:
    for sku in ("PEN-1", "PEN-2"):
        seller.fake.route("PATCH", f"{ITEMS}/{sku}", answer_with("ACCEPTED"))
    throttle = FakeThrottle()
    state = job(
        JobType.UPDATE_QTY, [{"sku": "PEN-1", "quantity": 0}, {"sku": "PEN-2", "quantity": 0}]
    )
    job_metered = metered(throttle, state.job_type)
    await job_metered.first_token(PATCH)

    first = await patch_item(seller.client, job_metered, ACCOUNT, state, "PEN-1")
    second = await patch_item(seller.client, job_metered, ACCOUNT, state, "PEN-2")

    assert throttle.tokens() == {PATCH: 2}  # the job's first grant, then one fresh one
    assert throttle.released == []
    assert (first.item.status, first.submission_id) == ("accepted", "sub-PEN-1")
    assert second.item.status == "accepted"
    sent = seller.fake.requests[0]
    assert sent.method == "PATCH" and sent.url.params["marketplaceIds"] == DE
    assert json.loads(sent.content)["patches"][0]["value"] == [
        {"fulfillment_channel_code": "DEFAULT", "quantity": 0}
    ]
    assert [rate for _, rate in throttle.rates] == [5.0, 5.0]


async def test_a_429_is_reported_and_paid_again_with_a_fresh_grant(seller: Seller) -> None:
    seller.fake.route("PATCH", f"{ITEMS}/PEN-1", answer_with("ACCEPTED"))
    seller.fake.inject("PATCH", f"{ITEMS}/PEN-1", throttled())
    throttle = FakeThrottle()
    state = job(JobType.STOP_PRODUCTS, [{"sku": "PEN-1"}])
    job_metered = metered(throttle, state.job_type)
    await job_metered.first_token(PATCH)

    done = await patch_item(seller.client, job_metered, ACCOUNT, state, "PEN-1")

    assert done.item.status == "accepted"
    assert throttle.tokens() == {PATCH: 2}
    assert [key.quota_class for key in throttle.throttled] == [PATCH]


async def test_invalid_and_refused_items_are_errors_with_amazons_words(seller: Seller) -> None:
    issue = {
        "code": "99020",
        "message": "The SKU 'GONE' does not match any listing of this seller",
        "severity": "ERROR",
        "categories": [],
    }
    seller.fake.route("PATCH", f"{ITEMS}/GONE", answer_with("INVALID", issue))
    seller.fake.route(
        "PATCH", f"{ITEMS}/BAD", lambda _: amazon_error(400, "InvalidInput", "Bad SKU")
    )
    seller.fake.route("PATCH", f"{ITEMS}/OK", answer_with("ACCEPTED"))
    throttle = FakeThrottle()
    items = [{"sku": s, "quantity": 0} for s in ("GONE", "BAD", "OK")]
    state = job(JobType.UPDATE_QTY, items)
    job_metered = metered(throttle, state.job_type)

    outcomes = [
        await patch_item(seller.client, job_metered, ACCOUNT, state, sku)
        for sku in ("GONE", "BAD", "OK")
    ]

    gone, bad, ok = (o.item for o in outcomes)
    assert (gone.status, gone.messages) == ("error", [f"99020: {issue['message']}"])
    assert bad.status == "error" and "Bad SKU" in bad.messages[0]
    assert ok.status == "accepted"
    finished = patched(replace(state, items={o.item.key: o.item for o in outcomes}))
    assert (finished.data.processed, finished.data.accepted, finished.data.errors) == (3, 1, 2)
    assert "no feed" in finished.log[0].message
