"""State a worker keeps per partition on a compacted topic of its own (docs/design.md §14).

A store is restored from its topic's partition when the worker is assigned the partition,
and says at each checkpoint which records its topic must get. The worker shell writes
them (in store order, each store's records acknowledged before the next store's) and then
commits its offsets: write, then commit.
"""

from __future__ import annotations

from typing import Protocol

from shared.events import Event
from shared.job_ids import PartitionIds
from shared.live_jobs import LiveJobs
from shared.topics import TopicSpec

Record = tuple[str, Event | None]


class PartitionStore(Protocol):
    @property
    def topic(self) -> TopicSpec: ...

    def load(self, partition: int, records: list[Record]) -> None:
        """Rebuild ``partition`` from its records, in topic order."""

    def changes(self, partition: int) -> list[Record]:
        """What the topic must get for ``partition`` now; taking them marks them written."""

    def forget(self, partition: int) -> None:
        """Another instance owns ``partition`` now."""


class BookStore:
    """The live jobs (shared/live_jobs.py) on the worker's changelog topic."""

    def __init__(self, book: LiveJobs, topic: TopicSpec) -> None:
        self.book = book
        self._topic = topic

    @property
    def topic(self) -> TopicSpec:
        return self._topic

    def load(self, partition: int, records: list[Record]) -> None:
        self.book.load(partition, records)

    def changes(self, partition: int) -> list[Record]:
        return self.book.changelog(partition)

    def forget(self, partition: int) -> None:
        self.book.revoke({partition})


class IdStore:
    """Every job id seen (shared/job_ids.py), per partition, on the registry topic."""

    def __init__(self, topic: TopicSpec) -> None:
        self._topic = topic
        self.partitions: dict[int, PartitionIds] = {}

    @property
    def topic(self) -> TopicSpec:
        return self._topic

    def of(self, partition: int) -> PartitionIds:
        ids = self.partitions.get(partition)
        if ids is None:
            ids = self.partitions[partition] = PartitionIds(partition)
        return ids

    def load(self, partition: int, records: list[Record]) -> None:
        ids = self.partitions[partition] = PartitionIds(partition)
        for key, value in records:
            ids.load(key, value)

    def changes(self, partition: int) -> list[Record]:
        ids = self.partitions.get(partition)
        return ids.flush() if ids is not None else []

    def forget(self, partition: int) -> None:
        self.partitions.pop(partition, None)
