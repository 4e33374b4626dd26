"""When to ask Amazon again about a waiting job: pure functions of Amazon seconds.

Amazon's pace sets the schedule. A small feed is usually through in a minute or two, so
the first polls come seconds apart; a feed that is still queued after half an hour waits
behind the seller's other feeds (Amazon processes them one at a time) and can take hours,
so later polls come minutes apart. That keeps status calls (feed_status, 2/s per seller)
cheap however many jobs wait, and answers fast when Amazon is fast.

Errors are retried on their own, growing delay, reset by the next successful call.
"""

from __future__ import annotations

import zlib

FIRST_POLL_S = 20.0  # Amazon seldom finishes a feed before this

# (waited at least, poll every): Amazon seconds since the submission.
POLL_STEPS: tuple[tuple[float, float], ...] = (
    (0.0, 15.0),
    (2 * 60.0, 30.0),
    (10 * 60.0, 60.0),
    (30 * 60.0, 3 * 60.0),
    (2 * 3600.0, 10 * 60.0),
)

RETRY_BASE_S = 5.0  # first retry after a failed call
RETRY_MAX_S = 5 * 60.0


def poll_interval(waited_s: float) -> float:
    """Seconds between two polls of a job that has waited ``waited_s`` so far."""
    interval = POLL_STEPS[0][1]
    for since, every in POLL_STEPS:
        if waited_s >= since:
            interval = every
    return interval


def next_poll_in(waited_s: float, max_wait_s: float) -> float:
    """Seconds from now until the next poll, never past the waiting limit.

    The last poll falls on the limit itself, so a job is failed for waiting too long only
    after Amazon has been asked one last time.
    """
    delay = FIRST_POLL_S - waited_s if waited_s < FIRST_POLL_S else poll_interval(waited_s)
    return max(0.0, min(delay, max_wait_s - waited_s))


def first_poll_in(waited_s: float, max_wait_s: float, job_id: str) -> float:
    """Seconds until the first poll of a job the poller has just started tracking.

    A fresh job waits for ``FIRST_POLL_S``. A job found already waiting (a restart, a
    partition taken over) is placed at a fixed, job-dependent point of its current
    interval, so that thousands of replayed jobs spread over the interval instead of
    all asking Amazon in the same second.
    """
    if waited_s < FIRST_POLL_S:
        return next_poll_in(waited_s, max_wait_s)
    share = (zlib.crc32(job_id.encode()) % 1000) / 1000
    return max(0.0, min(poll_interval(waited_s) * share, max_wait_s - waited_s))


def retry_in(failures: int) -> float:
    """Seconds before trying again after ``failures`` failed calls in a row (1 or more)."""
    if failures < 1:
        raise ValueError("failures counts from 1")
    return min(RETRY_MAX_S, RETRY_BASE_S * 2.0 ** (failures - 1))
