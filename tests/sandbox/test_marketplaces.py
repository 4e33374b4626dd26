"""A seller on several marketplaces: its offers are per marketplace, and a listings feed or
a patchListingsItem changes only the marketplaces it is for."""

from __future__ import annotations

import json

from tests.sandbox.conftest import (
    LISTINGS,
    MARKETPLACE,
    PROCESSING_DONE_S,
    SELLER,
    Sandbox,
    listings_feed,
    quantity_message,
)

FR = "A13V1IB3VIYZZH"


async def test_a_feed_and_a_patch_change_only_their_marketplace(sandbox: Sandbox) -> None:
    await sandbox.register(marketplace_ids=[MARKETPLACE, FR])
    auth = await sandbox.login()
    before = (await sandbox.listings())["PEN"]["quantity"]
    assert (await sandbox.listings(marketplace=FR))["PEN"]["quantity"] == before  # on both

    await sandbox.submit(auth, listings_feed(quantity_message(1, "PEN", 41)), marketplace=FR)
    sandbox.clock.advance(PROCESSING_DONE_S + 1)
    assert (await sandbox.listings(marketplace=FR))["PEN"]["quantity"] == 41
    assert (await sandbox.listings())["PEN"]["quantity"] == before

    patched = await sandbox.client.patch(
        f"/listings/2021-08-01/items/{SELLER}/PEN",
        params={"marketplaceIds": MARKETPLACE},
        content=json.dumps(
            {
                "productType": "PRODUCT",
                "patches": [
                    {
                        "op": "replace",
                        "path": "/attributes/fulfillment_availability",
                        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
                    }
                ],
            }
        ).encode(),
        headers={**auth, "content-type": "application/json"},
    )
    assert patched.status_code == 200 and patched.json()["status"] == "ACCEPTED", patched.text
    assert (await sandbox.listings())["PEN"]["quantity"] == 0
    assert (await sandbox.listings(marketplace=FR))["PEN"]["quantity"] == 41


async def test_a_listing_can_be_registered_on_some_marketplaces_only(sandbox: Sandbox) -> None:
    only_fr = [{**LISTINGS[0], "marketplace_ids": [FR]}]
    await sandbox.register(marketplace_ids=[MARKETPLACE, FR], listings=only_fr)
    assert await sandbox.listings() == {}
    assert set(await sandbox.listings(marketplace=FR)) == {LISTINGS[0]["sku"]}
    spain = await sandbox.client.get(
        f"/_sandbox/sellers/{SELLER}/listings", params={"marketplaceId": "A1RKKUPIHCS9HS"}
    )
    assert spain.status_code == 404
