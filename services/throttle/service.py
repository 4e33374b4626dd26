"""Wiring: the faust app, its agent and rebalance hooks, the engine, health and metrics."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from services.throttle.app import build_app, state_changelog
from services.throttle.clock import Clock, ServiceClock
from services.throttle.engine import EngineConfig, Incoming, ThrottleEngine
from services.throttle.settings import ThrottleSettings
from services.throttle.state_store import StateStore
from shared.health import READINESS, HealthServer
from shared.kafka.admin import ensure_topics
from shared.topics import ALL_TOPICS, THROTTLE_REQUESTS

log = logging.getLogger(__name__)


class ThrottleService:
    def __init__(self, settings: ThrottleSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        built = build_app(settings)
        self.app = built.app
        self.engine = ThrottleEngine(
            producer=self.app.producer,
            store=StateStore(self.app, built.state),
            book=settings.quota_book(),
            config=EngineConfig(
                group_id=settings.consumer_group,
                grant_memory_s=settings.grant_memory_s,
                grant_memory_max=settings.grant_memory_max,
                snapshot_interval_s=settings.snapshot_interval_s,
                resend_on_recovery_s=settings.resend_on_recovery_s,
            ),
            clock=clock or ServiceClock(),
        )
        engine = self.engine

        async def on_requests(stream: Any) -> None:
            async for event in stream.events():
                msg = event.message
                await engine.on_message(
                    Incoming(msg.partition, msg.offset, msg.timestamp, event.key, event.value)
                )

        self.app.agent(built.requests, name="throttle-requests")(on_requests)
        self.app.on_partitions_revoked.connect(self._on_revoked)
        self.app.on_rebalance_complete.connect(self._on_rebalance_complete)

    async def _on_revoked(self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked = args[0] if args else kwargs.get("revoked", ())
        await self.engine.on_partitions_revoked(_owned(revoked))

    async def _on_rebalance_complete(
        self, sender: Any, /, *args: Any, signal: Any, **kwargs: Any
    ) -> None:
        # Called by faust once the table is restored and before streams resume.
        await self.engine.on_partitions_ready(_owned(self.app.consumer.assignment()))

    async def start(self) -> None:
        await self.app.start()
        self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()
        await self.app.stop()

    @property
    def ready(self) -> bool:
        """Keys rebuilt for the assigned partitions and the consumer positioned on them."""
        recovery: Any = getattr(self.app.tables, "recovery", None)
        return bool(self.engine.active_partitions) and bool(
            recovery is not None and recovery.completed.is_set()
        )

    @property
    def alive(self) -> bool:
        return not self.engine.failed.is_set() and not self.app.crashed

    async def wait_failed(self) -> BaseException:
        """Until the engine or faust gives up; the reason."""
        crashed = asyncio.ensure_future(self.app._crashed.wait())
        failed = asyncio.ensure_future(self.engine.failed.wait())
        try:
            await asyncio.wait({crashed, failed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            crashed.cancel()
            failed.cancel()
        if self.engine.failure is not None:
            return self.engine.failure
        return self.app.crash_reason or RuntimeError("faust app crashed")


def _owned(tps: Any) -> set[int]:
    return {tp.partition for tp in tps if tp.topic == THROTTLE_REQUESTS.name}


async def run_throttle(
    stop: asyncio.Event, settings: ThrottleSettings | None = None, clock: Clock | None = None
) -> None:
    """The service until ``stop`` is set; raises if it fails (so the process exits non-zero)."""
    settings = settings or ThrottleSettings()
    # Refuses to start on topics that differ from their declaration (docs/design.md §16).
    await ensure_topics(
        settings.kafka_bootstrap_servers, [*ALL_TOPICS, state_changelog(settings)], settings
    )
    service = ThrottleService(settings, clock)
    health = HealthServer(settings.health_port, lambda: service.alive)
    READINESS.require("throttle partitions restored", lambda: service.ready)  # /readyz
    port = await health.start()
    failure: BaseException | None = None
    try:
        await service.start()
        log.info("throttle ready", extra={"event": "ready", "health_port": port})
        stopping = asyncio.ensure_future(stop.wait())
        failing = asyncio.ensure_future(service.wait_failed())
        done, _ = await asyncio.wait({stopping, failing}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        failing.cancel()
        if failing in done:
            failure = failing.result()
    finally:
        await service.stop()
        await health.stop()
    if failure is not None:
        raise RuntimeError("throttle failed") from failure
