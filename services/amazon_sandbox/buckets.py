"""Token buckets as Amazon applies them: one per (seller, operation), with optional hourly cap.

Pure logic: every method takes the current instant, so tests drive it with a fake clock.
A request takes one token; tokens come back continuously at the restore rate up to the
burst size. Some quotas also cap the number of grants in any rolling hour, which a bucket
alone cannot express (a full bucket plus an hour of restores would exceed the cap).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from shared.quotas import QuotaSpec

# Refilling adds rate * elapsed in floating point; 120 s at 1/120 per s can come out a hair
# under 1.0, which would make a token due now look one restore period late.
_EPSILON = 1e-9


@dataclass
class TokenBucket:
    """One bucket. ``spec`` is in the same seconds as the instants passed in."""

    spec: QuotaSpec
    updated: float
    hour_s: float = 3600.0  # length of the rolling window of ``spec.hourly_cap``
    tokens: float = field(init=False)
    _grants: deque[float] = field(init=False, default_factory=deque)

    def __post_init__(self) -> None:
        self.tokens = float(self.spec.burst)

    def try_take(self, now: float) -> bool:
        """Take one token if the bucket and the hourly cap both allow it."""
        self._refill(now)
        if self.tokens + _EPSILON < 1.0:
            return False
        cap = self.spec.hourly_cap
        if cap is not None:
            self._forget_before(now - self.hour_s)
            if len(self._grants) >= cap:
                return False
            self._grants.append(now)
        self.tokens = max(0.0, self.tokens - 1.0)
        return True

    def available(self, now: float) -> float:
        """Tokens in the bucket now (fractional), ignoring the hourly cap."""
        self._refill(now)
        return self.tokens

    def _refill(self, now: float) -> None:
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(float(self.spec.burst), self.tokens + elapsed * self.spec.rate_per_s)
            self.updated = now

    def _forget_before(self, horizon: float) -> None:
        while self._grants and self._grants[0] <= horizon:
            self._grants.popleft()


class BucketRegistry:
    """All buckets of the sandbox, created on first use with the spec the caller resolved."""

    def __init__(self, hour_s: float = 3600.0) -> None:
        self.hour_s = hour_s
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def try_take(self, seller_id: str, operation: str, spec: QuotaSpec, now: float) -> bool:
        key = (seller_id, operation)
        bucket = self._buckets.get(key)
        if bucket is None or bucket.spec != spec:
            # A new seller, or one re-registered with other quotas: start from a full bucket.
            bucket = TokenBucket(spec, now, self.hour_s)
            self._buckets[key] = bucket
        return bucket.try_take(now)

    def forget_seller(self, seller_id: str) -> None:
        for key in [key for key in self._buckets if key[0] == seller_id]:
            del self._buckets[key]

    def clear(self) -> None:
        self._buckets.clear()
