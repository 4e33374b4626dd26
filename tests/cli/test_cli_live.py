"""The `amazon-jobs` command against the live system (all services, real API)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from devtools.world import MARKETPLACE, Seller
from tests.api.conftest import SHOP1_KEY
from tests.stack import ADMIN_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SELLER = Seller("clione", shop_id="shop1", listed=5)


async def cli(stack: Stack, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AMAZON_JOBS_URL": stack.api_url,
        "AMAZON_JOBS_API_KEY": key,
        "COLUMNS": "200",
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_cli_registers_an_account_runs_and_shows_a_job(system: Stack, tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        (
            await http.post(f"{system.sandbox_url}/_sandbox/sellers", json=SELLER.sandbox_payload())
        ).raise_for_status()
    secret = "cli-planted-secret-value"
    added = await cli(
        system,
        ADMIN_KEY,
        "accounts",
        "add",
        "--account-id",
        SELLER.account_id,
        "--shop",
        "shop1",
        "--name",
        "CLI shop",
        "--seller-id",
        SELLER.seller_id,
        "--region",
        "EU",
        "--marketplace",
        MARKETPLACE,
        "--client-id",
        "amzn1.cli",
        "--client-secret",
        secret,
        "--refresh-token",
        SELLER.refresh_token,
    )
    assert added.returncode == 0, added.stderr
    assert secret not in added.stdout + added.stderr

    async def account_listed() -> bool:
        return SELLER.account_id in (await cli(system, SHOP1_KEY, "accounts", "list")).stdout

    await eventually(account_listed, "the new account in `accounts list`", every_s=0.5)

    items = tmp_path / "items.json"
    items.write_text(json.dumps([{"sku": SELLER.sku(1), "quantity": 4}]))
    created = await cli(
        system,
        SHOP1_KEY,
        "jobs",
        "create",
        "--type",
        "update_qty",
        "--account",
        SELLER.account_id,
        "--items-file",
        str(items),
        "--job-id",
        "cli-job-1",
    )
    assert created.returncode == 0, created.stderr

    async def shown_done() -> list[subprocess.CompletedProcess[str]]:
        shown = await cli(system, SHOP1_KEY, "jobs", "show", "cli-job-1")
        return [shown] if "Done" in shown.stdout else []

    (shown,) = await eventually(shown_done, "`jobs show` to say Done", every_s=0.5)
    assert "Update Products QTY" in shown.stdout and SELLER.sku(1) in shown.stdout
    listed = await cli(system, SHOP1_KEY, "jobs", "list", "--status", "done")
    assert listed.returncode == 0 and "cli-job-1" in listed.stdout
    refused = await cli(system, SHOP1_KEY, "jobs", "cancel", "cli-job-1")
    assert refused.returncode == 1 and "already done" in refused.stdout + refused.stderr
    wrong_key = await cli(system, "not-a-key", "jobs", "list")
    assert wrong_key.returncode == 1
    quotas = await cli(system, ADMIN_KEY, "throttle")
    assert quotas.returncode == 0 and "feed_submit" in quotas.stdout
