"""Settings of the api service."""

from __future__ import annotations

from shared.settings import ServiceSettings


class ApiSettings(ServiceSettings):
    consumer_group: str = "amazon-jobs-api"
