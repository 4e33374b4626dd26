"""Crash points for the tests that prove a crash at the worst moment loses nothing, and
fail points for those that prove a dying task is not a silent death.

``AMAZON_JOBS_CRASH_AT=submitter:cancel-after-restore`` (comma-separated names) makes the
process die (exit 137, like SIGKILL) the first time it passes that point.
``AMAZON_JOBS_FAIL_AT=projector:live-batch`` makes the task that passes that point raise
:class:`InjectedFault` there, as a bug would. Unset — always in production — a point costs
one set lookup.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

_POINTS = frozenset(p.strip() for p in os.environ.get("AMAZON_JOBS_CRASH_AT", "").split(",") if p)
_FAILS = frozenset(p.strip() for p in os.environ.get("AMAZON_JOBS_FAIL_AT", "").split(",") if p)


class InjectedFault(RuntimeError):
    """Raised at a fail point named in AMAZON_JOBS_FAIL_AT."""


def crash_point(name: str) -> None:
    if name in _POINTS:
        log.error("crash point reached: dying on purpose", extra={"crash_point": name})
        logging.shutdown()
        os._exit(137)


def fail_point(name: str) -> None:
    if name in _FAILS:
        log.error("fail point reached: raising on purpose", extra={"fail_point": name})
        raise InjectedFault(f"fail point {name} (AMAZON_JOBS_FAIL_AT)")
