"""Settings of the scheduler service."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class SchedulerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCHEDULER_")

    consumer_group: str = "amazon-jobs-scheduler"
    # Real seconds between two looks at the clock: how late a slot's job may start.
    tick_s: float = Field(default=1.0, gt=0, le=60)
