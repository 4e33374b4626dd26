"""The README's instructions, run as written."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from pathlib import Path

import pytest

from devtools.demo import DEMO_SHOP
from devtools.world import Seller, open_shop, sandbox_listings
from shared.kafka.producer import EventPublisher
from tests.e2e.synced import until_listings_known
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block(marker: str) -> str:
    text = README.read_text()
    found = re.search(rf"<!-- readme-test: {marker} -->\n```sh\n(.*?)```", text, re.S)
    assert found, f"README has no block marked {marker}"
    return found.group(1)


async def test_kcat_stock_change_reaches_the_sandbox_listing(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("DEMO", shop_id=DEMO_SHOP, listed=3)  # lists DEMO-SKU-0 … DEMO-SKU-2
    await open_shop(pipeline.sandbox_url, publisher, seller, synced_skus=range(3))
    await until_listings_known(pipeline.bootstrap, publisher, seller, range(3))
    block = readme_block("kcat-stock-changed")
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": pipeline.bootstrap}
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-euo", "pipefail", "-c", block],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr

    async def reached_the_sandbox() -> bool:
        listings = await sandbox_listings(pipeline.sandbox_url, seller)
        return bool(listings["DEMO-SKU-1"]["quantity"] == 6)

    await eventually(reached_the_sandbox, "the stock change to reach the sandbox listing")
