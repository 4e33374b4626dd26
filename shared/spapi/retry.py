"""Bounded retries with jittered exponential backoff, for 5xx, timeouts and lost connections:
between SP-API tries, each on a fresh quota token (shared/metered.py), and inside LWA
token requests and presigned document transfers, which are not SP-API quota.

Never used for 429: a throttled call goes back to the throttle service, which knows when
the bucket refills; sleeping here would only hide the quota from it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 4  # attempts in all, the first included
    base_delay_s: float = 0.5  # ceiling of the first backoff; doubles with every retry
    max_delay_s: float = 30.0
    # Share of each delay that is random. 1.0 is "full jitter": many workers that failed
    # together (an Amazon hiccup) come back spread out instead of in one burst.
    jitter: float = 1.0
    sleep: Sleep = field(default=asyncio.sleep, repr=False)  # injected by tests
    random: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (retry_number - 1))
        fixed = ceiling * (1.0 - self.jitter)
        return fixed + ceiling * self.jitter * self.random()

    async def backoff(self, retry_number: int) -> None:
        await self.sleep(self.delay(retry_number))

    async def again_or_raise(
        self, failures: int, error: Exception, cause: BaseException | None = None
    ) -> None:
        """After ``failures`` failed attempts: the backoff before the next one, or
        ``error`` (raised from ``cause``) when every attempt is spent."""
        if failures >= self.max_attempts:
            raise error from cause
        await self.backoff(failures)
