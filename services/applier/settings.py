"""Settings of the applier service.

Durations are in Amazon seconds unless said otherwise; the service divides them by
``AMAZON_JOBS_TIME_SCALE`` when it sleeps.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ApplierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="APPLIER_")

    consumer_group: str = "amazon-jobs-applier"
    # Failed downloads (Amazon or the network failing, an expired document URL) of one
    # result before the job fails; retries back off from 5 s to 5 min, ~40 min in all.
    max_attempts: int = Field(default=12, ge=1)
    # One wait for a quota token, in real seconds; renewed with the same request id.
    token_wait_s: float = Field(default=60.0, gt=0)
    # Results downloaded and applied at once, over all accounts.
    concurrency: int = Field(default=8, ge=1)
