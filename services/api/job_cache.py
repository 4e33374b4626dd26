"""What a projector wrote, so it need not read it back (projector.py): the job documents,
and how far each of the charts' hour counts has counted."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar

from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from prometheus_client import Gauge

from services.api.projection import Doc

CACHED_JOBS = Gauge("projector_cached_jobs", "Job documents the projector holds in memory")

V = TypeVar("V")


class Recent(Generic[V]):
    """Values by key, newest use last, at most ``size``: the oldest used go first.

    What the projector holds is valid only while it owns the partitions it came from:
    the caches are emptied whenever the group's assignment changes (ForgetOnRebalance),
    since another instance may have written the same documents meanwhile."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[str, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str) -> V | None:
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def known(self, keys: Iterable[str]) -> dict[str, V]:
        """Those of ``keys`` held, with their values."""
        found = ((key, self.get(key)) for key in keys)
        return {key: value for key, value in found if value is not None}

    def put(self, values: dict[str, V]) -> None:
        for key, value in values.items():
            self._values[key] = value
            self._values.move_to_end(key)
        while len(self._values) > self.size:
            self._values.popitem(last=False)
        self._changed()

    def forget(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._values.pop(key, None)
        self._changed()

    def clear(self) -> None:
        self._values.clear()
        self._changed()

    def _changed(self) -> None:
        """Called after every change (the job cache's gauge)."""


class JobCache(Recent[Doc]):
    """The job documents this projector wrote, so a batch need not read them back."""

    def _changed(self) -> None:
        CACHED_JOBS.set(len(self))


class HourOffsets(Recent[int]):
    """Per ``job_hours`` document this projector wrote, the partition offset it has counted
    through (stats.HourCounts): a batch then reads only the documents it has not written
    itself. A document names its partition, so only the partition's owner writes it."""


class Clearable(Protocol):
    def clear(self) -> None: ...


class ForgetOnRebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Empties the caches on every change of assignment; a revocation first waits for the
    batch being written (``writing``), so the partitions' next owner, which the group
    assigns only once every member has revoked, never writes beside it.

    ``generation`` counts the changes: a batch read (and folded) under an earlier one is
    not written, since its partitions' committed offsets are read again."""

    def __init__(self, *caches: Clearable, writing: asyncio.Lock | None = None) -> None:
        self.caches = caches
        self.writing = writing or asyncio.Lock()
        self.generation = 0

    def _clear(self) -> None:
        self.generation += 1
        for cache in self.caches:
            cache.clear()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.writing:
            self._clear()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._clear()
