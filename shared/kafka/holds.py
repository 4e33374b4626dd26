"""Which offset of each partition may be committed, when some messages are not finished.

A message whose outcome is not yet written (a parked request, one part of a request whose
other parts have not come, a refusal waiting for its batch) is *held*: the committed
offset stays at the first held message of its partition, so a crash re-reads exactly what
was not finished and nothing after it is lost (docs/design.md §4). Pure.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Hashable


class Holds:
    def __init__(self) -> None:
        self._heaps: dict[Hashable, list[int]] = {}
        self._counts: dict[Hashable, Counter[int]] = {}
        self._handled: dict[Hashable, int] = {}  # partition -> next offset after the last seen

    def handled(self, partition: Hashable, offset: int) -> None:
        """The message at ``offset`` has been read and handled or held."""
        if offset + 1 > self._handled.get(partition, -1):
            self._handled[partition] = offset + 1

    def hold(self, partition: Hashable, offset: int) -> None:
        counts = self._counts.setdefault(partition, Counter())
        if counts[offset] == 0:
            heapq.heappush(self._heaps.setdefault(partition, []), offset)
        counts[offset] += 1

    def release(self, partition: Hashable, offset: int) -> None:
        counts = self._counts.get(partition)
        if counts is None or counts[offset] == 0:
            return
        counts[offset] -= 1
        if counts[offset] == 0:
            del counts[offset]

    def held(self, partition: Hashable) -> int:
        return sum(self._counts.get(partition, Counter()).values())

    def committable(self, partition: Hashable) -> int | None:
        """The offset to commit: the first held message, else the one after the last
        handled; None when nothing was read yet."""
        heap = self._heaps.get(partition, [])
        counts = self._counts.get(partition, Counter())
        while heap and counts[heap[0]] == 0:
            counts.pop(heapq.heappop(heap), None)
        if heap:
            return heap[0]
        return self._handled.get(partition)

    def forget(self, partition: Hashable) -> None:
        """The partition went to another instance: its holds mean nothing here now."""
        self._heaps.pop(partition, None)
        self._counts.pop(partition, None)
        self._handled.pop(partition, None)
