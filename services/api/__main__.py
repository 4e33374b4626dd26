"""Entry point: `python -m services.api` (HTTP API, jobs page, and the projector)."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn

from services.api.app import create_app
from services.api.settings import ApiSettings
from shared.service import run_service
from shared.supervisor import current


async def main(stop: asyncio.Event) -> None:
    settings = ApiSettings()
    config = uvicorn.Config(
        create_app(settings),
        host="0.0.0.0",
        port=settings.api_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    # run_service owns SIGTERM/SIGINT and sets ``stop``; uvicorn must not take them over.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    serving = asyncio.create_task(server.serve())
    await asyncio.wait(
        {serving, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED
    )
    if current().failures and not serving.done():
        # A part died (the projector): answer /readyz 503 a moment longer before the port
        # closes, so a load balancer or a probe sees why the process is going.
        await asyncio.sleep(settings.failure_drain_s)
    server.should_exit = True
    await serving


if __name__ == "__main__":
    run_service("api", ApiSettings(), main)
