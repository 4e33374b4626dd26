"""Settings of the submitter service."""

from __future__ import annotations

from shared.settings import ServiceSettings


class SubmitterSettings(ServiceSettings):
    consumer_group: str = "amazon-jobs-submitter"
