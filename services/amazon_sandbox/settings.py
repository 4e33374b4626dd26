"""Settings of the sandbox: ``SANDBOX_*`` environment variables, CLI flags override them.

Every duration is in Amazon seconds; ``time_scale`` divides them all at run time. The time
scale is also read from ``AMAZON_JOBS_TIME_SCALE``, which the throttle service reads too,
so one variable keeps the two in step.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SANDBOX_", env_file=None, extra="ignore", frozen=True, populate_by_name=True
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8700, ge=0, le=65535)  # 0 picks a free port (logged on start)
    time_scale: float = Field(
        default=1.0,
        gt=0,
        validation_alias=AliasChoices("SANDBOX_TIME_SCALE", "AMAZON_JOBS_TIME_SCALE", "time_scale"),
    )
    # Amazon processes feeds and reports after a queueing delay, then for a while.
    feed_queue_s: float = Field(default=30.0, ge=0)
    feed_processing_s: float = Field(default=60.0, ge=0)
    report_queue_s: float = Field(default=30.0, ge=0)
    report_processing_s: float = Field(default=60.0, ge=0)
    access_token_ttl_s: float = Field(default=3600.0, gt=0)  # LWA expires_in
    document_url_ttl_s: float = Field(default=300.0, gt=0)  # presigned URLs: 5 minutes
    # The time scale compresses Amazon's waits, not the time a client needs to use a URL:
    # at scale 600 five minutes would be half a real second, which a loaded machine
    # mistakes for an expired URL. A URL lives at least this many real seconds.
    document_url_min_real_s: float = Field(default=10.0, ge=0)
    # Real milliseconds every call to "Amazon" (SP-API, LWA, document URLs) waits before
    # it is answered, as a network far from Amazon's would; the admin routes (/_sandbox)
    # answer at once. Latency is the network's, so the time scale does not shrink it.
    latency_ms: float = Field(default=0.0, ge=0)
    log_level: str = "INFO"
    # Seeds the randomness of error_rate faults, for reproducible test runs.
    fault_seed: int | None = None
