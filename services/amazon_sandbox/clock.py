"""Sandbox time: real seconds, with every Amazon duration divided by the time scale.

All sandbox state keeps instants as monotonic seconds (immune to wall-clock jumps) and
turns them into wall-clock timestamps only for the API's ``createdTime`` and friends.
Amazon durations (processing time, token lifetime, restore rates) are written in Amazon
seconds and converted once, here, so ``--time-scale 60`` makes an Amazon hour last a minute.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class Clock:
    """The real clock, with a time scale."""

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.time_scale = time_scale
        # One anchor pairs the two clocks, so wall() of any monotonic instant is stable.
        self._mono_anchor = time.monotonic()
        self._wall_anchor = datetime.now(UTC)

    def now(self) -> float:
        """Monotonic seconds (real time)."""
        return time.monotonic()

    def wall(self, instant: float | None = None) -> datetime:
        """The UTC wall-clock time of a monotonic instant (default: now)."""
        at = self.now() if instant is None else instant
        return self._wall_anchor + timedelta(seconds=at - self._mono_anchor)

    def duration(self, amazon_seconds: float) -> float:
        """Real seconds that ``amazon_seconds`` of Amazon time last in the sandbox."""
        return amazon_seconds / self.time_scale


class ManualClock(Clock):
    """A clock that moves only when told to: for tests of time-dependent logic."""

    def __init__(self, time_scale: float = 1.0, start: float = 1000.0) -> None:
        super().__init__(time_scale)
        self._now = start
        self._mono_anchor = start
        self._wall_anchor = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def isoformat(moment: datetime) -> str:
    """Amazon's timestamp style: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """An ISO-8601 timestamp; naive ones are taken as UTC. Raises ValueError."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
