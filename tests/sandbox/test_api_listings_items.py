"""Listings Items 2021-08-01 patchListingsItem over HTTP: Amazon's model, the feed's rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandbox.conftest import (
    MARKETPLACE,
    PROCESSING_DONE_S,
    SELLER,
    Sandbox,
    listings_feed,
)

PATH = f"/listings/2021-08-01/items/{SELLER}"


def quantity(value: Any) -> dict[str, Any]:
    return {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": value}],
            }
        ],
    }


def price(value: Any, currency: str = "EUR") -> dict[str, Any]:
    offer = {
        "marketplace_id": MARKETPLACE,
        "currency": currency,
        "audience": "ALL",
        "our_price": [{"schedule": [{"value_with_tax": value}]}],
    }
    return {
        "productType": "PRODUCT",
        "patches": [{"op": "replace", "path": "/attributes/purchasable_offer", "value": [offer]}],
    }


async def patch(
    sandbox: Sandbox,
    auth: dict[str, str],
    sku: str,
    body: Any,
    *,
    path: str = PATH,
    **params: str,
) -> Any:
    query = {"marketplaceIds": MARKETPLACE, **params}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await sandbox.client.patch(
        f"{path}/{sku}",
        params=query,
        content=content,
        headers=auth | {"content-type": "application/json"},
    )


async def test_stock_to_zero_is_applied_at_once_without_a_feed(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    response = await patch(sandbox, auth, "PEN", quantity(0))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sku"] == "PEN"
    assert body["status"] == "ACCEPTED"
    assert body["issues"] == []
    assert body["submissionId"]
    assert response.headers["x-amzn-RateLimit-Limit"] == "5.0"
    listings = await sandbox.listings()
    assert listings["PEN"]["quantity"] == 0
    assert listings["PEN"]["status"] == "Inactive"  # priced, nothing to sell
    assert listings["MUG"]["quantity"] == 2  # only the SKU named
    stats = await sandbox.stats()
    assert stats["patchListingsItem"] == {"calls": 1, "accepted": 1, "throttled": 0, "errors": 0}
    assert "createFeed" not in stats


async def test_a_price_patch_changes_the_offer(sandbox: Sandbox, auth: dict[str, str]) -> None:
    response = await patch(sandbox, auth, "MUG", price(9.5))

    assert response.json()["status"] == "ACCEPTED"
    mug = (await sandbox.listings())["MUG"]
    assert (mug["price"], mug["currency"], mug["quantity"]) == (9.5, "EUR", 2)


async def test_what_a_feed_would_reject_is_invalid_with_the_feeds_issue(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    """The same PATCH through a feed and through patchListingsItem: the same issue."""
    wrong = price(9.5, currency="euro")
    message = {"messageId": 1, "sku": "MUG", "operationType": "PATCH", **wrong}
    feed_id = await sandbox.submit(auth, listings_feed(message))
    sandbox.clock.advance(PROCESSING_DONE_S)
    report = json.loads(await sandbox.result_document(auth, feed_id))
    [feed_issue] = report["issues"]

    response = await patch(sandbox, auth, "MUG", wrong)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "INVALID"
    [issue] = body["issues"]
    assert issue["code"] == feed_issue["code"]
    assert issue["message"] == feed_issue["message"]
    assert issue["severity"] == "ERROR"
    assert issue["attributeNames"] == [feed_issue["attributeName"]]
    assert issue["categories"] == ["INVALID_PRICE"]
    assert (await sandbox.listings())["MUG"]["price"] == 8  # not applied


@pytest.mark.parametrize(
    ("sku", "body", "attribute"),
    [
        ("GHOST", quantity(0), None),  # no listing to patch: create it with a feed first
        ("PEN", quantity(-1), "fulfillment_availability.quantity"),
        ("PEN", quantity("lots"), "fulfillment_availability.quantity"),
    ],
)
async def test_invalid_patches_leave_the_listing_alone(
    sandbox: Sandbox, auth: dict[str, str], sku: str, body: Any, attribute: str | None
) -> None:
    response = await patch(sandbox, auth, sku, body)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "INVALID"
    [issue] = answer["issues"]
    assert issue["severity"] == "ERROR"
    assert issue.get("attributeNames") == ([attribute] if attribute else None)
    listings = await sandbox.listings()
    assert "GHOST" not in listings
    assert listings["PEN"]["quantity"] == 5


async def test_a_path_outside_attributes_is_invalid_as_in_a_feed(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    body = {"productType": "PRODUCT", "patches": [{"op": "delete", "path": "/sku"}]}
    answer = (await patch(sandbox, auth, "PEN", body)).json()
    assert answer["status"] == "INVALID"
    assert "/attributes/<name>" in answer["issues"][0]["message"]


async def test_validation_preview_checks_without_applying(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    valid = await patch(
        sandbox,
        auth,
        "PEN",
        quantity(0),
        mode="VALIDATION_PREVIEW",
        includedData="identifiers,issues",
    )
    invalid = await patch(sandbox, auth, "PEN", quantity(-3), mode="VALIDATION_PREVIEW")

    assert valid.json()["status"] == "VALID"
    assert valid.json()["identifiers"] == [{"marketplaceId": MARKETPLACE, "asin": "B000PEN001"}]
    assert invalid.json()["status"] == "INVALID"
    assert (await sandbox.listings())["PEN"]["quantity"] == 5


async def test_an_sku_with_a_slash_is_one_path_segment(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    await sandbox.register(
        listings=[{"sku": "A/B 1", "asin": "B000PEN001", "quantity": 3, "price": 1}]
    )
    auth = await sandbox.login()
    response = await patch(sandbox, auth, "A%2FB%201", quantity(0))
    assert response.json() == response.json() | {"sku": "A/B 1", "status": "ACCEPTED"}
    assert (await sandbox.listings())["A/B 1"]["quantity"] == 0


@pytest.mark.parametrize(
    ("body", "params", "path", "says"),
    [
        (quantity(0), {"marketplaceIds": ""}, PATH, "marketplaceIds is required"),
        (quantity(0), {"marketplaceIds": "ATVPDKIKX0DER"}, PATH, "not registered"),
        (quantity(0), {"mode": "LIVE"}, PATH, "Invalid mode"),
        (quantity(0), {"includedData": "offers"}, PATH, "Invalid includedData"),
        (quantity(0), {"includedData": "identifiers"}, PATH, "VALIDATION_PREVIEW"),
        (quantity(0), {}, "/listings/2021-08-01/items/A9OTHER", "not the selling partner"),
        ({"patches": quantity(0)["patches"]}, {}, PATH, "productType is required"),
        ({"productType": "PRODUCT", "patches": []}, {}, PATH, "at least 1"),
        ({"productType": "PRODUCT"}, {}, PATH, "patches is required"),
        (
            {"productType": "PRODUCT", "patches": [{"op": "move", "path": "/attributes/x"}]},
            {},
            PATH,
            "op must be one of",
        ),
        ({"productType": "PRODUCT", "patches": [{"op": "delete"}]}, {}, PATH, "path is required"),
        (
            {"productType": "PRODUCT", "patches": [{"op": "add", "path": "/a/b", "value": 3}]},
            {},
            PATH,
            "array of objects",
        ),
        (b"not json", {}, PATH, "not valid JSON"),
    ],
)
async def test_what_the_model_refuses_is_a_400_in_amazons_shape(
    sandbox: Sandbox,
    auth: dict[str, str],
    body: Any,
    params: dict[str, str],
    path: str,
    says: str,
) -> None:
    response = await patch(sandbox, auth, "PEN", body, path=path, **params)

    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["code"] == "InvalidInput"
    assert says in error["message"]
    assert "x-amzn-RequestId" in response.headers
    assert (await sandbox.listings())["PEN"]["quantity"] == 5


async def test_five_a_second_burst_five_then_429(sandbox: Sandbox, auth: dict[str, str]) -> None:
    codes = [(await patch(sandbox, auth, "PEN", quantity(n))).status_code for n in range(6)]
    assert codes == [200] * 5 + [429]

    sandbox.clock.advance(0.2)  # one token back at 5 a second
    assert (await patch(sandbox, auth, "PEN", quantity(7))).status_code == 200
    assert (await patch(sandbox, auth, "PEN", quantity(8))).status_code == 429
    assert (await sandbox.listings())["PEN"]["quantity"] == 7


async def test_admin_reads_one_listing_by_sku(sandbox: Sandbox, auth: dict[str, str]) -> None:
    await patch(sandbox, auth, "PEN", quantity(0))
    one = await sandbox.client.get(f"/_sandbox/sellers/{SELLER}/listings/PEN")
    missing = await sandbox.client.get(f"/_sandbox/sellers/{SELLER}/listings/GHOST")
    assert one.status_code == 200 and one.json() == (await sandbox.listings())["PEN"]
    assert one.json()["quantity"] == 0
    assert missing.status_code == 404
