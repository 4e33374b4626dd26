"""The live jobs of the partitions a worker owns, and what its changelog must learn.

Pure: the worker shell (shared/kafka/owned_jobs.py) feeds it events and changelog records
and writes out what it asks for. A job is *live* until the worker's ``keeps`` says it is
finished; then it leaves memory and the changelog gets tombstones for it
(docs/design.md §14).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from uuid import UUID

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
    """What the changelog holds of one job: its item chunks (the keys of each, in order,
    and their encoded sizes) and which items changed since they were written, so that a
    change rewrites only the chunks it touches (a coalescing job of 25,000 items grows a
    few items at a time)."""

    layout: list[list[str]] = field(default_factory=list)  # keys per chunk
    sizes: list[int] = field(default_factory=list)  # encoded bytes per chunk
    where: dict[str, int] = field(default_factory=dict)  # key -> chunk
    size_of: dict[str, int] = field(default_factory=dict)  # key -> encoded bytes
    changed: set[str] | None = None  # item keys changed since written; None: all
    in_changelog: bool = False

    @property
    def chunks(self) -> int:
        return len(self.layout)

    def lay_out(self, items: dict[str, ItemState]) -> list[int]:
        """Chunk every item afresh; the chunks to write (all)."""
        old = self.chunks
        self.layout, self.sizes, self.where, self.size_of = [], [], {}, {}
        for key, item in items.items():
            self._place(key, item_bytes(item) + 1)
        self.changed = set()
        return list(range(max(old, self.chunks)))

    def take(self, chunks: list[list[ItemState]]) -> None:
        """The layout the changelog holds (on a restore): later changes rewrite just the
        chunks they touch, and the items keep their order."""
        self.layout, self.sizes, self.where, self.size_of = [], [], {}, {}
        for n, run in enumerate(chunks):
            self.layout.append([i.key for i in run])
            self.sizes.append(0)
            for item in run:
                size = item_bytes(item) + 1
                self.sizes[n] += size
                self.where[item.key] = n
                self.size_of[item.key] = size
        self.changed = set()

    def update(self, items: dict[str, ItemState]) -> list[int] | None:
        """Place the changed items; the chunks to write, or None when a chunk outgrew
        the budget (then everything is laid out afresh)."""
        touched: set[int] = set()
        changed = self.changed or set()
        # New items are the last ones of the job; placed in its order (the feed numbers
        # messages by it), found from the end.
        fresh = {k for k in changed if k not in self.where and k in items}
        ordered: list[str] = []
        for key in reversed(items):
            if len(ordered) == len(fresh):
                break
            if key in fresh:
                ordered.append(key)
        for key in reversed(ordered):
            touched.add(self._place(key, item_bytes(items[key]) + 1))
        for key in changed - fresh:
            item = items.get(key)
            chunk = self.where.get(key)
            if item is None or chunk is None:
                continue
            size = item_bytes(item) + 1
            self.sizes[chunk] += size - self.size_of[key]
            self.size_of[key] = size
            if self.sizes[chunk] > ITEM_CHUNK_BYTES:
                return None
            touched.add(chunk)
        self.changed = set()
        return sorted(touched)

    def _place(self, key: str, size: int) -> int:
        if not self.layout or (self.sizes[-1] + size > ITEM_CHUNK_BYTES and self.layout[-1]):
            self.layout.append([])
            self.sizes.append(0)
        chunk = len(self.layout) - 1
        self.layout[chunk].append(key)
        self.sizes[chunk] += size
        self.where[key] = chunk
        self.size_of[key] = size
        return chunk


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
            if current is None or written.changed is None or not event.items:
                written.changed = None
            else:
                written.changed.update(i.key for i in event.items)
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
            written = self._written[job_id] = _Written(in_changelog=True)
            written.take([parts.get(n, []) for n in range(header.item_chunks)])
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

    def is_own_unread(self, event_id: UUID) -> bool:
        """Whether ``event_id`` is an event this worker wrote and has not read back yet."""
        return event_id in self._own_unread

    def read_back(self, partition: int, job_id: str, event_id: UUID, offset: int) -> None:
        """One of this worker's own events came back at ``offset``: it is in the state
        already, only the offset moves on (no need to decode it again)."""
        self._own_unread.pop(event_id, None)
        own = self._own_finished.get(job_id)
        if own is not None:
            if event_id == own[0]:
                del self._own_finished[job_id]
            return
        current = self.states.get(job_id)
        if current is not None and offset > current.offset:
            self.states[job_id] = replace(current, offset=offset)
            self._dirty.setdefault(partition, set()).add(job_id)

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
            before = written.chunks
            rewrite = written.update(state.items) if written.changed is not None else None
            if rewrite is None:
                rewrite = written.lay_out(state.items)
            for n in rewrite:
                if n < written.chunks:
                    run = [state.items[k] for k in written.layout[n]]
                    records.append(
                        (chunk_key(job_id, n), JobItemsSnapshot(job_id=job_id, chunk=n, items=run))
                    )
                elif n < before:
                    records.append((chunk_key(job_id, n), None))  # fewer chunks than before
            # The header last: a restore that sees it finds every chunk it names.
            records.append((job_id, JobSnapshot.of_state(state, written.chunks)))
            written.in_changelog = True
        return records
