"""Token buckets on a fake clock: burst, restore rate, hourly cap, scaling."""

from __future__ import annotations

from services.amazon_sandbox.buckets import BucketRegistry, TokenBucket
from services.amazon_sandbox.clock import ManualClock
from services.amazon_sandbox.operations import OPERATIONS
from shared.quotas import QuotaSpec, operation_quota


def test_burst_then_one_token_per_restore_period() -> None:
    bucket = TokenBucket(operation_quota("createFeed"), updated=0.0)  # 15, 1 per 120 s
    assert all(bucket.try_take(0.0) for _ in range(15))
    assert not bucket.try_take(0.0)
    assert not bucket.try_take(119.0)
    assert bucket.try_take(120.0)  # exactly one restore period later
    assert not bucket.try_take(120.0)
    assert bucket.try_take(240.0)


def test_tokens_never_exceed_burst() -> None:
    bucket = TokenBucket(QuotaSpec(2, 1.0), updated=0.0)
    assert bucket.available(1_000.0) == 2.0
    assert bucket.try_take(1_000.0) and bucket.try_take(1_000.0)
    assert not bucket.try_take(1_000.0)


def test_hourly_cap_binds_before_the_bucket() -> None:
    # createReport: burst 15, 1 per 60 s, at most 60 per rolling hour. The bucket alone
    # would grant 15 + 59 in the first hour; the cap stops it at 60.
    bucket = TokenBucket(operation_quota("createReport"), updated=0.0)
    granted = [t for t in range(3600) if bucket.try_take(float(t))]
    assert len(granted) == 60
    assert bucket.available(3599.0) >= 1.0  # tokens are there, the cap says no
    assert not bucket.try_take(3599.0)
    # The first 15 grants were at t=0; the window drops them at t=3600.
    assert bucket.try_take(3600.0)


def test_hourly_cap_window_follows_the_time_scale() -> None:
    spec = QuotaSpec(5, 100.0, hourly_cap=5)
    bucket = TokenBucket(spec, updated=0.0, hour_s=60.0)  # an Amazon hour at scale 60
    assert all(bucket.try_take(0.0) for _ in range(5))
    assert not bucket.try_take(59.9)
    assert bucket.try_take(60.0)


def test_scaled_quota_restores_time_scale_times_faster() -> None:
    clock = ManualClock(time_scale=60)
    registry = BucketRegistry(hour_s=clock.duration(3600))
    spec = clock.quota(operation_quota("createFeed"))  # 1 per 2 real seconds
    assert all(registry.try_take("S", "createFeed", spec, clock.now()) for _ in range(15))
    assert not registry.try_take("S", "createFeed", spec, clock.now())
    clock.advance(2.0)
    assert registry.try_take("S", "createFeed", spec, clock.now())
    assert not registry.try_take("S", "createFeed", spec, clock.now())


def test_registry_keys_by_seller_and_operation_and_restarts_on_new_spec() -> None:
    registry = BucketRegistry()
    one = QuotaSpec(1, 0.001)
    assert registry.try_take("A", "getFeed", one, 0.0)
    assert not registry.try_take("A", "getFeed", one, 0.0)
    assert registry.try_take("B", "getFeed", one, 0.0)  # another seller
    assert registry.try_take("A", "getFeeds", one, 0.0)  # another operation
    assert registry.try_take("A", "getFeed", QuotaSpec(5, 1.0), 0.0)  # quotas overridden


def test_every_served_operation_has_a_default_quota() -> None:
    for operation in OPERATIONS:
        spec = operation_quota(operation)
        assert spec.burst >= 1 and spec.rate_per_s > 0, operation
