"""Settings of the submitter service."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class SubmitterSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SUBMITTER_")

    consumer_group: str = "amazon-jobs-submitter"
    # How long a job waits for its quota token before the wait is renewed (Amazon time is
    # the throttle's business; this only bounds one wait so a dead throttle is noticed).
    token_wait_s: float = Field(default=300.0, gt=0)
    # Retries of a whole submission after transient Amazon errors, before the job fails.
    submit_attempts: int = Field(default=5, ge=1, validation_alias="SUBMITTER_ATTEMPTS")
    retry_base_s: float = Field(default=2.0, gt=0)
    # Coalesced (automatic) jobs take at most this many items; more open the next job.
    auto_job_max_items: int = Field(default=25_000, ge=1, le=25_000)
    # Amazon seconds an automatic job keeps collecting changes before it asks for its
    # token, unless it is full sooner. A createFeed token costs the same for one message as
    # for 25,000 and comes back one per 120 s, at most 30 an hour: a job that asks no
    # sooner than that spends tokens no faster than they return, and when changes come
    # faster than 25,000 per 120 s (more than the quota carries) every feed is full.
    coalesce_window_s: float = Field(default=120.0, ge=0)
    # Jobs of at most this many items, all urgent (stock to 0), go item by item by
    # patchListingsItem instead of a feed (services/submitter/routing.py); 0 never. 5 is
    # the operation's burst: such a job goes out at once without waiting for a refill,
    # and the bucket is full again for the next one a second later. A larger urgent job
    # would hold the seller's patch bucket a second per 5 items, and every stock-out
    # behind it would wait; as one feed (served first among feeds) it costs one token.
    patch_max_items: int = Field(default=5, ge=0, le=25_000)
    # Requests in parts (docs/design.md §11): how many are assembled at once, and for how
    # long their parts may take to come before the request is refused.
    assembling_max: int = Field(default=64, ge=1)
    assembly_timeout_s: float = Field(default=300.0, gt=0)
    # Requests for an account not known yet wait (off the consumer's path) for one read of
    # the account registry; at most this many at once, the rest are refused at once.
    parked_max: int = Field(default=100_000, ge=0)
    # Refusals (jobs in error) waiting to be written; the consumer waits when there are more.
    refusals_max: int = Field(default=100_000, ge=1)
    # Seconds between checkpoints (changelog, job id registry, offsets).
    checkpoint_interval_s: float = Field(default=1.0, gt=0)
    # How far the clocks of those who publish requests may run behind this one: a request
    # is decided without parking when the account registry was read up to its publish
    # time plus this margin.
    clock_skew_s: float = Field(default=2.0, ge=0)
