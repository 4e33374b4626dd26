"""Every event module imported in one place, so the registry knows every wire name."""

from __future__ import annotations

import shared.throttle.messages  # noqa: F401  (registers the throttle's messages)
from shared.events import EVENT_TYPES, Event


def all_event_types() -> dict[str, type[Event]]:
    return dict(sorted(EVENT_TYPES.items()))
