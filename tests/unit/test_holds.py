"""Committable offsets when some messages are held."""

from __future__ import annotations

from shared.kafka.holds import Holds


def test_nothing_held_commits_after_the_last_handled() -> None:
    holds = Holds()
    assert holds.committable("p") is None
    for offset in (5, 6, 7):
        holds.handled("p", offset)
    assert holds.committable("p") == 8


def test_a_held_message_keeps_the_commit_at_it_until_released() -> None:
    holds = Holds()
    for offset in range(10):
        holds.handled("p", offset)
    holds.hold("p", 3)
    holds.hold("p", 6)
    assert holds.committable("p") == 3
    holds.release("p", 6)
    assert holds.committable("p") == 3
    holds.release("p", 3)
    assert holds.committable("p") == 10


def test_a_hold_is_a_hold_however_often_and_partitions_are_apart() -> None:
    holds = Holds()
    holds.handled("a", 4)
    holds.handled("b", 9)
    holds.hold("a", 2)
    holds.hold("a", 2)
    assert holds.committable("a") == 2
    assert holds.committable("b") == 10
    holds.release("a", 2)
    assert holds.committable("a") == 5
    holds.release("a", 2)  # one release too many changes nothing
    holds.hold("a", 3)
    assert holds.committable("a") == 3
    holds.forget("a")
    assert holds.committable("a") is None
