"""Python's cyclic garbage collector and the large tables a service reads at start.

The submitter and the applier keep every listing of every account in memory: a seller
with a million listings is some five million objects the collector tracks. A full
collection walks all of them (1.5 s for a million listings on an idle core, several on a
busy one), which stalled the event loop past the consumer group's heartbeats, and
loading such a table spent nearly half its time in collections that found nothing (every
object loaded is alive). So the collector rests while the tables load, and what they hold
is then frozen (``gc.freeze``): out of the collected generations, still freed by
reference counting when a newer state replaces it, never walked again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


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
