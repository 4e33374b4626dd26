"""Python's cyclic garbage collector and the large tables a service keeps in memory.

The submitter and the applier keep every listing of every account in memory: a seller
with a million listings is some five million objects the collector tracks, and each job
of 25,000 items a hundred thousand more. A full collection walks all of them (1.5 s for a
million listings on an idle core, several on a busy one), and CPython runs one whenever
the objects that survived young collections grew by a quarter: with listing states and
job items arriving by the tens of thousands, full collections took nearly three
quarters of the submitter's time (sampled with py-spy --native at time scale 10), the
event loop missed consumer-group heartbeats and the groups rebalanced mid-run.

So: the collector rests while the tables load, and what they hold is then frozen
(``gc.freeze``: out of the collected generations, still freed by reference counting when
a newer state replaces it); young collections go on as before (they free the short-lived
cycles), and the full ones, which find little (these objects are freed by reference
counting), run on a clock instead: one every ``FULL_COLLECTION_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator

FULL_COLLECTION_S = 600.0  # real seconds between full collections
# A third threshold no count of young collections reaches: no automatic full collection.
_NEVER = 2**31 - 1


@contextlib.contextmanager
def loading_tables() -> Iterator[None]:
    """Around reading a service's tables at start: no collection meanwhile, and what is
    alive at the end is left out of later collections."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


async def full_collections(stop: asyncio.Event, every_s: float = FULL_COLLECTION_S) -> None:
    """Until ``stop``: no automatic full collection, one every ``every_s`` instead (the
    cyclic garbage that reached the oldest generation waits that long)."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(young, middle, _NEVER)
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
            if stop.is_set():
                return
            gc.collect()
    finally:
        gc.set_threshold(young, middle, old)
