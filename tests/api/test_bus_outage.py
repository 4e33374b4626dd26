"""Kafka down under a running API: a write is a quick 503 with Retry-After, reads go on,
/readyz says which dependency is missing, and writes work again once Kafka is back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.provision import provision
from services.api.app import create_app
from services.api.settings import ApiSettings
from shared.kafka.admin import ensure_topics
from tests.stack import SECRET_KEY
from tests.waiting import eventually

pytestmark = pytest.mark.integration

ADMIN = {"Authorization": "Bearer admin-k"}
SHOP = {"Authorization": "Bearer shop-k"}
ACCOUNT = {
    "account_id": "acc-outage",
    "shop_id": "shop-outage",
    "name": "Outage DE",
    "seller_id": "AOUTAGE1",
    "region": "EU",
    "marketplace_ids": ["A1PA6795UKMFR9"],
    "lwa": {"client_id": "amzn1.app", "client_secret": "s", "refresh_token": "Atzr|r"},
}
JOB = {"account_id": "acc-outage", "job_type": "update_qty", "items": [{"sku": "A", "quantity": 1}]}


@pytest.fixture(scope="module")
async def kafka(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[KafkaServer]:
    """A broker this module may stop."""
    provision()
    server = KafkaServer(free_port(), tmp_path_factory.mktemp("outage-kafka"))
    await asyncio.to_thread(server.start)
    try:
        await ensure_topics(server.bootstrap_servers)
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def test_kafka_down_is_a_503_for_writes_only(kafka: KafkaServer, mongo_url: str) -> None:
    settings = ApiSettings(
        kafka_bootstrap_servers=kafka.bootstrap_servers,
        mongo_url=mongo_url.rsplit("/", 1)[0] + f"/outage_{uuid.uuid4().hex[:8]}",
        api_keys="*:admin-k,shop-outage:shop-k",
        secret_key=SECRET_KEY,
        publish_timeout_s=2.0,
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api,
    ):
        assert (await api.post("/v1/accounts", json=ACCOUNT, headers=ADMIN)).status_code == 202

        async def projected() -> bool:
            rows = (await api.get("/v1/accounts", headers=SHOP)).json()["data"]
            return bool(rows)

        await eventually(projected, "the account projected")
        await asyncio.to_thread(kafka.stop)
        try:
            refused = await api.post("/v1/jobs", json=JOB | {"job_id": "out-1"}, headers=SHOP)
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "5"
            error = refused.json()["error"]
            assert (
                error["code"] == "unavailable" and "retry with job_id 'out-1'" in error["message"]
            )
            # the API's own 2 s bound ended the wait, not aiokafka's 40 s (KafkaTimeoutError)
            assert "(TimeoutError)" in error["message"], error
            ready = await api.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["checks"]["mongodb"] == "ok"
            assert ready.json()["checks"]["kafka"].startswith("unavailable")
            assert (await api.get("/v1/accounts", headers=SHOP)).status_code == 200  # reads
        finally:
            await asyncio.to_thread(kafka.start)

        async def accepted() -> bool:
            again = await api.post("/v1/jobs", json=JOB | {"job_id": "out-1"}, headers=SHOP)
            return again.status_code == 202

        await eventually(accepted, "a write accepted again")
        assert (await api.get("/readyz")).status_code == 200
