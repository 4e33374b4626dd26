"""Messages on the throttle's internal topics (``amazon.internal.throttle-*``).

Requests are idempotent by ``request_id``: a requester that restarts asks again with the
same id and gets the grant it was already given, never a second token.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.events import Event, event
from shared.jobs import JobType
from shared.quotas import QuotaClass
from shared.topics import quota_key


class QuotaKey(BaseModel):
    """(seller id, region, quota class): the unit Amazon limits. Every account, shop and
    marketplace of one selling partner shares it (docs/design.md §3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    seller_id: str
    region: str
    quota_class: QuotaClass

    def __str__(self) -> str:
        return quota_key(self.seller_id, self.region, self.quota_class.value)


@event
class TokenRequested(Event):
    event_type: Literal["TokenRequested"] = "TokenRequested"
    request_id: str  # stable per job and call, so a repeat is recognised
    quota_key: QuotaKey
    shop_id: str
    job_id: str
    job_type: JobType
    priority: int | None = None  # overrides the job type's base priority
    cost: int = Field(default=1, ge=1)
    reply_to: str  # the requester instance; grants are keyed by it


@event
class TokenCancelled(Event):
    """The requester no longer wants a queued request (e.g. its job was canceled)."""

    event_type: Literal["TokenCancelled"] = "TokenCancelled"
    request_id: str
    quota_key: QuotaKey


@event
class TokenReleased(Event):
    """A granted token that was not used goes back into the bucket."""

    event_type: Literal["TokenReleased"] = "TokenReleased"
    request_id: str
    quota_key: QuotaKey
    # The grant being given back; a stale release of an earlier grant of the same request
    # id is then ignored instead of returning a token that is in use.
    grant_seq: int | None = None


@event
class QuotaFeedback(Event):
    """What Amazon said: a 429 (drain the bucket) or a rate in x-amzn-RateLimit-Limit."""

    event_type: Literal["QuotaFeedback"] = "QuotaFeedback"
    quota_key: QuotaKey
    kind: Literal["throttled", "observed_rate"]
    rate_per_s: float | None = Field(default=None, gt=0)


@event
class TokenGranted(Event):
    event_type: Literal["TokenGranted"] = "TokenGranted"
    request_id: str
    quota_key: QuotaKey
    job_id: str
    reply_to: str
    cost: int = 1
    waited_s: float = 0.0  # from request to grant, in real seconds
    # Per-key number of this grant; a re-sent grant keeps it, so a requester (and a test)
    # can tell a repeat of its grant from a second token.
    grant_seq: int = 0
    # When the throttle took the token (a re-sent grant keeps it); None from old senders.
    granted_at: AwareDatetime | None = None


@event
class BucketSnapshot(Event):
    """The state of one bucket, for the API's quota panel; compacted by quota key."""

    event_type: Literal["BucketSnapshot"] = "BucketSnapshot"
    quota_key: QuotaKey
    tokens: float
    burst: int
    rate_per_s: float  # Amazon-time rate in force (after feedback)
    hourly_cap: int | None = None
    used_last_hour: int | None = None
    queue_depth: int
    next_grant_at: AwareDatetime | None = None  # None when nothing waits
    drained_until: AwareDatetime | None = None  # set after a 429
