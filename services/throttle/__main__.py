"""Entry point: `python -m services.throttle`."""

from __future__ import annotations

import asyncio

from services.throttle.settings import ThrottleSettings
from shared.health import HealthServer
from shared.service import run_service


async def main(stop: asyncio.Event) -> None:
    settings = ThrottleSettings()
    health = HealthServer(settings.health_port)
    await health.start()
    try:
        await stop.wait()
    finally:
        await health.stop()


if __name__ == "__main__":
    run_service("throttle", ThrottleSettings(), main)
