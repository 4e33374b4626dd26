"""The ``latency_ms`` setting: every call to "Amazon" waits, the admin routes do not."""

from __future__ import annotations

import time

import httpx
from starlette.types import Receive, Scope, Send

from services.amazon_sandbox.__main__ import settings_from_args
from services.amazon_sandbox.app import LatencyMiddleware, create_app
from services.amazon_sandbox.clock import ManualClock
from services.amazon_sandbox.settings import SandboxSettings
from tests.sandbox.conftest import Sandbox


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def test_every_amazon_path_waits_and_admin_paths_do_not() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    app = LatencyMiddleware(_ok, 0.3, sleep=sleep)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        for path in ("/auth/o2/token", "/feeds/2021-06-30/feeds/1", "/_documents/abc"):
            slept.clear()
            assert (await client.get(path)).status_code == 200
            assert slept == [0.3], path
        slept.clear()
        assert (await client.get("/_sandbox/stats")).status_code == 200
        assert slept == []


async def test_the_setting_delays_lwa_and_sp_api_calls_in_real_time() -> None:
    # A manual clock: Amazon's time stands still, the latency is real seconds anyway.
    app = create_app(SandboxSettings(latency_ms=200), clock=ManualClock(time_scale=600))
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        sandbox = Sandbox(client, ManualClock())
        await sandbox.register()
        started = time.monotonic()
        auth = await sandbox.login()
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        response = await client.get("/feeds/2021-06-30/feeds/1", headers=auth)
        assert response.status_code == 404
        assert time.monotonic() - started >= 0.2


def test_latency_from_the_command_line_and_default() -> None:
    assert settings_from_args(["--latency-ms", "300"]).latency_ms == 300
    assert settings_from_args([]).latency_ms == 0
