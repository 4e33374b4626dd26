"""Crash points for the tests that prove a crash at the worst moment loses nothing.

``AMAZON_JOBS_CRASH_AT=submitter:cancel-after-restore`` (comma-separated names) makes the
process die (exit 137, like SIGKILL) the first time it passes that point. Unset — always in
production — a crash point costs one set lookup.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

_POINTS = frozenset(p.strip() for p in os.environ.get("AMAZON_JOBS_CRASH_AT", "").split(",") if p)


def crash_point(name: str) -> None:
    if name in _POINTS:
        log.error("crash point reached: dying on purpose", extra={"crash_point": name})
        logging.shutdown()
        os._exit(137)
