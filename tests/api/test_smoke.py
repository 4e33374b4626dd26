"""First contact: the API answers and projects a job end to end."""

from __future__ import annotations

import httpx
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.integration


async def test_health(system: Stack, admin: httpx.AsyncClient) -> None:
    assert (await admin.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await admin.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert (await admin.get("/v1/jobs")).status_code == 200
