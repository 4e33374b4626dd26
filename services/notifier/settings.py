"""Settings of the notifier service."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_")

    consumer_group: str = "amazon-jobs-notifier"
    # Real seconds between two looks for deliveries due: how late a retry may start.
    tick_s: float = Field(default=0.5, gt=0, le=60)
    # Real seconds one attempt may take (connect, send, answer) before it counts as failed.
    timeout_s: float = Field(default=10.0, gt=0, le=60)
    # Attempts in flight at once per instance: a slow receiver must not hold up others.
    concurrency: int = Field(default=32, ge=1, le=1000)
    # Private, loopback and link-local addresses (docs/design.md §21): refused unless set
    # (development and tests); the API reads the same variable.
    allow_private_urls: bool = Field(default=False, validation_alias="WEBHOOKS_ALLOW_PRIVATE_URLS")
