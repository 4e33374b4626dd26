"""Request bodies: at most API_MAX_BODY_BYTES (413, in the one error shape, whether the
size is declared or only counted), sized for 25,000 of the largest item; JSON read as
strictly as the bus reads it. The app runs in this process without its lifespan: nothing
here reaches Kafka or MongoDB."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.api.app import create_app
from services.api.settings import MAX_BODY_BYTES, ApiSettings
from shared.job_items import SendProductItem
from shared.limits import MAX_ITEMS

SMALL = 4096
HEADERS = {"Authorization": "Bearer shop-k", "Content-Type": "application/json"}


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ApiSettings(api_keys="shop1:shop-k", max_body_bytes=SMALL))
    # Nothing here gets as far as the store or the bus.
    app.state.db = app.state.publisher = None
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


def largest_send_products_item(char: str) -> dict[str, Any]:
    """A send_products item with every field at its limit, text in ``char``."""
    item = {
        "sku": char * 40,
        "ean": "1" * 14,
        "upc": "1" * 12,
        "asin": "A" * 10,
        "quantity": 2_147_483_647,
        "price": "9999999999.99",
        "currency": "EUR",
        "condition": char * 64,
        "product_type": char * 64,
    }
    SendProductItem.model_validate(item)  # allowed, so the bound must take it
    return item


@pytest.mark.parametrize(
    ("char", "ensure_ascii"),
    [("S", False), ("\U0001f600", False), ("é", True)],
    ids=["ascii", "4-byte UTF-8", "escaped"],
)
def test_the_limit_takes_25000_of_the_largest_item(char: str, ensure_ascii: bool) -> None:
    item = largest_send_products_item(char)
    body = {
        "job_id": "j" * 128,
        "shop_id": "s" * 64,
        "account_id": "a" * 64,
        "job_type": "send_products",
        "items": [item] * MAX_ITEMS,
        "priority": 1000,
    }
    size = len(json.dumps(body, ensure_ascii=ensure_ascii).encode("utf-8"))
    assert size < MAX_BODY_BYTES, (size, MAX_BODY_BYTES)


async def test_a_body_declared_too_large_is_413_before_it_is_read(
    api: httpx.AsyncClient,
) -> None:
    reply = await api.post("/v1/jobs", content=b"{" + b" " * SMALL + b"}", headers=HEADERS)
    assert reply.status_code == 413
    assert reply.json() == {
        "error": {
            "code": "too_large",
            "message": f"the request body is {SMALL + 2} bytes, more than the {SMALL} "
            "bytes the API takes",
        }
    }


async def test_a_streamed_body_is_413_once_it_passes_the_limit(api: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"items": ['
        for _ in range(SMALL // 50):  # twice the limit
            yield b'{"sku": "' + b"X" * 80 + b'"},'

    reply = await api.post("/v1/jobs", content=chunks(), headers=HEADERS)
    assert "content-length" not in reply.request.headers
    assert reply.status_code == 413
    assert reply.json()["error"] == {
        "code": "too_large",
        "message": f"the request body is larger than the {SMALL} bytes the API takes",
    }


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b'{"priority": NaN}', "priority: NaN is not a number"),
        (b'{"items": [{"quantity": -Infinity}]}', "items.0.quantity: -Infinity is not"),
        (b'{"items": [{"sku": "A", "price": 1e309}]}', "items.0.price: 1e309 is not"),
        (b'{"priority": ' + b"9" * 5000 + b"}", "priority: 99999999999999999999… is not"),
        (b"[" * 100_000 + b"]" * 100_000, "body: malformed JSON: nested deeper"),
        (b'{"items": [}', "body: malformed JSON: Expecting value"),
        (b'{"shop_id": "\xff"}', "body: not UTF-8"),
    ],
    ids=["NaN", "Infinity", "1e309", "5000 digits", "deep", "broken", "not UTF-8"],
)
async def test_json_python_reads_but_mongodb_and_amazon_do_not_is_422(
    raw: bytes, said: str
) -> None:
    app = create_app(ApiSettings(api_keys="shop1:shop-k", max_body_bytes=1 << 20))
    app.state.db = app.state.publisher = None
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as client:
        reply = await client.post("/v1/jobs", content=raw, headers=HEADERS)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["message"].startswith(said), reply.json()


def test_the_schema_documents_413_where_a_body_is_taken() -> None:
    spec = create_app(ApiSettings()).openapi()
    for path in ("/v1/jobs", "/v1/accounts"):
        answer = spec["paths"][path]["post"]["responses"]["413"]
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorBody"
        }


@pytest.mark.parametrize("priority", [-1, 1001, 10**12, 2.5, "5"])
async def test_a_priority_outside_0_to_1000_is_422_naming_it(
    api: httpx.AsyncClient, priority: object
) -> None:
    """Above the range a caller would jump every other shop's queue (docs/design.md §10)."""
    body = {
        "account_id": "acc-any",
        "job_type": "update_qty",
        "items": [{"sku": "A", "quantity": 1}],
        "priority": priority,
    }
    reply = await api.post("/v1/jobs", json=body, headers=HEADERS)
    assert reply.status_code == 422, reply.text
    assert "priority" in reply.json()["error"]["message"]
