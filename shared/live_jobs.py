"""The live jobs of the partitions a worker owns, and what its changelog must learn.

Pure: the worker shell (shared/kafka/owned_jobs.py) feeds it events and changelog records
and writes out what it asks for. A job is *live* until the worker's ``keeps`` says it is
finished; then it leaves memory and the changelog gets tombstones for it
(docs/design.md §5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from uuid import UUID

from shared.chunking import chunks_by_size
from shared.events import Event, ItemState, JobEvent
from shared.job_snapshot import JobItemsSnapshot, JobSnapshot, chunk_key, item_bytes
from shared.job_state import JobState, fold
from shared.limits import ITEM_CHUNK_BYTES

Keeps = Callable[[JobState], bool]
ChangelogRecord = tuple[str, Event | None]  # key, value (None: a tombstone)


def unfinished(state: JobState) -> bool:
    return not state.status.is_terminal


@dataclass
class _Written:
    """What the changelog holds of one job: how many item chunks, and whether the items
    changed since they were written."""

    chunks: int = 0
    items_dirty: bool = True
    in_changelog: bool = False


@dataclass
class LiveJobs:
    keeps: Keeps = unfinished
    keep_items: bool = True
    states: dict[str, JobState] = field(default_factory=dict)
    partition_of: dict[str, int] = field(default_factory=dict)
    ready: set[int] = field(default_factory=set)
    _dirty: dict[int, set[str]] = field(default_factory=dict)  # partition -> job ids
    _written: dict[str, _Written] = field(default_factory=dict)
    _dropped: dict[int, dict[str, int]] = field(default_factory=dict)  # -> {job: chunks}
    # Jobs this worker finished itself, until their last event comes back through the
    # topic: the events it wrote before that must not bring them back to life.
    _own_finished: dict[str, tuple[UUID, JobState, int]] = field(default_factory=dict)
    # Events this worker wrote and folded at once, until they come back: read back, they
    # are already in the state (folding them again could undo a later one of its own).
    _own_unread: dict[UUID, int] = field(default_factory=dict)  # event id -> partition

    # ------------------------------------------------------------------ folding

    def record(self, partition: int, event: JobEvent, offset: int | None = None) -> JobState | None:
        """Fold one event of ``partition`` (``offset`` None: one this worker wrote and has
        not read back yet). Returns the job's state — also when the job is now finished
        and has left the book — or None for an annotation of a job no longer here."""
        own = self._own_finished.get(event.job_id)
        if own is not None:
            if offset is not None:
                self._own_unread.pop(event.event_id, None)
                if event.event_id == own[0]:
                    del self._own_finished[event.job_id]  # the last of them is back
            return own[1]
        current = self.states.get(event.job_id)
        if offset is not None and self._own_unread.pop(event.event_id, None) is not None:
            if current is None or offset <= current.offset:
                return current
            state = replace(current, offset=offset)
            self.states[event.job_id] = state
            self._dirty.setdefault(partition, set()).add(event.job_id)
            return state
        if current is None and event.IS_ANNOTATION:
            return None  # e.g. a cancel rejected after the job finished: nothing to keep
        state = fold(current, event, offset)
        if offset is None:
            self._own_unread[event.event_id] = partition
        if not self.keep_items and state.items:
            state = replace(state, items={})
        if state is current:
            return state
        if not self.keeps(state):
            self._drop(partition, event.job_id)
            if offset is None:
                self._own_finished[event.job_id] = (event.event_id, state, partition)
            return state
        self.states[event.job_id] = state
        self.partition_of[event.job_id] = partition
        self._dirty.setdefault(partition, set()).add(event.job_id)
        written = self._written.setdefault(event.job_id, _Written())
        if current is None or state.items is not current.items:
            written.items_dirty = True
        return state

    def _drop(self, partition: int, job_id: str) -> None:
        self.states.pop(job_id, None)
        self.partition_of.pop(job_id, None)
        self._dirty.get(partition, set()).discard(job_id)
        written = self._written.pop(job_id, None)
        if written is not None and written.in_changelog:  # it needs tombstones there
            self._dropped.setdefault(partition, {})[job_id] = written.chunks

    # ------------------------------------------------------------------ partitions

    def load(self, partition: int, records: Iterable[ChangelogRecord]) -> int:
        """Rebuild a partition's jobs from its changelog (in topic order); return how many
        are live."""
        headers: dict[str, JobSnapshot] = {}
        chunks: dict[str, dict[int, list[ItemState]]] = {}
        for key, value in records:
            if isinstance(value, JobSnapshot):
                headers[value.job_id] = value
            elif isinstance(value, JobItemsSnapshot):
                chunks.setdefault(value.job_id, {})[value.chunk] = value.items
            elif value is None:
                job_id, sep, n = key.rpartition("#")
                if sep and n.isdigit():
                    chunks.get(job_id, {}).pop(int(n), None)
                else:
                    headers.pop(key, None)
        for job_id, header in headers.items():
            parts = chunks.get(job_id, {})
            items = {item.key: item for n in range(header.item_chunks) for item in parts.get(n, [])}
            state = header.to_state(items)
            self.states[job_id] = state
            self.partition_of[job_id] = partition
            self._written[job_id] = _Written(header.item_chunks, False, True)
        return len(headers)

    def revoke(self, partitions: set[int]) -> list[JobState]:
        """Forget the jobs of partitions another instance now owns."""
        dropped = [s for j, s in self.states.items() if self.partition_of.get(j) in partitions]
        for state in dropped:
            del self.states[state.job_id]
            del self.partition_of[state.job_id]
            self._written.pop(state.job_id, None)
        for partition in partitions:
            self.ready.discard(partition)
            self._dirty.pop(partition, None)
            self._dropped.pop(partition, None)
        for job_id in [j for j, own in self._own_finished.items() if own[2] in partitions]:
            del self._own_finished[job_id]
        for event_id in [e for e, p in self._own_unread.items() if p in partitions]:
            del self._own_unread[event_id]
        return dropped

    def holds(self, job_id: str) -> bool:
        """Whether events of ``job_id`` still matter here (live, or finished by this
        worker and not all of its own events back yet)."""
        return job_id in self.states or job_id in self._own_finished

    def in_partition(self, partition: int) -> list[JobState]:
        return [s for j, s in self.states.items() if self.partition_of.get(j) == partition]

    def is_ready(self, partition: int) -> bool:
        return partition in self.ready

    # ------------------------------------------------------------------ changelog

    def pending_changes(self, partition: int) -> bool:
        return bool(self._dirty.get(partition) or self._dropped.get(partition))

    def changelog(self, partition: int) -> list[ChangelogRecord]:
        """What the changelog must get for ``partition`` since the last call: the states of
        changed jobs, tombstones for finished ones. Taking them marks them written."""
        records: list[ChangelogRecord] = []
        for job_id, chunks in sorted(self._dropped.pop(partition, {}).items()):
            records.extend((chunk_key(job_id, n), None) for n in range(chunks))
            records.append((job_id, None))
        for job_id in sorted(self._dirty.pop(partition, set())):
            state = self.states.get(job_id)
            if state is None:
                continue
            written = self._written.setdefault(job_id, _Written())
            chunks = written.chunks
            if written.items_dirty:
                runs = chunks_by_size(list(state.items.values()), item_bytes, ITEM_CHUNK_BYTES)
                records.extend(
                    (chunk_key(job_id, n), JobItemsSnapshot(job_id=job_id, chunk=n, items=run))
                    for n, run in enumerate(runs)
                )
                records.extend((chunk_key(job_id, n), None) for n in range(len(runs), chunks))
                chunks = len(runs)
                written.chunks, written.items_dirty = chunks, False
            # The header last: a restore that sees it finds every chunk it names.
            records.append((job_id, JobSnapshot.of_state(state, chunks)))
            written.in_changelog = True
        return records
