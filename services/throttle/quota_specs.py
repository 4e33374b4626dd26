"""Which bucket each quota key gets: class defaults, per-account overrides, the time scale,
and the benchmark switch that lifts every quota."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from shared.quotas import DEFAULT_QUOTAS, QuotaClass, QuotaSpec
from shared.throttle.messages import QuotaKey

HOUR_S = 3600.0

# What "lifted" means: far more than any benchmark can ask for, still finite so that the
# arithmetic stays ordinary floats.
LIFTED = QuotaSpec(burst=1_000_000_000, rate_per_s=1e9, hourly_cap=None)


class QuotaOverride(BaseModel):
    """One entry of ``THROTTLE_QUOTA_OVERRIDES``; fields left out keep the class default,
    ``"hourly_cap": null`` (``"window_cap": null``) removes that cap."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    burst: int | None = Field(default=None, ge=1)
    rate_per_s: float | None = Field(default=None, gt=0)
    hourly_cap: int | None = Field(default=None, ge=1)
    window_cap: int | None = Field(default=None, ge=1)
    window_s: float | None = Field(default=None, gt=0)

    def apply(self, spec: QuotaSpec) -> QuotaSpec:
        given = self.model_fields_set
        return QuotaSpec(
            burst=self.burst if self.burst is not None else spec.burst,
            rate_per_s=self.rate_per_s if self.rate_per_s is not None else spec.rate_per_s,
            hourly_cap=self.hourly_cap if "hourly_cap" in given else spec.hourly_cap,
            window_cap=self.window_cap if "window_cap" in given else spec.window_cap,
            window_s=self.window_s if self.window_s is not None else spec.window_s,
        )


# seller id (or "*" for every seller) -> quota class -> override
QuotaOverrides = dict[str, dict[QuotaClass, QuotaOverride]]


@dataclass(frozen=True, slots=True)
class KeyConfig:
    """How one key is limited, in Amazon time, and how Amazon time maps to the clock."""

    spec: QuotaSpec
    time_scale: float = 1.0
    ageing_step_s: float = 30.0  # Amazon seconds of waiting per +1 priority
    # Real seconds a call may take from its grant to Amazon, more than the first call of
    # a full bucket took (see TokenBucket.refill_delay_s); capped at one restore interval.
    latency_margin_s: float = 0.0

    def clock_rate(self, amazon_rate_per_s: float) -> float:
        return amazon_rate_per_s * self.time_scale

    def amazon_rate(self, clock_rate_per_s: float) -> float:
        return clock_rate_per_s / self.time_scale

    def refill_delay_s(self, amazon_rate_per_s: float) -> float:
        clock_rate = self.clock_rate(amazon_rate_per_s)
        if clock_rate <= 0:
            return 0.0
        return min(self.latency_margin_s, 1.0 / clock_rate)

    @property
    def ageing_step_clock_s(self) -> float:
        return self.ageing_step_s / self.time_scale

    @property
    def hour_clock_s(self) -> float:
        return HOUR_S / self.time_scale


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    overrides: QuotaOverrides
    time_scale: float = 1.0
    ageing_step_s: float = 30.0
    lifted: bool = False
    latency_margin_s: float = 0.0

    def spec_for(self, key: QuotaKey) -> QuotaSpec:
        if self.lifted:
            return LIFTED
        spec = DEFAULT_QUOTAS[key.quota_class]
        for seller in ("*", key.seller_id):  # the seller's own entry wins
            override = self.overrides.get(seller, {}).get(key.quota_class)
            if override is not None:
                spec = override.apply(spec)
        return spec

    def config_for(self, key: QuotaKey) -> KeyConfig:
        return KeyConfig(
            self.spec_for(key), self.time_scale, self.ageing_step_s, self.latency_margin_s
        )
