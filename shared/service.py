"""The common shell of every service: logging, one start line, supervision, a prompt stop.

``run_service(name, settings, main)`` runs ``main(stop)`` under a :class:`Supervisor`
(``supervise()`` inside the service reports to it) and decides the exit code:

- SIGTERM / SIGINT set ``stop``; the service gets ``STOP_TIMEOUT_S`` to finish its batch
  and commit, then what is left is cancelled and the process exits 0.
- A supervised task that dies, ``main`` raising, or ``main`` returning without being
  asked to stop: logged, health red, the service stops, and the process exits 1, so
  ``make up``, compose or Kubernetes starts it again.
- A registered loop that stalls (no heartbeat for ``LIVENESS_STALL_S``) turns
  ``/healthz`` red, and the process stops itself the same way: compose and ``make up``
  do not probe ``/healthz``, yet a stalled consumer must be restarted under them too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from shared.health import LIVENESS
from shared.logs import setup_logging
from shared.settings import ServiceSettings
from shared.supervisor import Supervisor, TaskDied
from shared.tracing import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)

Main = Callable[[asyncio.Event], Coroutine[Any, Any, None]]

# After the stop deadline: how long cancelled tasks get to unwind, and how long the event
# loop gets to close down, before the process ends regardless.
CANCEL_GRACE_S = 1.0
TEARDOWN_GRACE_S = 2.0
LIVENESS_CHECKS_PER_STALL = 4  # how often, within LIVENESS_STALL_S, liveness is looked at


def _exit_now(code: int) -> None:
    """End the process without waiting for anything (threads, a blocked event loop)."""
    log.error("service did not finish stopping; exiting anyway", extra={"exit_code": code})
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _Stopping:
    """What stopping is about: who asked, and the watchdog that ends a stop that hangs."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.asked_by: str | None = None  # the signal, when one asked
        self._watchdog: threading.Timer | None = None

    def on_signal(self, sig: signal.Signals) -> None:
        if self.asked_by is None:
            self.asked_by = sig.name
            log.info("asked to stop", extra={"event": "stopping", "signal": sig.name})
        self.stop.set()

    def arm(self, seconds: float, code: int) -> None:
        """From now on, the process ends within ``seconds`` whatever the event loop does."""
        if self._watchdog is None:
            self._watchdog = threading.Timer(seconds, _exit_now, args=(code,))
            self._watchdog.daemon = True
            self._watchdog.start()


async def _watch_liveness(supervisor: Supervisor) -> None:
    """Stop the service once a registered loop has stalled (Kubernetes would kill it)."""
    while not supervisor.stopping:
        await asyncio.sleep(LIVENESS.stall_s / LIVENESS_CHECKS_PER_STALL)
        problems = LIVENESS.problems()
        if problems and not supervisor.stopping:
            supervisor.fail("liveness", "; ".join(problems))


async def _supervise(name: str, settings: ServiceSettings, main: Main) -> int:
    stop = asyncio.Event()
    stopping = _Stopping(stop)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.on_signal, sig)
    LIVENESS.configure(stall_s=settings.liveness_stall_s)
    supervisor = Supervisor(stop)
    log.info("service starting", extra={"event": "start", "settings": settings.safe_summary()})
    with supervisor.installed():
        task = asyncio.create_task(main(stop), name=name)
    watching = asyncio.create_task(_watch_liveness(supervisor), name="liveness watchdog")
    waiting = asyncio.create_task(stop.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    watching.cancel()
    deadline = settings.stop_timeout_s
    stopping.arm(deadline + CANCEL_GRACE_S + TEARDOWN_GRACE_S, 0 if stopping.asked_by else 1)
    if not task.done():
        # Give the service a moment to finish its batch and commit, then insist.
        await asyncio.wait({task}, timeout=deadline)
    if not task.done():
        log.warning(
            "service did not stop within %g s; cancelling what is left",
            deadline,
            extra={"event": "stop_timeout"},
        )
        task.cancel()
        await asyncio.wait({task, *supervisor.cancel_all()}, timeout=CANCEL_GRACE_S)
    code = _exit_code(task, supervisor, stopping)
    stop.set()
    if not task.done():
        _exit_now(code)
    if code == 0:
        log.info("service stopped", extra={"event": "stop"})
    else:
        log.error("service failed; exiting with code %d", code, extra={"event": "failed"})
    return code


def _exit_code(task: asyncio.Task[None], supervisor: Supervisor, stopping: _Stopping) -> int:
    if supervisor.failures:
        return 1  # logged when the task died
    if task.cancelled() or not task.done():
        return 0 if stopping.asked_by else 1
    exc = task.exception()
    if isinstance(exc, TaskDied):
        return 1  # logged by the supervisor that saw it
    if exc is not None:
        reason = f"service crashed: {type(exc).__name__}: {exc}"
        log.error(reason, exc_info=exc, extra={"event": "crashed"})
        LIVENESS.mark_unhealthy(reason)
        return 1
    if not stopping.stop.is_set():
        log.error("service ended without being asked to stop", extra={"event": "crashed"})
        return 1
    return 0


def run_service(name: str, settings: ServiceSettings, main: Main) -> None:
    setup_logging(name, settings.log_level)
    configure_tracing(name)  # only with OTEL_EXPORTER_OTLP_ENDPOINT (docs/design.md §23)
    try:
        code = asyncio.run(_supervise(name, settings, main))
    finally:
        shutdown_tracing()
    sys.exit(code)
