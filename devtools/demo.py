"""The demo of `make up`: a sandbox seller, a shop account, and one job of every type.

Everything goes through the public surfaces a real integration would use: the sandbox's
admin API stands in for a seller's Amazon account, and the shop talks to the HTTP API.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from services.api.auth import ADMIN, KeyRing
from shared.jobs import JobStatus, JobType

DEMO_SHOP = "demo-shop"
DEMO_ACCOUNT = "demo-de"
DEMO_SELLER = "A2DEMOSELLER01"
MARKETPLACE_DE = "A1PA6795UKMFR9"
ADMIN_KEY = "demo-admin-key"
SHOP_KEY = "demo-shop-key"
DEMO_API_KEYS = f"*:{ADMIN_KEY},{DEMO_SHOP}:{SHOP_KEY}"


@dataclass(frozen=True)
class DemoKeys:
    admin: str  # registers the demo account
    shop: str  # creates and watches its jobs: the demo shop's own key, else the admin key
    printable: bool  # the demo's own well-known keys; an operator's are never logged


def demo_keys(spec: str) -> DemoKeys | str:
    """The keys the demo signs in with, read from ``AMAZON_JOBS_API_KEYS`` as the API reads
    it; or, when it cannot run on the operator's keys, the plain reason why."""
    if spec == DEMO_API_KEYS:
        return DemoKeys(ADMIN_KEY, SHOP_KEY, printable=True)
    try:
        ring = KeyRing(spec)
    except ValueError as error:
        return f"AMAZON_JOBS_API_KEYS is not valid ({error})"
    admins = [key for key, shop_id in ring.keys if shop_id == ADMIN]
    if not admins:
        return (
            "AMAZON_JOBS_API_KEYS has no admin key ('*:<key>'), which the demo needs to "
            "register its account; add one, or set AMAZON_JOBS_DEMO=0"
        )
    shops = [key for key, shop_id in ring.keys if shop_id == DEMO_SHOP]
    return DemoKeys(admins[0], shops[0] if shops else admins[0], printable=False)


def _ean(n: int) -> str:
    body = f"400638133{n:03d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def seller_payload(refresh_token: str) -> dict[str, Any]:
    catalog = [
        {"asin": f"B0DEMO{n:04d}", "ean": _ean(n), "title": f"Demo product {n}"}
        for n in range(1, 11)
    ]
    listings = [
        {
            "sku": f"DEMO-SKU-{n}",
            "asin": f"B0DEMO{n:04d}",
            "quantity": 10,
            "price": 19.99,
            "currency": "EUR",
        }
        for n in range(1, 6)
    ]
    now = datetime.now(UTC)
    orders = [
        {
            "AmazonOrderId": f"302-000000{n}-000000{n}",
            "PurchaseDate": (now - timedelta(hours=n)).isoformat(),
            "LastUpdateDate": (now - timedelta(hours=n)).isoformat(),
            "OrderStatus": "Unshipped",
            "MarketplaceId": MARKETPLACE_DE,
            "FulfillmentChannel": "MFN",
            "OrderTotal": {"CurrencyCode": "EUR", "Amount": "19.99"},
            "OrderItems": [
                {
                    "OrderItemId": f"6000000000{n}",
                    "SellerSKU": f"DEMO-SKU-{n}",
                    "ASIN": f"B0DEMO{n:04d}",
                    "QuantityOrdered": 1,
                }
            ],
        }
        for n in (1, 2)
    ]
    return {
        "seller_id": DEMO_SELLER,
        "refresh_token": refresh_token,
        "marketplace_ids": [MARKETPLACE_DE],
        "catalog": catalog,
        "listings": listings,
        "orders": orders,
    }


def demo_jobs(run: str) -> list[dict[str, Any]]:
    since = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    shipped = datetime.now(UTC).isoformat()

    def job(job_type: JobType, **body: Any) -> dict[str, Any]:
        return {
            "job_id": f"demo-{run}-{job_type.value}",
            "shop_id": DEMO_SHOP,
            "account_id": DEMO_ACCOUNT,
            "job_type": job_type.value,
            **body,
        }

    return [
        job(
            JobType.SEND_PRODUCTS,
            items=[
                {
                    "sku": f"DEMO-NEW-{n}",
                    "ean": _ean(n),
                    "quantity": 5,
                    "price": "24.90",
                    "currency": "EUR",
                }
                for n in (6, 7)
            ],
        ),
        job(JobType.UPDATE_QTY, items=[{"sku": "DEMO-SKU-1", "quantity": 7}]),
        job(
            JobType.UPDATE_PRICE, items=[{"sku": "DEMO-SKU-2", "price": "17.50", "currency": "EUR"}]
        ),
        job(
            JobType.UPDATE_QTY_PRICE,
            items=[{"sku": "DEMO-SKU-3", "quantity": 2, "price": "21.00", "currency": "EUR"}],
        ),
        job(JobType.STOP_PRODUCTS, items=[{"sku": "DEMO-SKU-4"}]),
        job(JobType.STOP_REMOVE_PRODUCTS, items=[{"sku": "DEMO-SKU-5"}]),
        job(
            JobType.ORDERS_FULFILLMENT,
            items=[
                {
                    "amazon_order_id": "302-0000001-0000001",
                    "carrier": "DHL",
                    "tracking_number": "00340434161234567890",
                    "shipped_at": shipped,
                    "items": [{"order_item_id": "60000000001", "quantity": 1}],
                }
            ],
        ),
        job(JobType.INVENTORY_REPORT, params={}),
        job(JobType.ORDERS_IMPORT, params={"since": since}),
    ]


async def _wait_ok(http: httpx.AsyncClient, url: str, within_s: float = 120.0) -> None:
    deadline = time.monotonic() + within_s
    while True:
        try:
            if (await http.get(url)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {within_s:.0f}s")
        await asyncio.sleep(0.5)


async def run_demo(env: dict[str, str], say: Callable[[str], None]) -> None:
    api = f"http://127.0.0.1:{env.get('API_PORT', '8080')}"
    sandbox = env["SPAPI_ENDPOINT"]
    keys = demo_keys(env.get("AMAZON_JOBS_API_KEYS", ""))
    if isinstance(keys, str):
        say(f"demo: not run: {keys}")
        return
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=15) as http:
        await _wait_ok(http, f"{sandbox}/_sandbox/health")
        await _wait_ok(http, f"{api}/healthz")
        refresh_token = f"Atzr|demo-{uuid.uuid4().hex}"
        (
            await http.post(f"{sandbox}/_sandbox/sellers", json=seller_payload(refresh_token))
        ).raise_for_status()
        admin = {"Authorization": f"Bearer {keys.admin}"}
        shop = {"Authorization": f"Bearer {keys.shop}"}
        account = {
            "account_id": DEMO_ACCOUNT,
            "shop_id": DEMO_SHOP,
            "name": "Demo shop DE",
            "seller_id": DEMO_SELLER,
            "region": "EU",
            "marketplace_ids": [MARKETPLACE_DE],
            "lwa": {
                "client_id": "amzn1.application-oa2-client.demo",
                "client_secret": "demo-client-secret",
                "refresh_token": refresh_token,
            },
        }
        (await http.post(f"{api}/v1/accounts", json=account, headers=admin)).raise_for_status()
        # The account becomes visible once the projector has read it back from Kafka.
        deadline = time.monotonic() + 60
        while DEMO_ACCOUNT not in {
            a["id"] for a in (await http.get(f"{api}/v1/accounts", headers=admin)).json()["data"]
        }:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo account did not appear in the API within 60s")
            await asyncio.sleep(0.3)
        jobs = demo_jobs(run)
        for body in jobs:
            (await http.post(f"{api}/v1/jobs", json=body, headers=shop)).raise_for_status()
        say(f"demo: {len(jobs)} jobs submitted for shop {DEMO_SHOP!r}")
        # A schedule as a merchant would keep one: the orders updated since the run
        # before, every 15 minutes (its first run now, as an ordinary job).
        schedule = {"account_id": DEMO_ACCOUNT, "job_type": "orders_import", "interval_s": 900}
        (await http.post(f"{api}/v1/schedules", json=schedule, headers=shop)).raise_for_status()
        say("demo: orders imported every 15 minutes by a schedule (see Schedules on the page)")
        if keys.printable:
            say(
                f"demo: open {api}/ and log in with the shop key {SHOP_KEY!r} "
                f"(admin key: {ADMIN_KEY!r})"
            )
        else:
            say(f"demo: open {api}/ and log in with your key for {DEMO_SHOP!r} or an admin key")
        ids = {b["job_id"] for b in jobs}
        terminal = {JobStatus.DONE.value, JobStatus.ERROR.value, JobStatus.CANCELED.value}
        last: dict[str, str] = {}
        while True:
            rows = (await http.get(f"{api}/v1/jobs", params={"limit": 100}, headers=shop)).json()
            last = {r["id"]: r["status"] for r in rows.get("data", []) if r.get("id") in ids}
            if len(last) == len(ids) and set(last.values()) <= terminal:
                break
            await asyncio.sleep(1.0)
        summary = ", ".join(
            f"{k.removeprefix(f'demo-{run}-')}={v}" for k, v in sorted(last.items())
        )
        say(f"demo: all jobs finished in {time.monotonic() - started:.1f}s: {summary}")
