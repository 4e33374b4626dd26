"""The limits of one quota key: a token bucket plus optional rolling-window caps.

Pure arithmetic: every method takes ``now`` (seconds on the caller's clock), so tests drive
it with a fake clock and the service with its own. Rates here are tokens per second of
that clock, i.e. Amazon's rate already multiplied by the time scale.

The one rule everything here keeps: never report a token as available before it exists.
Where exactness would cost memory (the rolling hour), the approximation errs late.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Float slack when comparing token counts. Without it a timer that wakes exactly at the
# computed refill instant can see 0.9999999999 tokens and sleep again for nothing.
EPSILON = 1e-9

NEVER = math.inf


@dataclass(slots=True)
class TokenBucket:
    """Amazon's model: ``burst`` tokens at most, ``rate_per_s`` restored continuously."""

    burst: int
    rate_per_s: float
    tokens: float
    updated_at: float
    # After a 429 Amazon's own bucket is empty: nothing is granted before this instant,
    # even if tokens come back early (e.g. a release).
    hold_until: float = 0.0
    # Amazon starts refilling a full bucket when our first call *reaches* it, some time
    # after we granted it; if a later call is quicker than the first, granting on our own
    # schedule would be early by the difference. So a full bucket that gives a token
    # starts refilling this much later. A phase shift, not a rate change: it costs at most
    # this long's worth of tokens each time the bucket was full.
    refill_delay_s: float = 0.0

    @classmethod
    def full(
        cls, burst: int, rate_per_s: float, now: float, refill_delay_s: float = 0.0
    ) -> TokenBucket:
        return cls(
            burst=burst,
            rate_per_s=rate_per_s,
            tokens=float(burst),
            updated_at=now,
            refill_delay_s=refill_delay_s,
        )

    def refill(self, now: float) -> None:
        # A clock that went backwards restores nothing: time we cannot account for is
        # never turned into tokens.
        if now > self.updated_at:
            gained = (now - self.updated_at) * self.rate_per_s
            self.tokens = min(float(self.burst), self.tokens + gained)
            self.updated_at = now

    def available(self, now: float) -> float:
        self.refill(now)
        return self.tokens

    def ready_at(self, cost: int, now: float) -> float:
        """The earliest instant ``cost`` tokens can be taken (``now`` if already)."""
        if cost > self.burst:
            return NEVER
        self.refill(now)
        missing = cost - self.tokens
        if missing <= EPSILON:
            at = now
        elif self.rate_per_s <= 0:
            return NEVER
        else:
            # updated_at lies ahead while a refill delay runs
            at = max(now, self.updated_at) + missing / self.rate_per_s
        return max(at, self.hold_until)

    def take(self, cost: int, now: float) -> None:
        if self.ready_at(cost, now) > now:
            raise ValueError(f"{cost} token(s) are not available yet")
        was_full = self.tokens >= self.burst - EPSILON
        # Slack may leave a hair below zero; never let it become a debt or a credit.
        self.tokens = max(0.0, self.tokens - cost)
        if was_full and self.refill_delay_s > 0:
            self.updated_at = max(self.updated_at, now + self.refill_delay_s)

    def give_back(self, cost: int, now: float) -> None:
        self.refill(now)
        self.tokens = min(float(self.burst), self.tokens + cost)

    def drain(self, now: float, hold_s: float) -> None:
        """Amazon said 429: its bucket is empty now, so is ours, for at least ``hold_s``."""
        self.refill(now)
        self.tokens = 0.0
        self.hold_until = max(self.hold_until, now + hold_s)

    def set_rate(self, rate_per_s: float, now: float) -> None:
        self.refill(now)  # tokens earned so far were earned at the old rate
        self.rate_per_s = rate_per_s

    def resize(self, burst: int, now: float) -> None:
        """A configuration change: keep what is there, never more than the new burst."""
        self.refill(now)
        self.burst = burst
        self.tokens = min(self.tokens, float(burst))


# Caps up to this many grants per window keep one timestamp per grant (exact); larger
# ones count in sixtieths of the window. A slot makes a grant count up to one slot longer,
# which on "30 per hour" would lose a feed an hour.
EXACT_CAP_MAX = 600


@dataclass(slots=True)
class RollingCap:
    """At most ``cap`` tokens in any window of ``window_s`` ("N per hour", "5 per 5
    minutes").

    Small caps count each grant at its instant; large ones in slots of ``slot_s`` (a
    sixtieth of the window), so 18,000 grants an hour cost 60 numbers, not 18,000
    timestamps. A grant counts until one window (plus ``margin_s``) after the *end* of its
    slot: never shorter than Amazon counts it. ``margin_s`` covers a call that reaches
    Amazon later after its grant than an earlier call did, for a cap Amazon enforces.
    """

    cap: int
    window_s: float
    slot_s: float
    margin_s: float = 0.0
    slots: list[tuple[float, int]] = field(default_factory=list)  # (slot start, count), ascending

    @classmethod
    def over(cls, cap: int, window_s: float, margin_s: float = 0.0) -> RollingCap:
        slot_s = 0.0 if cap <= EXACT_CAP_MAX else window_s / 60
        return cls(cap=cap, window_s=window_s, slot_s=slot_s, margin_s=margin_s)

    @classmethod
    def hourly(cls, cap: int, hour_s: float) -> RollingCap:
        return cls.over(cap, hour_s)

    def _expires_at(self, slot_start: float) -> float:
        return slot_start + self.slot_s + self.window_s + self.margin_s

    def _expire(self, now: float) -> None:
        while self.slots and self._expires_at(self.slots[0][0]) <= now:
            self.slots.pop(0)

    def used(self, now: float) -> int:
        self._expire(now)
        return sum(count for _, count in self.slots)

    def ready_at(self, cost: int, now: float) -> float:
        if cost > self.cap:
            return NEVER
        excess = self.used(now) + cost - self.cap
        if excess <= 0:
            return now
        for start, count in self.slots:
            excess -= count
            if excess <= 0:
                return self._expires_at(start)
        return NEVER  # unreachable: the slots hold more than the excess

    def record(self, cost: int, now: float) -> None:
        self._expire(now)
        start = math.floor(now / self.slot_s) * self.slot_s if self.slot_s else now
        if self.slots and self.slots[-1][0] >= start:
            # Same slot (or a clock step backwards): count it in the newest slot, which
            # expires no earlier than the slot this grant belongs to.
            last_start, count = self.slots[-1]
            self.slots[-1] = (last_start, count + cost)
        else:
            self.slots.append((start, cost))


@dataclass(slots=True)
class Limiter:
    """Everything that limits one quota key; a grant needs all of it."""

    bucket: TokenBucket
    cap: RollingCap | None = None  # the hourly cap
    window: RollingCap | None = None  # a shorter window Amazon enforces (e.g. 5 per 5 min)

    def _caps(self) -> list[RollingCap]:
        return [c for c in (self.cap, self.window) if c is not None]

    def ready_at(self, cost: int, now: float) -> float:
        at = self.bucket.ready_at(cost, now)
        for cap in self._caps():
            at = max(at, cap.ready_at(cost, now))
        return at

    def take(self, cost: int, now: float) -> None:
        if self.ready_at(cost, now) > now:
            raise ValueError(f"{cost} token(s) are not available yet")
        self.bucket.take(cost, now)
        for cap in self._caps():
            cap.record(cost, now)

    def give_back(self, cost: int, now: float) -> None:
        # The rolling caps keep counting a released token: Amazon never saw the call, but
        # un-counting it would need to know its slot, and erring late is always safe.
        self.bucket.give_back(cost, now)
