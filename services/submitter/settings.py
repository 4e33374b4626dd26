"""Settings of the submitter service."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


class SubmitterSettings(ServiceSettings):
    consumer_group: str = "amazon-jobs-submitter"
    # How long a job waits for its quota token before the wait is renewed (Amazon time is
    # the throttle's business; this only bounds one wait so a dead throttle is noticed).
    token_wait_s: float = Field(default=300.0, gt=0)
    # Retries of a whole submission after transient Amazon errors, before the job fails.
    submit_attempts: int = Field(default=5, ge=1)
    retry_base_s: float = Field(default=2.0, gt=0)
    # Coalesced (automatic) jobs take at most this many items; more open the next job.
    auto_job_max_items: int = Field(default=25_000, ge=1, le=25_000)
