"""The restart pauses of `make up` and how it describes an exit."""

from __future__ import annotations

from devtools.up import BACKOFF_FIRST_S, BACKOFF_MAX_S, STEADY_S, describe_exit, next_pause


def test_restart_pauses_double_up_to_the_cap_and_start_afresh_after_a_good_run() -> None:
    pauses: list[float] = []
    pause: float | None = None
    for _ in range(8):
        pause = next_pause(pause, ran_s=2.0)
        pauses.append(pause)
    assert pauses == [1, 2, 4, 8, 16, 30, 30, 30]
    assert pauses[0] == BACKOFF_FIRST_S and pauses[-1] == BACKOFF_MAX_S
    assert next_pause(30.0, ran_s=STEADY_S) == BACKOFF_FIRST_S


def test_exits_are_described_with_their_code_or_signal() -> None:
    assert describe_exit(1) == "exited with code 1"
    assert describe_exit(0) == "exited with code 0"
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(-15) == "was killed by SIGTERM"
