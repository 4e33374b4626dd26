"""What the throttle keeps in its changelog-backed tables: one record per quota key and
one per request. Plain data; :mod:`services.throttle.keystate` decides what they say.

Times are seconds on the service clock (wall-clock based, see ``clock.py``), because they
must mean the same thing to the next process that restores them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.jobs import JobType
from shared.throttle.messages import QuotaKey


class RequestState(StrEnum):
    QUEUED = "queued"  # waiting for a token
    GRANTED = "granted"  # a token was taken for it; repeats of the request get the same grant
    RELEASED = "released"  # granted, then given back unused; asking again queues anew
    CANCELLED = "cancelled"  # withdrawn while queued; asking again restores its place


class RequestRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    quota_key: QuotaKey
    partition: int  # of the requests topic, which is also the changelog partition
    request_id: str
    shop_id: str
    job_id: str
    job_type: JobType
    priority: int  # base priority, before ageing
    cost: int = Field(ge=1)
    reply_to: str
    seq: int  # arrival order within the key: the Kafka offset of the first request
    enqueued_at: float
    state: RequestState = RequestState.QUEUED
    changed_at: float  # last change of state; what "remember for 24 h" counts from
    granted_at: float | None = None
    grant_seq: int | None = None

    @property
    def store_key(self) -> str:
        return request_store_key(self.quota_key, self.request_id)


class KeyRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    quota_key: QuotaKey
    partition: int
    tokens: float
    updated_at: float
    hold_until: float = 0.0
    # The rate Amazon announced in x-amzn-RateLimit-Limit (per Amazon second), if any;
    # it wins over the configured rate.
    observed_rate_per_s: float | None = None
    cap_slots: list[tuple[float, int]] = Field(default_factory=list)  # the hourly cap's
    window_slots: list[tuple[float, int]] = Field(default_factory=list)  # a shorter window's
    virtual_time: float = 0.0
    finish: dict[str, float] = Field(default_factory=dict)
    grant_seq: int = 0  # grants ever made for this key

    @property
    def store_key(self) -> str:
        return str(self.quota_key)


def request_store_key(quota_key: QuotaKey, request_id: str) -> str:
    # Request ids are chosen by requesters; scoping them by key keeps two keys' ids apart.
    return f"{quota_key}#{request_id}"
