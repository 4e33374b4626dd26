"""Every event module imported in one place, so the registry knows every wire name."""

from __future__ import annotations

import shared.job_ids  # the submitter's job id registry
import shared.job_snapshot  # the workers' changelogs
import shared.schedules  # schedules and the scheduler's runs
import shared.throttle.messages  # the throttle's messages
import shared.webhooks  # noqa: F401  (webhooks, their deliveries and attempts)
from shared.events import EVENT_TYPES, Event


def all_event_types() -> dict[str, type[Event]]:
    return dict(sorted(EVENT_TYPES.items()))
