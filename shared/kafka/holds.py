"""Which offset of each partition may be committed, when some messages are not finished.

A message whose outcome is not yet written (a parked request, one part of a request whose
other parts have not come, a refusal waiting for its batch) is *held*: the committed
offset stays at the first held message of its partition, so a crash re-reads exactly what
was not finished and nothing after it is lost (docs/design.md §13). Holding a message twice
is holding it once: whoever writes its outcome releases it. Pure.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable


class Holds:
    def __init__(self) -> None:
        self._heaps: dict[Hashable, list[int]] = {}
        self._held: dict[Hashable, set[int]] = {}
        self._handled: dict[Hashable, int] = {}  # partition -> next offset after the last seen

    def handled(self, partition: Hashable, offset: int) -> None:
        """The message at ``offset`` has been read and handled or held."""
        if offset + 1 > self._handled.get(partition, -1):
            self._handled[partition] = offset + 1

    def handled_to(self, partition: Hashable) -> int | None:
        """The offset after the last message handled (held or not)."""
        return self._handled.get(partition)

    def hold(self, partition: Hashable, offset: int) -> None:
        held = self._held.setdefault(partition, set())
        if offset not in held:
            held.add(offset)
            heapq.heappush(self._heaps.setdefault(partition, []), offset)

    def release(self, partition: Hashable, offset: int) -> None:
        self._held.get(partition, set()).discard(offset)

    def held(self, partition: Hashable) -> int:
        return len(self._held.get(partition, ()))

    def committable(self, partition: Hashable) -> int | None:
        """The offset to commit: the first held message, else the one after the last
        handled; None when nothing was read yet."""
        heap = self._heaps.get(partition, [])
        held = self._held.get(partition, set())
        while heap and heap[0] not in held:
            heapq.heappop(heap)
        if heap:
            return heap[0]
        return self._handled.get(partition)

    def forget(self, partition: Hashable) -> None:
        """The partition went to another instance: its holds mean nothing here now."""
        self._heaps.pop(partition, None)
        self._held.pop(partition, None)
        self._handled.pop(partition, None)
