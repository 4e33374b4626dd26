"""Settings of the applier service."""

from __future__ import annotations

from shared.settings import ServiceSettings


class ApplierSettings(ServiceSettings):
    consumer_group: str = "amazon-jobs-applier"
