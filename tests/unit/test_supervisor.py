"""A part its owner stops on its own (``until``) may end then; before, it has died."""

from __future__ import annotations

import asyncio

from shared.health import Liveness
from shared.supervisor import Supervisor


async def test_a_part_that_ends_after_its_own_stop_is_no_failure() -> None:
    liveness = Liveness()
    service_stop, own_stop = asyncio.Event(), asyncio.Event()
    parts = Supervisor(service_stop, liveness=liveness)
    task = parts.spawn("projector", own_stop.wait(), until=own_stop)
    own_stop.set()
    await task
    await asyncio.sleep(0)  # done callbacks run on the next turn
    assert parts.failures == [] and liveness.problems() == []
    assert not service_stop.is_set()


async def test_a_part_that_ends_before_its_own_stop_has_died() -> None:
    liveness = Liveness()
    service_stop, own_stop = asyncio.Event(), asyncio.Event()
    parts = Supervisor(service_stop, liveness=liveness)

    async def dies() -> None:
        raise OverflowError("MongoDB can only handle up to 8-byte ints")

    task = parts.spawn("projector", dies(), until=own_stop)
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)
    assert [f.task_name for f in parts.failures] == ["projector"]
    assert liveness.problems() == [
        "projector died: OverflowError: MongoDB can only handle up to 8-byte ints"
    ]
    assert service_stop.is_set()
