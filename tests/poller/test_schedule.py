"""The poll schedule follows Amazon's pace: seconds at first, minutes later."""

from __future__ import annotations

import pytest

from services.poller.schedule import (
    FIRST_POLL_S,
    RETRY_MAX_S,
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


def test_an_overdue_job_is_polled_at_once_after_a_restart() -> None:
    # A job found on replay that has waited past its next slot: the delay is one interval
    # from now, not from an anchor in the past; never negative.
    assert next_poll_in(3 * 3600, DAY) == 600
    assert next_poll_in(FIRST_POLL_S, DAY) == 15


def test_retries_back_off_exponentially_to_a_ceiling() -> None:
    assert [retry_in(n) for n in range(1, 6)] == [5, 10, 20, 40, 80]
    assert retry_in(30) == RETRY_MAX_S
    with pytest.raises(ValueError):
        retry_in(0)
