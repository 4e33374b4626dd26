"""Entry point: `python -m services.notifier`."""

from __future__ import annotations

import asyncio

from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings
from shared.service import run_service


async def main(stop: asyncio.Event) -> None:
    await NotifierService(NotifierSettings()).run(stop)


if __name__ == "__main__":
    run_service("notifier", NotifierSettings(), main)
