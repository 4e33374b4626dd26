"""The poll schedule follows Amazon's pace: seconds at first, minutes later."""

from __future__ import annotations

import pytest

from services.poller.schedule import (
    FIRST_POLL_S,
    RETRY_MAX_S,
    first_poll_in,
    next_poll_in,
    poll_interval,
    retry_in,
)

DAY = 24 * 3600.0


def test_first_poll_waits_for_amazon_to_have_started() -> None:
    assert next_poll_in(0, DAY) == FIRST_POLL_S
    assert next_poll_in(5, DAY) == FIRST_POLL_S - 5


def test_intervals_grow_from_seconds_to_minutes() -> None:
    assert poll_interval(30) == 15
    assert poll_interval(5 * 60) == 30
    assert poll_interval(20 * 60) == 60
    assert poll_interval(60 * 60) == 180
    assert poll_interval(5 * 3600) == 600
    waits = [poll_interval(t) for t in range(0, int(DAY), 60)]
    assert waits == sorted(waits), "an older job is never polled more often"


def test_polls_of_a_whole_day_stay_few() -> None:
    waited, polls = 0.0, 0
    while waited < DAY:
        waited += next_poll_in(waited, DAY)
        polls += 1
    # 24 h of waiting cost ~200 status calls; 8 of them in the first two minutes.
    assert 190 < polls < 220


def test_the_last_poll_falls_on_the_waiting_limit() -> None:
    limit = 1000.0
    assert next_poll_in(990, limit) == 10
    assert next_poll_in(limit, limit) == 0
    assert next_poll_in(limit + 50, limit) == 0


def test_an_older_job_polls_one_interval_after_its_last_poll() -> None:
    assert next_poll_in(3 * 3600, DAY) == 600
    assert next_poll_in(FIRST_POLL_S, DAY) == 15


def test_replayed_jobs_spread_over_their_interval() -> None:
    # Jobs found waiting after a restart: each at its own point of the interval, stable
    # per job, never later than one interval and never past the limit.
    firsts = [first_poll_in(3 * 3600, DAY, f"job-{n}") for n in range(1000)]
    assert all(0 <= f < 600 for f in firsts)
    assert min(firsts) < 60 and max(firsts) > 540  # spread, not bunched
    assert first_poll_in(3 * 3600, DAY, "job-7") == firsts[7]
    assert first_poll_in(DAY - 10, DAY, "job-7") <= 10
    # A job seen at once after its submission simply waits for the first poll.
    assert first_poll_in(2, DAY, "job-7") == FIRST_POLL_S - 2


def test_retries_back_off_exponentially_to_a_ceiling() -> None:
    assert [retry_in(n) for n in range(1, 6)] == [5, 10, 20, 40, 80]
    assert retry_in(30) == RETRY_MAX_S
    with pytest.raises(ValueError):
        retry_in(0)
