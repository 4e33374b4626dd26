"""Entry point: `python -m services.poller`."""

from __future__ import annotations

import asyncio

from services.poller.service import PollerService
from services.poller.settings import PollerSettings
from shared.service import run_service
from shared.worker import WorkerRuntime


async def main(stop: asyncio.Event) -> None:
    settings = PollerSettings()
    runtime = WorkerRuntime("poller", settings)
    await runtime.start()
    try:
        await PollerService(settings, runtime).run(stop)
    finally:
        await runtime.stop()


if __name__ == "__main__":
    run_service("poller", PollerSettings(), main)
