"""A service that misbehaves on demand, run by tests/integration/test_supervision.py as
``python -m tests.integration.misbehaving_service MODE`` under the real ``run_service``.

Modes:
- ``task-dies``: a supervised task raises while the service runs.
- ``task-returns``: a supervised task returns without the service being asked to stop.
- ``ignores-stop``: the service never looks at ``stop`` (SIGTERM must end it anyway).
- ``ignores-cancel``: the service swallows even cancellation (the watchdog ends it).
- ``stalls``: a consumer loop's handler never returns, so its heartbeat stops.

Each prints ``ready`` once its main is running, so the test knows when to signal it.
"""

from __future__ import annotations

import asyncio
import sys

from shared.health import LIVENESS
from shared.service import run_service
from shared.settings import ServiceSettings
from shared.supervisor import supervise


async def _grants_reader() -> None:
    raise ConnectionError("the broker closed the connection")


async def _accounts_reader() -> None:
    return None


async def _until_stopped(stop: asyncio.Event) -> None:
    print("ready", flush=True)
    await stop.wait()


async def task_dies(stop: asyncio.Event) -> None:
    supervise("throttle grants reader", _grants_reader())
    await _until_stopped(stop)


async def task_returns(stop: asyncio.Event) -> None:
    supervise("amazon.accounts reader", _accounts_reader())
    await _until_stopped(stop)


async def ignores_stop(stop: asyncio.Event) -> None:
    print("ready", flush=True)
    await asyncio.Event().wait()


async def ignores_cancel(stop: asyncio.Event) -> None:
    print("ready", flush=True)
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            continue  # a part that will not stop: the process must end regardless


async def stalls(stop: asyncio.Event) -> None:
    heartbeat = LIVENESS.heartbeat("job requests consumer")
    print("ready", flush=True)
    while not stop.is_set():
        heartbeat.beat()
        await asyncio.Event().wait()  # a handler that never returns


MODES = {
    "task-dies": task_dies,
    "task-returns": task_returns,
    "ignores-stop": ignores_stop,
    "ignores-cancel": ignores_cancel,
    "stalls": stalls,
}

if __name__ == "__main__":
    run_service("misbehaving", ServiceSettings(), MODES[sys.argv[1]])
