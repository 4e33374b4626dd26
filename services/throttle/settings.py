"""Settings of the throttle service (``AMAZON_JOBS_*`` shared, ``THROTTLE_*`` its own)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.throttle.quota_specs import QuotaOverrides, QuotaPolicy
from shared.settings import ServiceSettings


class ThrottleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="THROTTLE_")

    # The faust app id: consumer group of the requests topic and prefix of the state topics.
    consumer_group: str = "amazon-jobs-throttle"
    # {"A2SELLER": {"feed_submit": {"burst": 30, "rate_per_s": 0.1, "hourly_cap": null}}}
    # by seller id; "*" applies to every seller (the seller's own entry wins).
    quota_overrides: QuotaOverrides = Field(default_factory=dict)
    # Benchmarks of other services: every bucket practically unlimited.
    quotas_lifted: bool = Field(default=False, validation_alias="THROTTLE_LIFT_QUOTAS")
    # Amazon seconds of waiting that raise a request's priority by one.
    ageing_step_s: float = Field(default=30.0, gt=0)
    # How long (Amazon time) and how many per key finished request ids are remembered, so
    # that a repeated request gets its grant again instead of a second token.
    grant_memory_s: float = Field(default=86_400.0, gt=0)
    grant_memory_max: int = Field(default=50_000, ge=1)
    # At most one BucketSnapshot per key per this many (real) seconds.
    snapshot_interval_s: float = Field(default=1.0, gt=0)
    # After a restart or rebalance, grants made this many (real) seconds before are sent
    # again: one of them may have been recorded but never published.
    resend_on_recovery_s: float = Field(default=60.0, ge=0)
    # Real seconds by which a call may reach Amazon later after its grant than the first
    # call of a full bucket did (feed upload, LWA refresh); see TokenBucket.refill_delay_s.
    latency_margin_s: float = Field(default=2.0, ge=0)
    # Where a consumer group without committed offsets starts. "earliest" (the default)
    # never skips a request sent before the first start; tests that start many throttles
    # on one broker use "latest" to skip the other tests' history.
    new_group_from: Literal["earliest", "latest"] = Field(default="earliest")
    # Consumer group liveness: how soon a dead instance's partitions move elsewhere.
    session_timeout_s: float = Field(default=10.0, ge=6.0)
    commit_interval_s: float = Field(default=1.0, gt=0)
    # faust's local directory (the in-memory store keeps nothing there of value).
    data_dir: str = Field(default="")

    def quota_book(self) -> QuotaPolicy:
        return QuotaPolicy(
            overrides=self.quota_overrides,
            time_scale=self.time_scale,
            ageing_step_s=self.ageing_step_s,
            lifted=self.quotas_lifted,
            latency_margin_s=self.latency_margin_s,
        )
