"""Entry point: `python -m services.throttle`."""

from __future__ import annotations

import asyncio

from services.throttle.service import run_throttle
from services.throttle.settings import ThrottleSettings
from shared.service import run_service


async def main(stop: asyncio.Event) -> None:
    await run_throttle(stop, ThrottleSettings())


if __name__ == "__main__":
    run_service("throttle", ThrottleSettings(), main)
