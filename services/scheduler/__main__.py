"""Entry point: `python -m services.scheduler`."""

from __future__ import annotations

import asyncio

from services.scheduler.service import SchedulerService
from services.scheduler.settings import SchedulerSettings
from shared.service import run_service


async def main(stop: asyncio.Event) -> None:
    await SchedulerService(SchedulerSettings()).run(stop)


if __name__ == "__main__":
    run_service("scheduler", SchedulerSettings(), main)
