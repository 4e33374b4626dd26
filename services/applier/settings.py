"""Settings of the applier service.

Durations are in Amazon seconds unless said otherwise; the service divides them by
``AMAZON_JOBS_TIME_SCALE`` when it sleeps.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings
from shared.spapi.documents import MAX_DOCUMENT_BYTES


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
    # The largest result or report document read (compressed as sent, and inflated); a
    # larger one fails its job with the reason. Up to `concurrency` documents are held at
    # once, and a parsed report takes a few times its size: raise both with the memory.
    max_document_bytes: int = Field(default=MAX_DOCUMENT_BYTES, ge=1024)
