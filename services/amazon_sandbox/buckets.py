"""Amazon's limits as state: a token bucket per (seller, operation) and a rolling window
per (seller, limit name), and the rule that a call needs room in all of them at once.

Pure logic: every method takes the current instant, so tests drive it with a fake clock.
A request takes one token; tokens come back continuously at the restore rate up to the
burst size. A rolling window admits at most ``max_calls`` grants in any ``window_s``.
A refused call takes nothing from any of its limits, as a 429 takes no token at Amazon.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.amazon_sandbox.limits import RollingLimit, UsagePlan

# Refilling adds rate * elapsed in floating point; 120 s at 1/120 per s can come out a hair
# under 1.0, which would make a token due now look one restore period late.
_EPSILON = 1e-9


@dataclass
class TokenBucket:
    """One bucket. ``plan`` is in the same seconds as the instants passed in."""

    plan: UsagePlan
    updated: float
    tokens: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.plan.burst)

    def has_room(self, now: float) -> bool:
        return self.available(now) + _EPSILON >= 1.0

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens = max(0.0, self.tokens - 1.0)

    def try_take(self, now: float) -> bool:
        if not self.has_room(now):
            return False
        self.take(now)
        return True

    def available(self, now: float) -> float:
        """Tokens in the bucket now (fractional)."""
        self._refill(now)
        return self.tokens

    def _refill(self, now: float) -> None:
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(float(self.plan.burst), self.tokens + elapsed * self.plan.rate_per_s)
            self.updated = now


@dataclass
class RollingWindow:
    """Grants of the last ``limit.window_s`` seconds, oldest first."""

    limit: RollingLimit
    _grants: deque[float] = field(init=False, default_factory=deque)

    def has_room(self, now: float) -> bool:
        # A grant exactly one window old no longer counts: 5 per 300 s admits a 6th at 300.
        horizon = now - self.limit.window_s
        while self._grants and self._grants[0] <= horizon:
            self._grants.popleft()
        return len(self._grants) < self.limit.max_calls

    def take(self, now: float) -> None:
        self._grants.append(now)

    def try_take(self, now: float) -> bool:
        if not self.has_room(now):
            return False
        self.take(now)
        return True


class Limiters:
    """All buckets and windows of the sandbox, created on first use with the limits the
    caller resolved (a seller's override or Amazon's default, already time-scaled)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._windows: dict[tuple[str, str], RollingWindow] = {}

    def admit(
        self,
        seller_id: str,
        operation: str,
        plan: UsagePlan,
        windows: Sequence[tuple[str, RollingLimit]],
        now: float,
    ) -> str | None:
        """Take a token from the operation's bucket and a place in each named window, all
        or none. Returns None when the call is admitted, else the name of the limit that
        refused it (the operation's id for its bucket)."""
        bucket = self._bucket(seller_id, operation, plan, now)
        if not bucket.has_room(now):
            return operation
        held = [(name, self._window(seller_id, name, limit)) for name, limit in windows]
        for name, window in held:
            if not window.has_room(now):
                return name
        bucket.take(now)
        for _, window in held:
            window.take(now)
        return None

    def _bucket(self, seller_id: str, operation: str, plan: UsagePlan, now: float) -> TokenBucket:
        key = (seller_id, operation)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.plan != plan:
            # A new seller, or one re-registered with other quotas: start from a full bucket.
            bucket = TokenBucket(plan, now)
            self._buckets[key] = bucket
        return bucket

    def _window(self, seller_id: str, name: str, limit: RollingLimit) -> RollingWindow:
        key = (seller_id, name)
        window = self._windows.get(key)
        if window is None or window.limit != limit:
            window = RollingWindow(limit)
            self._windows[key] = window
        return window

    def forget_seller(self, seller_id: str) -> None:
        self._buckets = {k: v for k, v in self._buckets.items() if k[0] != seller_id}
        self._windows = {k: v for k, v in self._windows.items() if k[0] != seller_id}

    def clear(self) -> None:
        self._buckets.clear()
        self._windows.clear()
