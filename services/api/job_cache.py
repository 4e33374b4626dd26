"""What a projector wrote, so it need not read it back (projector.py): the job documents,
and how far each of the charts' hour counts has counted."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from typing import Protocol

from aiokafka import TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from prometheus_client import Gauge

from services.api.projection import Doc

CACHED_JOBS = Gauge("projector_cached_jobs", "Job documents the projector holds in memory")


class JobCache:
    """The job documents this projector wrote, newest use last, at most ``size``.

    Valid only while this instance owns the jobs' partitions: it is emptied whenever the
    group's assignment changes, since another instance may have written them meanwhile."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._docs: OrderedDict[str, Doc] = OrderedDict()

    def get(self, job_id: str) -> Doc | None:
        doc = self._docs.get(job_id)
        if doc is not None:
            self._docs.move_to_end(job_id)
        return doc

    def put(self, docs: dict[str, Doc]) -> None:
        for job_id, doc in docs.items():
            self._docs[job_id] = doc
            self._docs.move_to_end(job_id)
        while len(self._docs) > self.size:
            self._docs.popitem(last=False)
        CACHED_JOBS.set(len(self._docs))

    def forget(self, job_ids: set[str]) -> None:
        for job_id in job_ids:
            self._docs.pop(job_id, None)
        CACHED_JOBS.set(len(self._docs))

    def clear(self) -> None:
        self._docs.clear()
        CACHED_JOBS.set(0)


class HourOffsets:
    """Per ``job_hours`` document this projector wrote, the partition offset it has counted
    through (stats.HourCounts), newest use last, at most ``size``: a batch then needs no
    read of the documents it counts into, only of those it has not written itself.

    A document names its partition, so only the partition's owner writes it; like the job
    cache, this is valid only while the assignment holds."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._through: OrderedDict[str, int] = OrderedDict()

    def known(self, doc_ids: Iterable[str]) -> dict[str, int]:
        out: dict[str, int] = {}
        for doc_id in doc_ids:
            through = self._through.get(doc_id)
            if through is not None:
                self._through.move_to_end(doc_id)
                out[doc_id] = through
        return out

    def put(self, through: dict[str, int]) -> None:
        for doc_id, offset in through.items():
            self._through[doc_id] = offset
            self._through.move_to_end(doc_id)
        while len(self._through) > self.size:
            self._through.popitem(last=False)

    def forget(self, doc_ids: Iterable[str]) -> None:
        for doc_id in doc_ids:
            self._through.pop(doc_id, None)

    def clear(self) -> None:
        self._through.clear()


class Clearable(Protocol):
    def clear(self) -> None: ...


class ForgetOnRebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Empties the caches on every change of assignment; a revocation first waits for the
    batch being written (``writing``), so the partitions' next owner, which the group
    assigns only once every member has revoked, never writes beside it."""

    def __init__(self, *caches: Clearable, writing: asyncio.Lock | None = None) -> None:
        self.caches = caches
        self.writing = writing or asyncio.Lock()

    def _clear(self) -> None:
        for cache in self.caches:
            cache.clear()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.writing:
            self._clear()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._clear()
