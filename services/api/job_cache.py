"""The job documents a projector wrote, so it need not read them back (projector.py)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

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


class ForgetOnRebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Empties the cache on every change of assignment; a revocation first waits for the
    batch being written (``writing``), so the partitions' next owner, which the group
    assigns only once every member has revoked, never writes beside it."""

    def __init__(self, cache: JobCache, writing: asyncio.Lock | None = None) -> None:
        self.cache = cache
        self.writing = writing or asyncio.Lock()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self.writing:
            self.cache.clear()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.cache.clear()
