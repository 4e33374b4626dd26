"""The service clock: wall-clock seconds that never jump while the process runs.

Bucket state outlives the process, so its times must mean the same to the next process:
that needs the wall clock. Within one process a step of the wall clock (NTP) must not
create tokens: so the wall clock is read once and monotonic time is added to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], float]


class ServiceClock:
    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def __call__(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)


def as_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
