"""The jobs of the partitions a service instance owns, rebuilt by replaying job events.

On assignment a service reads its partitions of ``amazon.job-events`` from the start and
folds them; a partition is *ready* once the replay has reached the end offset seen at
assignment. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from shared.events import JobEvent
from shared.job_state import JobState, fold


@dataclass
class JobBook:
    states: dict[str, JobState] = field(default_factory=dict)
    partition_of: dict[str, int] = field(default_factory=dict)
    targets: dict[int, int] = field(default_factory=dict)  # partition -> end offset to reach
    ready: set[int] = field(default_factory=set)
    # Annotations have no seq of their own; their ids tell a repeat from a new one.
    seen_annotations: dict[str, set[UUID]] = field(default_factory=dict)

    def assign(self, end_offsets: dict[int, int]) -> list[int]:
        """Start replaying partitions; return those already ready (empty ones)."""
        now_ready = []
        for partition, end in end_offsets.items():
            self.targets[partition] = end
            if end == 0:
                self.ready.add(partition)
                now_ready.append(partition)
            else:
                self.ready.discard(partition)
        return now_ready

    def revoke(self, partitions: set[int]) -> list[JobState]:
        """Forget the jobs of partitions another instance now owns."""
        dropped = [s for j, s in self.states.items() if self.partition_of.get(j) in partitions]
        for state in dropped:
            del self.states[state.job_id]
            del self.partition_of[state.job_id]
            self.seen_annotations.pop(state.job_id, None)
        for partition in partitions:
            self.targets.pop(partition, None)
            self.ready.discard(partition)
        return dropped

    def apply(self, partition: int, offset: int, event: JobEvent) -> tuple[JobState, bool]:
        """Fold one event; return the job's state and whether this made the partition ready."""
        state = self.record(partition, event)
        became_ready = False
        if partition not in self.ready and offset + 1 >= self.targets.get(partition, 0):
            self.ready.add(partition)
            became_ready = True
        return state, became_ready

    def record(self, partition: int, event: JobEvent) -> JobState:
        """Fold an event (also one this instance wrote itself), skipping repeats."""
        current = self.states.get(event.job_id)
        if event.IS_ANNOTATION:
            seen = self.seen_annotations.setdefault(event.job_id, set())
            if event.event_id in seen and current is not None:
                return current
            seen.add(event.event_id)
        state = fold(current, event)
        self.states[event.job_id] = state
        self.partition_of[event.job_id] = partition
        return state

    def in_partition(self, partition: int) -> list[JobState]:
        return [s for j, s in self.states.items() if self.partition_of.get(j) == partition]

    def is_ready(self, partition: int) -> bool:
        return partition in self.ready
