"""Liveness as progress and readiness as checks, on a clock the test moves."""

from __future__ import annotations

from shared.health import Liveness, Readiness


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_that_stops_beating_is_named_once_past_the_limit() -> None:
    clock = Clock()
    liveness = Liveness(stall_s=60, clock=clock)
    busy = liveness.heartbeat("submitter consumer")
    idle = liveness.heartbeat("poller scheduler")
    busy.beat()
    idle()  # a heartbeat is also a plain callable
    clock.now += 60
    assert liveness.problems() == []  # at the limit, not past it
    busy.beat()
    clock.now += 1
    (problem,) = liveness.problems()
    assert problem.startswith("poller scheduler stalled: no progress for 61 s")
    assert liveness.stalled() == {"poller scheduler": 61}
    idle.beat()
    assert liveness.problems() == []


def test_a_loop_is_watched_from_its_first_beat() -> None:
    clock = Clock()
    liveness = Liveness(stall_s=60, clock=clock)
    heartbeat = liveness.heartbeat("applier consumer")
    clock.now += 600  # start-up (tails caught up, group joined) may take long
    assert liveness.problems() == []
    assert liveness.since_beat() == {"applier consumer": None}
    heartbeat.beat()
    clock.now += 61
    assert set(liveness.stalled()) == {"applier consumer"}


def test_a_heartbeat_may_have_its_own_limit_and_leaves_when_closed() -> None:
    clock = Clock()
    liveness = Liveness(stall_s=60, clock=clock)
    slow = liveness.heartbeat("report poller", stall_s=300)
    fast = liveness.heartbeat("grants reader", stall_s=5)
    slow.beat()
    fast.beat()
    clock.now += 10
    assert set(liveness.stalled()) == {"grants reader"}
    fast.close()
    slow.close()
    clock.now += 1000
    assert liveness.problems() == []
    assert liveness.since_beat() == {}


def test_a_loop_built_again_replaces_its_old_heartbeat() -> None:
    clock = Clock()
    liveness = Liveness(stall_s=60, clock=clock)
    old = liveness.heartbeat("applier consumer")
    old.beat()
    clock.now += 100
    liveness.heartbeat("applier consumer").beat()
    assert liveness.problems() == []
    old.close()  # the old loop's late goodbye does not drop the new one
    clock.now += 100
    assert set(liveness.stalled()) == {"applier consumer"}


def test_marked_unhealthy_stays_unhealthy() -> None:
    liveness = Liveness(clock=Clock())
    liveness.mark_unhealthy("throttle grants reader died: ConnectionError")
    liveness.heartbeat("consumer").beat()
    assert liveness.problems() == ["throttle grants reader died: ConnectionError"]


def test_readiness_names_what_is_not_ready_and_a_failing_check_counts_as_not_ready() -> None:
    readiness = Readiness()
    assert readiness.not_ready() == []
    restored = {"done": False}
    readiness.require("partitions restored", lambda: restored["done"])
    readiness.require("broken check", lambda: 1 / 0 == 0)
    assert readiness.not_ready() == ["partitions restored", "broken check"]
    restored["done"] = True
    readiness.drop("broken check")
    assert readiness.not_ready() == []
