"""A MongoDB that takes connections and never answers: each request is a 503 after the
API's own deadline (not a request held forever, PyMongo's default), and the API serves
again once MongoDB answers."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from services.api.app import create_app
from services.api.settings import ApiSettings
from tests.hanging_proxy import HangingProxy
from tests.stack import SECRET_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

ADMIN = {"Authorization": "Bearer admin-k"}
DEADLINE_S = 2.0
# Only so that a hung request fails this test instead of hanging the suite: far above
# the deadline, not a measure of speed.
HUNG_S = 60 * DEADLINE_S


async def test_a_mongodb_that_never_answers_is_a_503_then_service_resumes(
    topics: str, mongo_url: str
) -> None:
    target = urlsplit(mongo_url)
    proxy = HangingProxy(target.hostname or "127.0.0.1", target.port or 27017)
    await proxy.start()
    settings = ApiSettings(
        kafka_bootstrap_servers=topics,
        mongo_url=f"mongodb://127.0.0.1:{proxy.port}/hang_{uuid.uuid4().hex[:8]}",
        api_keys="*:admin-k",
        secret_key=SECRET_KEY,
        mongo_timeout_s=DEADLINE_S,
    )
    app = create_app(settings, run_projector=False)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api,
        ):
            assert (await api.get("/v1/jobs", headers=ADMIN)).status_code == 200
            proxy.hang()
            for path in ("/v1/jobs", "/v1/jobs/any-job", "/v1/accounts"):
                async with asyncio.timeout(HUNG_S):
                    answer = await api.get(path, headers=ADMIN)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.json()["error"]["code"] == "unavailable"
                assert answer.headers["Retry-After"] == str(settings.retry_after_s)
            proxy.resume()

            async def served() -> bool:
                return (await api.get("/v1/jobs", headers=ADMIN)).status_code == 200

            await eventually(served, "the API serving again once MongoDB answers")
    finally:
        await proxy.stop()


async def test_later_requests_on_a_kept_alive_connection_get_their_own_deadline(
    topics: str, mongo_url: str, test_output_dir: Path
) -> None:
    """Under uvicorn, after a request with a large body, a context variable set inside it
    leaks into the next requests of the same keep-alive connection: a per-request MongoDB
    deadline kept in one (as ``pymongo.timeout()`` does) had every later request on it
    fail as a 503 once that deadline had passed ([404, 200, 503, 503] here; the page of a
    25,000-item job went down for good)."""
    stack = Stack(
        bootstrap=topics,
        mongo_url=mongo_url.rsplit("/", 1)[0] + f"/keepalive_{uuid.uuid4().hex[:8]}",
        workdir=test_output_dir / f"api-keepalive-{uuid.uuid4().hex[:8]}",
        api_keys="*:admin-k",
        extra_env={"API_MONGO_TIMEOUT_S": str(DEADLINE_S)},
    )
    try:
        stack.start(["api"])
        async with httpx.AsyncClient(base_url=stack.api_url, headers=ADMIN, timeout=60) as api:
            # A body larger than uvicorn's 64 KiB buffer: it pauses reading the connection,
            # and resumes from inside the request (where the leak came from).
            items = [{"sku": f"SKU-{n:06d}", "quantity": 1} for n in range(5000)]
            job = {"account_id": "acc-none", "job_type": "update_qty", "items": items}
            statuses = [(await api.post("/v1/jobs", json=job | {"shop_id": "s"})).status_code]
            for _ in range(3):
                statuses.append((await api.get("/v1/jobs")).status_code)
                # Pacing, not a wait for a condition: the point is that the first
                # request's deadline has long passed when the next one comes.
                await asyncio.sleep(1.5 * DEADLINE_S)
            assert statuses == [404, 200, 200, 200], stack.logs()
    finally:
        stack.stop()
