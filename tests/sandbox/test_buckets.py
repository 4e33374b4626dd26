"""Amazon's limits on a fake clock: burst, restore rate, rolling windows, all-or-none."""

from __future__ import annotations

import pytest

from services.amazon_sandbox.buckets import Limiters, RollingWindow, TokenBucket
from services.amazon_sandbox.clock import ManualClock
from services.amazon_sandbox.limits import (
    JSON_LISTINGS_FEED,
    ROLLING_LIMITS,
    USAGE_PLANS,
    RollingLimit,
    UsagePlan,
)

LISTINGS_WINDOW = [(JSON_LISTINGS_FEED, ROLLING_LIMITS[JSON_LISTINGS_FEED])]


def test_burst_then_one_token_per_restore_period() -> None:
    bucket = TokenBucket(UsagePlan(1 / 120, 15), updated=0.0)
    assert all(bucket.try_take(0.0) for _ in range(15))
    assert not bucket.try_take(0.0)
    assert not bucket.try_take(119.0)
    assert bucket.try_take(120.0)  # exactly one restore period later
    assert not bucket.try_take(120.0)
    assert bucket.try_take(240.0)


def test_tokens_never_exceed_burst() -> None:
    bucket = TokenBucket(UsagePlan(1.0, 2), updated=0.0)
    assert bucket.available(1_000.0) == 2.0
    assert bucket.try_take(1_000.0) and bucket.try_take(1_000.0)
    assert not bucket.try_take(1_000.0)


def test_no_hourly_cap_a_full_hour_of_restores_is_granted() -> None:
    # createReport at Amazon: 15 at once, then 0.0167/s for the rest of the hour; the
    # project's own 60 per hour belongs to the throttle, not to Amazon.
    bucket = TokenBucket(USAGE_PLANS["createReport"], updated=0.0)
    granted = sum(bucket.try_take(float(t)) for t in range(3600))
    assert granted == 15 + 60  # 3599 s x 0.0167/s = 60.1 restored tokens


def test_rolling_window_admits_five_per_five_minutes() -> None:
    window = RollingWindow(RollingLimit(5, 300.0))
    for t in (0.0, 10.0, 20.0, 30.0, 40.0):
        assert window.try_take(t)
    assert not window.try_take(40.0)
    assert not window.try_take(299.9)  # the grant at 0 still counts
    assert window.try_take(300.0)  # one window after the first grant, it no longer does
    assert not window.try_take(305.0)
    assert window.try_take(310.0)  # the grant at 10 has left the window


def test_rolling_window_rolls_rather_than_resetting() -> None:
    window = RollingWindow(RollingLimit(5, 300.0))
    assert all(window.try_take(250.0) for _ in range(5))
    # A fixed five-minute slot would start afresh at 300; the rolling window waits for
    # the grants of 250 to be 300 s old.
    assert not window.try_take(300.0)
    assert not window.try_take(549.0)
    assert window.try_take(550.0)


def test_a_call_needs_room_in_every_limit_and_a_refusal_takes_nothing() -> None:
    limiters = Limiters()
    plan = USAGE_PLANS["createFeed"]  # burst 15
    for _ in range(5):
        assert limiters.admit("S", "createFeed", plan, LISTINGS_WINDOW, 0.0) is None
    # The window refuses the 6th listings feed although createFeed's bucket has 10 left...
    assert limiters.admit("S", "createFeed", plan, LISTINGS_WINDOW, 0.0) == JSON_LISTINGS_FEED
    # ...and the refusal took none of them: ten other feeds still go through.
    for _ in range(10):
        assert limiters.admit("S", "createFeed", plan, [], 0.0) is None
    assert limiters.admit("S", "createFeed", plan, [], 0.0) == "createFeed"


def test_a_call_the_bucket_refuses_takes_no_place_in_the_window() -> None:
    limiters = Limiters()
    plan = UsagePlan(1.0, 1)
    window = [(JSON_LISTINGS_FEED, RollingLimit(1, 300.0))]
    assert limiters.admit("S", "createFeed", plan, [], 0.0) is None  # the bucket is empty
    assert limiters.admit("S", "createFeed", plan, window, 0.0) == "createFeed"
    assert limiters.admit("S", "createFeed", plan, window, 1.0) is None  # the place was free
    assert limiters.admit("S", "createFeed", plan, window, 2.0) == JSON_LISTINGS_FEED


def test_limits_are_per_seller_and_operation_and_restart_on_new_limits() -> None:
    limiters = Limiters()
    one = UsagePlan(0.001, 1)
    assert limiters.admit("A", "getFeed", one, [], 0.0) is None
    assert limiters.admit("A", "getFeed", one, [], 0.0) == "getFeed"
    assert limiters.admit("B", "getFeed", one, [], 0.0) is None  # another seller
    assert limiters.admit("A", "getFeeds", one, [], 0.0) is None  # another operation
    assert limiters.admit("A", "getFeed", UsagePlan(1.0, 5), [], 0.0) is None  # overridden
    lifted = [(JSON_LISTINGS_FEED, RollingLimit(100, 300.0))]
    many = UsagePlan(1.0, 100)
    assert all(limiters.admit("A", "createFeed", many, lifted, 0.0) is None for _ in range(50))


def test_forgetting_a_seller_fills_its_limits_again() -> None:
    limiters = Limiters()
    plan = UsagePlan(0.001, 1)
    assert limiters.admit("A", "getFeed", plan, LISTINGS_WINDOW, 0.0) is None
    assert limiters.admit("B", "getFeed", plan, [], 0.0) is None
    limiters.forget_seller("A")
    assert limiters.admit("A", "getFeed", plan, LISTINGS_WINDOW, 0.0) is None
    assert limiters.admit("B", "getFeed", plan, [], 0.0) == "getFeed"


def test_time_scale_multiplies_rates_and_divides_windows() -> None:
    clock = ManualClock(time_scale=60)
    limiters = Limiters()
    plan = USAGE_PLANS["searchCatalogItems"].scaled(clock.time_scale)  # 2/s → 120/s
    window = [(JSON_LISTINGS_FEED, ROLLING_LIMITS[JSON_LISTINGS_FEED].scaled(60))]  # 5 s
    assert window[0][1].window_s == pytest.approx(5.0)
    assert limiters.admit("S", "searchCatalogItems", plan, [], clock.now()) is None
    assert limiters.admit("S", "searchCatalogItems", plan, [], clock.now()) is None
    assert limiters.admit("S", "searchCatalogItems", plan, [], clock.now()) is not None
    clock.advance(1 / 120)
    assert limiters.admit("S", "searchCatalogItems", plan, [], clock.now()) is None
    feeds = UsagePlan(1e6, 100)
    assert all(
        limiters.admit("S", "createFeed", feeds, window, clock.now()) is None for _ in range(5)
    )
    clock.advance(4.9)
    assert limiters.admit("S", "createFeed", feeds, window, clock.now()) is not None
    clock.advance(0.1)
    assert limiters.admit("S", "createFeed", feeds, window, clock.now()) is None
