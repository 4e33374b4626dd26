"""Health of a worker process: liveness that sees progress, readiness, and the tiny HTTP
endpoint that reports both (``/healthz``, ``/readyz``) plus ``/metrics`` for Prometheus.

Liveness is progress, not a process (docs/design.md §17). Each long-lived loop takes a
:class:`Heartbeat` from the process's :data:`LIVENESS` and calls ``beat()`` whenever it
shows progress (a consumer loop: once per poll)::

    heartbeat = LIVENESS.heartbeat("submitter consumer")
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=200)
        heartbeat.beat()  # or heartbeat(): a Heartbeat is a Callable[[], None]
        ...

``/healthz`` answers 503, naming the loop and how long it has been silent, once any
registered loop has not beaten for ``LIVENESS_STALL_S`` (a handler that never returns),
or once something marked the process unhealthy (a supervised task died); 200 otherwise.
A loop is watched from its first beat. Under ``run_service`` a stalled loop also ends the
process (exit 1), for runners that do not probe ``/healthz`` (``make up``, compose).

Readiness says whether the process does its work yet (e.g. its partitions are restored):
``READINESS.require("partitions restored", lambda: ...)``. ``/readyz`` answers 200 when
the process is alive and every check passes, 503 (naming what is not ready) before.

Workers have no web framework: the standard library's HTTP server serves the three paths,
on a thread of its own so that a busy event loop does not delay the probes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger(__name__)

Clock = Callable[[], float]
DEFAULT_STALL_S = 60.0  # shared/settings.py LIVENESS_STALL_S sets the process's own


@dataclass(eq=False)
class Heartbeat:
    """One loop's sign of life; ``beat()`` costs a clock read, call it as often as you like.

    Calling the heartbeat itself beats too, so it serves wherever a plain
    ``Callable[[], None]`` is expected (``ConsumerLoop(heartbeat=...)``)."""

    name: str
    _liveness: Liveness
    stall_s: float | None = None  # None: the registry's limit
    # None until the first beat: start-up (topics read, a group joined) is the startup
    # probe's business, so the stall clock starts when the loop does.
    last: float | None = field(default=None)

    def beat(self) -> None:
        self.last = self._liveness.clock()

    __call__ = beat

    def close(self) -> None:
        """The loop ended on purpose: it no longer counts."""
        self._liveness.forget(self)


class Liveness:
    """Registered loops and their last beats, and reasons the process is unhealthy."""

    def __init__(self, stall_s: float = DEFAULT_STALL_S, clock: Clock = time.monotonic) -> None:
        self.stall_s = stall_s
        self.clock = clock
        self._beats: dict[str, Heartbeat] = {}
        self._unhealthy: list[str] = []

    def configure(self, *, stall_s: float) -> None:
        self.stall_s = stall_s

    def heartbeat(self, name: str, *, stall_s: float | None = None) -> Heartbeat:
        """A heartbeat for the loop ``name``, watched from its first beat on.

        A second heartbeat of the same name replaces the first (a loop built again)."""
        heartbeat = Heartbeat(name, self, stall_s)
        self._beats[name] = heartbeat
        return heartbeat

    def forget(self, heartbeat: Heartbeat) -> None:
        if self._beats.get(heartbeat.name) is heartbeat:
            del self._beats[heartbeat.name]

    def mark_unhealthy(self, reason: str) -> None:
        """For good: a process that lost a part of itself is restarted, not repaired."""
        if reason not in self._unhealthy:
            self._unhealthy.append(reason)

    def _limit(self, heartbeat: Heartbeat) -> float:
        return heartbeat.stall_s if heartbeat.stall_s is not None else self.stall_s

    def stalled(self) -> dict[str, float]:
        """Loops silent for longer than their limit, with the seconds since their beat."""
        return {name: silent for name, (silent, _) in self._stalls().items()}

    def problems(self) -> list[str]:
        """Why the process is not alive, one sentence each; empty when it is."""
        found = list(self._unhealthy)
        for name, (silent, limit) in sorted(self._stalls().items()):
            found.append(f"{name} stalled: no progress for {silent:.0f} s (limit {limit:g} s)")
        return found

    def _stalls(self) -> dict[str, tuple[float, float]]:
        now = self.clock()
        found = {}
        for name, hb in list(self._beats.items()):  # copied: read from the probe thread
            if hb.last is not None and now - hb.last > self._limit(hb):
                found[name] = (now - hb.last, self._limit(hb))
        return found

    def since_beat(self) -> dict[str, float | None]:
        """Seconds since each registered loop last beat (None: not started yet)."""
        now = self.clock()
        return {
            name: None if hb.last is None else now - hb.last
            for name, hb in sorted(list(self._beats.items()))
        }


class Readiness:
    """Named checks that must all pass before the process counts as ready."""

    def __init__(self) -> None:
        self._checks: dict[str, Callable[[], bool]] = {}

    def require(self, name: str, check: Callable[[], bool]) -> None:
        """Ready only while ``check()`` is true (a second check of the same name replaces it)."""
        self._checks[name] = check

    def drop(self, name: str) -> None:
        self._checks.pop(name, None)

    def not_ready(self) -> list[str]:
        failing = []
        for name, check in list(self._checks.items()):  # copied: read from the probe thread
            try:
                ok = check()
            except Exception:  # a check that fails to answer says "not ready"
                log.exception("readiness check failed", extra={"check": name})
                ok = False
            if not ok:
                failing.append(name)
        return failing


# A worker's health endpoint answers before its consumer exists: this check keeps /readyz
# red in between, and the consumer drops it as it registers its own.
STARTING = "starting"

# The process's own: health belongs to the process, and every part of it (consumer loops,
# the service supervisor, the health endpoint) reaches these without plumbing.
LIVENESS = Liveness()
READINESS = Readiness()


class HealthServer:
    """``/healthz``, ``/readyz`` and ``/metrics``, served from a thread of their own.

    Not on the service's event loop: a loop busy for seconds (a restore folding a long
    partition, a large batch) would answer probes late and get a healthy process
    restarted. Liveness still sees a loop that stopped making progress: its heartbeat
    goes silent. The checks only read state the loop writes (under the GIL)."""

    def __init__(
        self,
        port: int,
        is_alive: Callable[[], bool] = lambda: True,
        *,
        liveness: Liveness = LIVENESS,
        readiness: Readiness = READINESS,
    ) -> None:
        self.port = port
        self.is_alive = is_alive  # the service's own verdict, besides the registry's
        self.liveness = liveness
        self.readiness = readiness
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> int:
        self._server = ThreadingHTTPServer(("0.0.0.0", self.port), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health endpoint", daemon=True
        )
        self._thread.start()
        return self.port

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.shutdown)
            server.server_close()

    def answer(self, path: str) -> tuple[int, str, bytes]:
        """Status, content type and body for ``path``."""
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest()
        if path in ("/healthz", "/readyz"):
            ok, report = self.health() if path == "/healthz" else self.ready()
            return (200 if ok else 503), "application/json", json.dumps(report).encode()
        return 404, "text/plain", b"not found"

    def problems(self) -> list[str]:
        found = [] if self.is_alive() else ["the service marked itself unhealthy"]
        return found + self.liveness.problems()

    def health(self) -> tuple[bool, dict[str, object]]:
        """``/healthz``: alive, or what is wrong."""
        problems = self.problems()
        return not problems, {
            "status": "down" if problems else "ok",
            "problems": problems,
            "loops": {
                name: None if seconds is None else round(seconds, 1)
                for name, seconds in self.liveness.since_beat().items()
            },
        }

    def ready(self) -> tuple[bool, dict[str, object]]:
        """``/readyz``: alive and every readiness check passing."""
        problems = self.problems()
        waiting = self.readiness.not_ready()
        ok = not problems and not waiting
        return ok, {
            "status": "ready" if ok else "not ready",
            "waiting_for": waiting,
            "problems": problems,
        }


def _handler_for(server: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, ctype, body = server.answer(self.path.split("?", 1)[0])
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None  # a probe every few seconds is not news

    return Handler
