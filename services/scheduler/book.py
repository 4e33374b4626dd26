"""What one scheduler instance knows (pure): the schedules of its partitions, the slot
each last ran, and which slots are due now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.events import Event, JobRequested
from shared.schedules import ScheduleDefined, ScheduleRan, due_slot, slot_request


@dataclass
class ScheduleBook:
    # partition → schedule id → schedule; a partition is listed once assigned
    schedules: dict[int, dict[str, ScheduleDefined]] = field(default_factory=dict)
    # partition → the end offset it must be read to before its schedules run: an older
    # version of a schedule (not yet compacted away) must not run before the newest is read
    catching_up: dict[int, int] = field(default_factory=dict)
    # every schedule's last run, whatever its partition (amazon.internal.scheduler-runs)
    runs: dict[str, ScheduleRan] = field(default_factory=dict)

    def assigned(self, partition: int, end_offset: int) -> None:
        self.schedules[partition] = {}
        if end_offset > 0:
            self.catching_up[partition] = end_offset
        else:
            self.catching_up.pop(partition, None)

    def caught_up(self, partition: int) -> None:
        self.catching_up.pop(partition, None)

    def revoked(self, partition: int) -> None:
        self.schedules.pop(partition, None)
        self.catching_up.pop(partition, None)

    def on_schedule(self, partition: int, offset: int, key: str, event: Event | None) -> bool:
        """Fold one record of amazon.schedules; True when it deleted a schedule that had
        run (its run record is then owed a tombstone)."""
        table = self.schedules.setdefault(partition, {})
        deleted = False
        if isinstance(event, ScheduleDefined):
            table[event.schedule_id] = event
        elif event is None:
            table.pop(key, None)
            deleted = key in self.runs
        end = self.catching_up.get(partition)
        if end is not None and offset + 1 >= end:
            del self.catching_up[partition]
        return deleted

    def on_run(self, key: str, event: Event | None) -> None:
        """Handler for the tail of amazon.internal.scheduler-runs."""
        if event is None:
            self.runs.pop(key, None)
        elif isinstance(event, ScheduleRan):
            # The newest wins: this instance records its own runs before reading them back.
            known = self.runs.get(event.schedule_id)
            if known is None or (event.revision, event.slot) >= (known.revision, known.slot):
                self.runs[event.schedule_id] = event

    def due(self, now: datetime, time_scale: float) -> list[tuple[JobRequested, ScheduleRan]]:
        """The job of every schedule whose newest slot has not run, on partitions read."""
        out = []
        for partition, table in self.schedules.items():
            if partition in self.catching_up:
                continue
            for schedule in table.values():
                last = self.runs.get(schedule.schedule_id)
                slot = due_slot(schedule, last, now, time_scale)
                if slot is not None:
                    out.append(slot_request(schedule, slot, last, time_scale))
        return out
