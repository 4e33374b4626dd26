"""Catalog Items 2022-04-01 searchCatalogItems over HTTP."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import MARKETPLACE, Sandbox

PATH = "/catalog/2022-04-01/items"


async def test_search_by_ean_returns_amazons_item_shape(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    response = await sandbox.client.get(
        PATH,
        params={
            "identifiers": "4006381333931,0012345678905,0000000000000",
            "identifiersType": "EAN",
            "marketplaceIds": MARKETPLACE,
            "includedData": "identifiers,summaries",
        },
        headers=auth,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-amzn-RateLimit-Limit"] == "2.0"
    body = response.json()
    assert body["numberOfResults"] == 2
    assert body["pagination"] == {}
    assert set(body["refinements"]) == {"brands", "classifications"}
    pen, mug = body["items"]
    assert pen == {
        "asin": "B000PEN001",
        "identifiers": [
            {
                "marketplaceId": MARKETPLACE,
                "identifiers": [
                    {"identifierType": "EAN", "identifier": "4006381333931"},
                    {"identifierType": "GTIN", "identifier": "04006381333931"},
                ],
            }
        ],
        "summaries": [{"marketplaceId": MARKETPLACE, "itemName": "Ballpoint pen", "brand": "Inky"}],
    }
    assert mug["asin"] == "B000MUG001"  # the UPC, asked for as its EAN-13 spelling


async def test_default_dataset_is_summaries_and_other_identifier_types(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    by_upc = await sandbox.client.get(
        PATH,
        params={
            "identifiers": "012345678905",
            "identifiersType": "UPC",
            "marketplaceIds": MARKETPLACE,
        },
        headers=auth,
    )
    [item] = by_upc.json()["items"]
    assert set(item) == {"asin", "summaries"}
    sandbox.clock.advance(0.5)  # searchCatalogItems: burst 2, 2 tokens back a second
    by_asin = await sandbox.client.get(
        PATH,
        params={
            "identifiers": "B000HAT001",
            "identifiersType": "ASIN",
            "marketplaceIds": MARKETPLACE,
        },
        headers=auth,
    )
    assert [i["asin"] for i in by_asin.json()["items"]] == ["B000HAT001"]
    sandbox.clock.advance(0.5)
    by_sku = await sandbox.client.get(
        PATH,
        params={
            "identifiers": "PEN",
            "identifiersType": "SKU",
            "sellerId": "A2SELLER",
            "marketplaceIds": MARKETPLACE,
        },
        headers=auth,
    )
    assert [i["asin"] for i in by_sku.json()["items"]] == ["B000PEN001"]
    sandbox.clock.advance(0.5)
    by_keyword = await sandbox.client.get(
        PATH, params={"keywords": "mug", "marketplaceIds": MARKETPLACE}, headers=auth
    )
    assert [i["asin"] for i in by_keyword.json()["items"]] == ["B000MUG001"]


@pytest.mark.parametrize(
    "params",
    [
        {"identifiers": ",".join(str(n).zfill(13) for n in range(21)), "identifiersType": "EAN"},
        {"identifiers": "4006381333931"},
        {"identifiers": "4006381333931", "identifiersType": "BARCODE"},
        {
            "identifiers": "4006381333931",
            "identifiersType": "EAN",
            "marketplaceIds": f"{MARKETPLACE},ATVPDKIKX0DER",
        },
        {"identifiers": "4006381333931", "identifiersType": "EAN", "keywords": "pen"},
        {"identifiers": "PEN", "identifiersType": "SKU"},
        {},
    ],
)
async def test_search_parameter_rules(
    sandbox: Sandbox, auth: dict[str, str], params: dict[str, str]
) -> None:
    params.setdefault("marketplaceIds", MARKETPLACE)
    response = await sandbox.client.get(PATH, params=params, headers=auth)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


async def test_twenty_identifiers_is_the_limit(sandbox: Sandbox, auth: dict[str, str]) -> None:
    codes = ["4006381333931"] + [str(n).zfill(13) for n in range(19)]
    response = await sandbox.client.get(
        PATH,
        params={
            "identifiers": ",".join(codes),
            "identifiersType": "EAN",
            "marketplaceIds": MARKETPLACE,
        },
        headers=auth,
    )
    assert response.status_code == 200
    assert response.json()["numberOfResults"] == 1
