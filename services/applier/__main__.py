"""Entry point: `python -m services.applier`."""

from __future__ import annotations

import asyncio

from services.applier.service import ApplierService
from services.applier.settings import ApplierSettings
from shared.service import run_service
from shared.worker import WorkerRuntime


async def main(stop: asyncio.Event) -> None:
    settings = ApplierSettings()
    runtime = WorkerRuntime("applier", settings)
    await runtime.start()
    try:
        await ApplierService(settings, runtime).run(stop)
    finally:
        await runtime.stop()


if __name__ == "__main__":
    run_service("applier", ApplierSettings(), main)
