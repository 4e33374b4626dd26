"""The common shell of every service: logging, one start line, clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from shared.logs import setup_logging
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)

Main = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


async def _supervise(name: str, settings: ServiceSettings, main: Main) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("service starting", extra={"event": "start", "settings": settings.safe_summary()})
    task = asyncio.create_task(main(stop), name=name)
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    if task not in done:
        # Give the service a moment to finish its batch and commit, then insist.
        try:
            await asyncio.wait_for(task, timeout=20)
        except TimeoutError:
            log.warning("service did not stop in time; cancelled it")
    else:
        stopper.cancel()
        if not stop.is_set():
            task.result()  # a service that ends by itself has crashed: exit non-zero
            log.error("service ended without being asked to stop")
            raise SystemExit(1)
    log.info("service stopped", extra={"event": "stop"})


def run_service(name: str, settings: ServiceSettings, main: Main) -> None:
    setup_logging(name, settings.log_level)
    asyncio.run(_supervise(name, settings, main))
