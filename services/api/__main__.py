"""Entry point: `python -m services.api`."""

from __future__ import annotations

import asyncio

from services.api.settings import ApiSettings
from shared.health import HealthServer
from shared.service import run_service


async def main(stop: asyncio.Event) -> None:
    settings = ApiSettings()
    health = HealthServer(settings.health_port)
    await health.start()
    try:
        await stop.wait()
    finally:
        await health.stop()


if __name__ == "__main__":
    run_service("api", ApiSettings(), main)
