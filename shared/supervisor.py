"""No silent death: a service's long-lived tasks are watched (docs/design.md §17).

A consumer loop, a scheduler, the throttle client's reader or a topic tail must run until
the service is asked to stop. One that ends before that (with an exception, or by
returning) is logged with its name, turns the process's health red, and sets the
service's stop event, so the service winds down and the process exits non-zero; whoever
supervises the process (``make up``, compose, Kubernetes) starts it again::

    parts = Supervisor(stop)
    consuming = parts.spawn("poller consumer", consumer.run(stop))
    scheduling = parts.spawn("poller scheduler", schedule(stop))
    await parts.wait()  # until stop is set; raises TaskDied if a part died

A component that starts a task of its own deep inside (the throttle client, a topic tail)
calls ``supervise(name, coro)``: that reports to the supervisor of the running service
(``shared.service.run_service`` installs one); outside a service (a test, a benchmark) a
death is still logged and turns health red.

Cancelling a task is how its owner stops it, so a cancelled task is never a failure; nor
is any ending once the service is stopping, or once the task's own stop event (``until``,
for a part its owner stops apart from the service, such as the API's projector at the end
of the app's lifespan) is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from shared.health import LIVENESS, Liveness

log = logging.getLogger(__name__)
T = TypeVar("T")
REASON_CHARS = 500  # of an exception's text in the health report


class TaskDied(Exception):
    """A supervised task ended while its service was not asked to stop (already logged)."""

    def __init__(self, task_name: str, reason: str) -> None:
        super().__init__(reason)
        self.task_name = task_name


class Supervisor:
    """Watches tasks; ``stop`` is the service's stop event (None: no service to stop)."""

    def __init__(self, stop: asyncio.Event | None = None, *, liveness: Liveness = LIVENESS) -> None:
        self.stop = stop
        self.liveness = liveness
        self.failures: list[TaskDied] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._until: dict[asyncio.Task[Any], asyncio.Event] = {}

    def spawn(
        self, name: str, coro: Coroutine[Any, Any, T], *, until: asyncio.Event | None = None
    ) -> asyncio.Task[T]:
        """Run ``coro`` as the task ``name``, which must not end before the service stops
        (or before ``until`` is set, when its owner stops it on its own)."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        if until is not None:
            self._until[task] = until
        task.add_done_callback(self._ended)
        return task

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def fail(self, name: str, reason: str, exc: BaseException | None = None) -> None:
        """Log, turn health red for good, and stop the service."""
        log.error(reason, exc_info=exc, extra={"event": "task_died", "task": name})
        self.failures.append(TaskDied(name, reason))
        self.liveness.mark_unhealthy(reason)
        if self.stop is not None:
            self.stop.set()

    async def wait(self) -> None:
        """Until the service is asked to stop; raises :class:`TaskDied` if a task died."""
        if self.stop is None:
            raise RuntimeError("a supervisor without a stop event has nothing to wait for")
        await self.stop.wait()
        if self.failures:
            raise self.failures[0]

    def cancel_all(self) -> list[asyncio.Task[Any]]:
        """Cancel every task still running; returns them (to wait for)."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        return tasks

    @contextlib.contextmanager
    def installed(self) -> Iterator[Supervisor]:
        """Make this the supervisor ``supervise()`` reports to, in tasks created within."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        until = self._until.pop(task, None)
        if task.cancelled():
            return
        name = task.get_name()
        exc = task.exception()
        if self.stopping or (until is not None and until.is_set()):
            if exc is not None:
                log.warning(
                    "%s ended with an error while stopping",
                    name,
                    exc_info=exc,
                    extra={"task": name},
                )
            return
        if exc is None:
            reason = f"{name} ended without the service being asked to stop"
        else:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            reason = f"{name} died: {text[:REASON_CHARS]}"
        self.fail(name, reason, exc)


_CURRENT: ContextVar[Supervisor | None] = ContextVar("supervisor", default=None)
_UNATTENDED = Supervisor()  # outside a service: log and turn health red, stop nothing


def current() -> Supervisor:
    """The running service's supervisor, or the one for code outside a service."""
    return _CURRENT.get() or _UNATTENDED


def supervise(
    name: str, coro: Coroutine[Any, Any, T], *, until: asyncio.Event | None = None
) -> asyncio.Task[T]:
    """``current().spawn(name, coro, until=until)``: a task whose death stops the service."""
    return current().spawn(name, coro, until=until)
