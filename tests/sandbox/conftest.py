"""The sandbox app in-process (httpx over ASGI) on a clock the tests move by hand."""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.amazon_sandbox.app import create_app
from services.amazon_sandbox.clock import ManualClock
from services.amazon_sandbox.settings import SandboxSettings

SELLER = "A2SELLER"
REFRESH_TOKEN = "Atzr|seller-refresh"
MARKETPLACE = "A1PA6795UKMFR9"
JSON_TYPE = "application/json; charset=UTF-8"

CATALOG = [
    {"asin": "B000PEN001", "ean": "4006381333931", "title": "Ballpoint pen", "brand": "Inky"},
    {"asin": "B000MUG001", "upc": "012345678905", "title": "Coffee mug", "brand": "Cuppa"},
    {"asin": "B000HAT001", "ean": "5901234123457", "title": "Sun hat"},
]
LISTINGS = [
    {"sku": "PEN", "asin": "B000PEN001", "quantity": 5, "price": 2.5, "currency": "EUR"},
    {"sku": "MUG", "asin": "B000MUG001", "quantity": 2, "price": 8, "currency": "EUR"},
]


def seller_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "seller_id": SELLER,
        "refresh_token": REFRESH_TOKEN,
        "marketplace_ids": [MARKETPLACE],
        "catalog": CATALOG,
        "listings": LISTINGS,
    }
    body.update(overrides)
    return body


class Sandbox:
    """The in-process sandbox with the calls tests repeat."""

    def __init__(self, client: httpx.AsyncClient, clock: ManualClock) -> None:
        self.client = client
        self.clock = clock

    async def register(self, **overrides: Any) -> None:
        response = await self.client.post("/_sandbox/sellers", json=seller_body(**overrides))
        assert response.status_code == 201, response.text

    async def login(self, refresh_token: str = REFRESH_TOKEN) -> dict[str, str]:
        response = await self.client.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": "amzn1.application-oa2-client.test",
                "client_secret": "secret",
            },
        )
        assert response.status_code == 200, response.text
        return {"x-amz-access-token": response.json()["access_token"]}

    async def upload(
        self, auth: dict[str, str], content: bytes, content_type: str = JSON_TYPE
    ) -> str:
        created = await self.client.post(
            "/feeds/2021-06-30/documents", json={"contentType": content_type}, headers=auth
        )
        assert created.status_code == 201, created.text
        put = await self.client.put(
            created.json()["url"], content=content, headers={"content-type": content_type}
        )
        assert put.status_code == 200, put.text
        return str(created.json()["feedDocumentId"])

    async def submit(
        self,
        auth: dict[str, str],
        content: bytes,
        feed_type: str = "JSON_LISTINGS_FEED",
        content_type: str = JSON_TYPE,
        marketplace: str = MARKETPLACE,
    ) -> str:
        document_id = await self.upload(auth, content, content_type)
        response = await self.client.post(
            "/feeds/2021-06-30/feeds",
            json={
                "feedType": feed_type,
                "marketplaceIds": [marketplace],
                "inputFeedDocumentId": document_id,
            },
            headers=auth,
        )
        assert response.status_code == 202, response.text
        return str(response.json()["feedId"])

    async def feed(self, auth: dict[str, str], feed_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/feeds/2021-06-30/feeds/{feed_id}", headers=auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def result_document(self, auth: dict[str, str], feed_id: str) -> bytes:
        feed = await self.feed(auth, feed_id)
        info = await self.client.get(
            f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}", headers=auth
        )
        assert info.status_code == 200, info.text
        assert info.json()["compressionAlgorithm"] == "GZIP"
        download = await self.client.get(info.json()["url"])
        assert download.status_code == 200
        return gzip.decompress(download.content)

    async def listings(
        self, seller_id: str = SELLER, marketplace: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """The seller's listings on one marketplace (default: its first)."""
        params = {"marketplaceId": marketplace} if marketplace else {}
        response = await self.client.get(f"/_sandbox/sellers/{seller_id}/listings", params=params)
        assert response.status_code == 200, response.text
        return {row["sku"]: row for row in response.json()["listings"]}

    async def stats(self, seller_id: str = SELLER) -> dict[str, dict[str, int]]:
        response = await self.client.get("/_sandbox/stats", params={"seller_id": seller_id})
        operations: dict[str, dict[str, int]] = response.json()["operations"]
        return operations


def listings_feed(*messages: Any, seller_id: str = SELLER, version: str = "2.0") -> bytes:
    return json.dumps(
        {"header": {"sellerId": seller_id, "version": version}, "messages": list(messages)}
    ).encode()


def quantity_message(message_id: int, sku: str, quantity: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "sku": sku,
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }


# Feeds and reports take 30 s in queue + 60 s processing by default (Amazon time).
PROCESSING_DONE_S = 90.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sandbox(clock: ManualClock) -> AsyncIterator[Sandbox]:
    app = create_app(SandboxSettings(), clock=clock, rng=random.Random(7))
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        yield Sandbox(client, clock)


@pytest.fixture
async def auth(sandbox: Sandbox) -> dict[str, str]:
    """A registered seller's access token header."""
    await sandbox.register()
    return await sandbox.login()
