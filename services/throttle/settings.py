"""Settings of the throttle service."""

from __future__ import annotations

from shared.settings import ServiceSettings


class ThrottleSettings(ServiceSettings):
    consumer_group: str = "amazon-jobs-throttle"
