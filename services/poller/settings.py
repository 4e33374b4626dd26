"""Settings of the poller service."""

from __future__ import annotations

from shared.settings import ServiceSettings


class PollerSettings(ServiceSettings):
    consumer_group: str = "amazon-jobs-poller"
