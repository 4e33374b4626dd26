"""How long a stock-out takes to reach Amazon, for tests and benchmarks.

The shop publishes a SKU's stock going to 0 (``StockChanged``, as PrestaShop does); the
submitter sends it by ``patchListingsItem`` (services/submitter/routing.py). The time
counted is from the publish to the sandbox answering the SKU at quantity 0, read one SKU
at a time (``GET /_sandbox/sellers/{id}/listings/{sku}``), so it costs the same for a
seller of ten listings or of a million. The listing must be synced already (the
submitter drops changes of listings it does not sync).
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

import httpx

from shared.events import StockChanged
from shared.kafka.producer import EventPublisher
from shared.topics import CATALOG_EVENTS


async def sandbox_quantity(
    http: httpx.AsyncClient, sandbox_url: str, seller_id: str, sku: str
) -> int | None:
    """The SKU's quantity at the sandbox now; None when the seller has no such listing."""
    response = await http.get(
        f"{sandbox_url}/_sandbox/sellers/{seller_id}/listings/{quote(sku, safe='')}"
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    quantity: int = response.json()["quantity"]
    return quantity


async def time_stock_out(
    sandbox_url: str,
    publisher: EventPublisher,
    *,
    shop_id: str,
    seller_id: str,
    sku: str,
    every_s: float = 0.01,
    timeout_s: float = 120.0,
) -> float:
    """Publish ``sku``'s stock to 0 and return the real seconds until the sandbox shows it;
    TimeoutError after ``timeout_s`` (a bound on a hung run, not a goal)."""
    async with httpx.AsyncClient(timeout=10.0) as http:
        change = StockChanged(shop_id=shop_id, sku=sku, quantity=0)
        started = time.monotonic()
        await publisher.publish(CATALOG_EVENTS, shop_id, change)
        async with asyncio.timeout(timeout_s):
            while True:
                if await sandbox_quantity(http, sandbox_url, seller_id, sku) == 0:
                    return time.monotonic() - started
                await asyncio.sleep(every_s)  # another process's state: polled, not awaited
