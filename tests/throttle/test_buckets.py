"""Token bucket and rolling-hour cap on a fake clock: never a token before it exists."""

from __future__ import annotations

import pytest

from services.throttle.buckets import NEVER, Limiter, RollingCap, TokenBucket
from services.throttle.keystate import KeyState
from services.throttle.quota_specs import KeyConfig
from shared.quotas import DEFAULT_QUOTAS, QuotaClass
from shared.throttle.messages import QuotaKey


def test_a_new_bucket_holds_its_burst_and_refills_at_its_rate() -> None:
    bucket = TokenBucket.full(burst=15, rate_per_s=1 / 120, now=0.0)
    for _ in range(15):
        bucket.take(1, 0.0)
    assert bucket.ready_at(1, 0.0) == pytest.approx(120.0)
    with pytest.raises(ValueError):
        bucket.take(1, 119.9)
    bucket.take(1, 120.0)
    assert bucket.ready_at(1, 120.0) == pytest.approx(240.0)
    assert bucket.ready_at(2, 120.0) == pytest.approx(360.0)


def test_refill_stops_at_burst() -> None:
    bucket = TokenBucket.full(burst=3, rate_per_s=1.0, now=0.0)
    bucket.take(3, 0.0)
    assert bucket.available(1_000.0) == 3.0
    bucket.take(3, 1_000.0)
    assert bucket.ready_at(1, 1_000.0) == pytest.approx(1_001.0)


def test_grants_over_any_interval_never_exceed_burst_plus_rate_times_elapsed() -> None:
    burst, rate = 5, 2.0
    bucket = TokenBucket.full(burst, rate, now=0.0)
    now, granted = 0.0, 0
    while now < 50.0:
        at = bucket.ready_at(1, now)
        now = at
        bucket.take(1, now)
        granted += 1
        assert granted <= burst + rate * now + 1e-6
    assert granted >= burst + rate * 49.0  # and the bucket was used as fast as it allows


def test_a_clock_that_goes_backwards_creates_no_tokens() -> None:
    bucket = TokenBucket.full(burst=2, rate_per_s=1.0, now=100.0)
    bucket.take(2, 100.0)
    assert bucket.available(50.0) == 0.0
    assert bucket.ready_at(1, 100.5) == pytest.approx(101.0)


def test_drain_empties_and_holds_for_the_given_time_even_if_tokens_come_back() -> None:
    bucket = TokenBucket.full(burst=10, rate_per_s=0.5, now=0.0)
    bucket.drain(now=5.0, hold_s=2.0)
    assert bucket.available(5.0) == 0.0
    bucket.give_back(1, 5.0)  # a release during the hold
    assert bucket.ready_at(1, 5.0) == 7.0
    assert bucket.ready_at(2, 7.0) == pytest.approx(7.0)  # 1 released + 1 restored meanwhile


def test_rate_change_keeps_what_was_earned_at_the_old_rate() -> None:
    bucket = TokenBucket.full(burst=10, rate_per_s=1.0, now=0.0)
    bucket.take(10, 0.0)
    bucket.set_rate(0.1, now=2.0)  # 2 tokens earned at the old rate
    assert bucket.available(2.0) == pytest.approx(2.0)
    assert bucket.available(12.0) == pytest.approx(3.0)


def test_cost_above_burst_is_never_ready() -> None:
    bucket = TokenBucket.full(burst=3, rate_per_s=1.0, now=0.0)
    assert bucket.ready_at(4, 0.0) == NEVER
    assert TokenBucket.full(3, 0.0, 0.0).ready_at(1, 0.0) == 0.0
    empty = TokenBucket(burst=3, rate_per_s=0.0, tokens=0.0, updated_at=0.0)
    assert empty.ready_at(1, 0.0) == NEVER


def test_resize_never_adds_tokens() -> None:
    bucket = TokenBucket.full(burst=10, rate_per_s=1.0, now=0.0)
    bucket.take(8, 0.0)
    bucket.resize(30, 0.0)
    assert bucket.available(0.0) == 2.0
    bucket.resize(1, 0.0)
    assert bucket.available(0.0) == 1.0


def test_a_small_rolling_cap_counts_each_grant_exactly_an_hour() -> None:
    """30 feeds an hour: counted to the second, or a feed an hour would be lost."""
    cap = RollingCap.hourly(cap=30, hour_s=3600.0)
    for i in range(30):
        assert cap.ready_at(1, i * 60.0 + 7) == i * 60.0 + 7
        cap.record(1, i * 60.0 + 7)  # one a minute for the first half hour
    assert cap.used(1799.0) == 30
    assert cap.ready_at(1, 1800.0) == 3607.0  # the first grant leaves the window
    assert cap.ready_at(3, 1800.0) == 3727.0
    assert cap.used(3667.0) == 28
    assert cap.ready_at(31, 0.0) == NEVER


def test_a_window_amazon_enforces_counts_each_grant_a_margin_longer() -> None:
    """5 per 5 minutes: the sixth only once the first has left Amazon's window too, even
    if it reached Amazon up to the margin after its grant."""
    window = RollingCap.over(5, 300.0, margin_s=2.0)
    for i in range(5):
        window.record(1, float(i))
    assert window.ready_at(1, 10.0) == 302.0
    assert window.ready_at(2, 10.0) == 303.0
    assert window.used(302.0) == 4


def test_a_large_rolling_cap_counts_in_slots_and_frees_late_never_early() -> None:
    cap = RollingCap.hourly(cap=1200, hour_s=3600.0)  # slots of a minute
    for i in range(1200):
        cap.record(1, i * 1.5)  # forty per minute for the first half hour
    assert cap.used(1799.0) == 1200
    # The first grants were in the slot [0, 60): Amazon forgets them from 3600 on, we at 3660.
    assert cap.ready_at(1, 1800.0) == 3660.0
    assert cap.used(3660.0) == 1160


def test_rolling_cap_keeps_few_numbers_for_many_grants() -> None:
    cap = RollingCap.hourly(cap=18_000, hour_s=3600.0)
    for i in range(18_000):
        cap.record(1, i * 0.2)
    assert len(cap.slots) == 60
    assert cap.used(3599.0) == 18_000
    assert cap.ready_at(1, 3599.0) == 3660.0


def test_limiter_needs_both_the_bucket_and_the_cap() -> None:
    # report_request: 15 burst, 1 per minute, 60 per hour
    limiter = Limiter(TokenBucket.full(15, 1 / 60, 0.0), RollingCap.hourly(60, 3600.0))
    now, granted = 0.0, []
    while now < 2 * 3600:
        now = limiter.ready_at(1, now)
        limiter.take(1, now)
        granted.append(now)
    # The bucket alone would allow 15 + 60 in the first hour; the cap keeps it to 60.
    first_hour = [t for t in granted if t < 3600]
    assert len(first_hour) == 60
    for i, t in enumerate(granted):
        window = [g for g in granted[: i + 1] if g > t - 3600]
        assert len(window) <= 60
    while limiter.ready_at(1, now) == now:
        limiter.take(1, now)
    with pytest.raises(ValueError):
        limiter.take(1, now)


def test_feed_submissions_by_default_use_the_seeds_30_an_hour_to_the_last_one() -> None:
    """createFeed's defaults over six Amazon hours, granted as soon as allowed: exactly
    the 180 the seed's cap allows, never 6 in 5 minutes (JSON_LISTINGS_FEED), never more
    than Amazon's own bucket (15, 0.0083/s) holds."""
    spec = DEFAULT_QUOTAS[QuotaClass.FEED_SUBMIT]
    key = QuotaKey(seller_id="A1SELLER", region="EU", quota_class=QuotaClass.FEED_SUBMIT)
    limiter = KeyState.new(key, 0, KeyConfig(spec), 0.0).limiter
    now, granted = 0.0, []
    while True:
        now = limiter.ready_at(1, now)
        if now >= 6 * 3600:
            break
        limiter.take(1, now)
        granted.append(now)
    assert len(granted) == 180
    for i, t in enumerate(granted):
        assert sum(1 for g in granted[: i + 1] if g > t - 3600) <= 30
        assert sum(1 for g in granted[: i + 1] if g > t - 300) <= 5
        assert i + 1 <= 15 + t * 0.0083 + 1e-9


def test_a_full_bucket_that_gives_a_token_starts_refilling_after_the_delay() -> None:
    # Amazon's refill starts when the first call arrives; ours waits as long as that may be.
    bucket = TokenBucket.full(burst=2, rate_per_s=1.0, now=0.0, refill_delay_s=0.25)
    bucket.take(1, 0.0)
    assert bucket.available(0.2) == 1.0
    bucket.take(1, 0.2)  # not full any more: no new delay
    assert bucket.ready_at(1, 0.2) == pytest.approx(1.25)
    assert bucket.ready_at(2, 0.2) == pytest.approx(2.25)
    bucket.take(1, 1.25)
    assert bucket.ready_at(1, 1.25) == pytest.approx(2.25)  # a phase shift, same rate
    assert bucket.available(100.0) == 2.0
    bucket.take(2, 100.0)  # full again: the delay applies again
    assert bucket.ready_at(1, 100.0) == pytest.approx(101.25)
