"""Entry point: `python -m services.submitter`."""

from __future__ import annotations

import asyncio

from services.submitter.service import SubmitterService
from services.submitter.settings import SubmitterSettings
from shared.service import run_service
from shared.worker import WorkerRuntime


async def main(stop: asyncio.Event) -> None:
    settings = SubmitterSettings()
    runtime = WorkerRuntime("submitter", settings)
    await runtime.start()
    try:
        await SubmitterService(settings, runtime).run(stop)
    finally:
        await runtime.stop()


if __name__ == "__main__":
    run_service("submitter", SubmitterSettings(), main)
