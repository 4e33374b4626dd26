"""What a worker's changelog holds of one live job (docs/design.md §14).

A job is a header record (``JobSnapshot``, keyed by the job id) and its item states in
chunks (``JobItemsSnapshot``, keyed ``<job id>#<n>``), each within the message bound.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events import Event, ItemState, event
from shared.job_data import JobFacts
from shared.job_state import JobState
from shared.jobs import JobStatus, JobType

# What the header record holds: every field of a JobState but its items.
# The fields a snapshot copies as they are (the facts travel as ``data``, items in chunks).
_HEADER = tuple(field.name for field in fields(JobState) if field.name not in ("items", "facts"))


def chunk_key(job_id: str, n: int) -> str:
    return f"{job_id}#{n}"


def item_bytes(item: ItemState) -> int:
    return len(item.__pydantic_serializer__.to_json(item))


@event
class JobSnapshot(Event):
    """A live job as a worker folded it; ``item_chunks`` records follow under
    ``<job id>#0`` … (written before this header)."""

    event_type: Literal["JobSnapshot"] = "JobSnapshot"
    job_id: str
    shop_id: str
    account_id: str
    job_type: JobType
    status: JobStatus
    seq: int
    created_at: AwareDatetime
    updated_at: AwareDatetime
    data: JobFacts = Field(default_factory=JobFacts)  # JobState.facts
    result_ready: bool = False
    last_event_type: str = ""
    offset: int = -1
    item_chunks: int = 0

    @classmethod
    def of_state(cls, state: JobState, item_chunks: int) -> JobSnapshot:
        header = {name: getattr(state, name) for name in _HEADER}
        return cls(**header, data=state.facts, item_chunks=item_chunks)

    def to_state(self, items: dict[str, ItemState]) -> JobState:
        header = {name: getattr(self, name) for name in _HEADER}
        return JobState(**header, facts=self.data, items=items)


@event
class JobItemsSnapshot(Event):
    """Chunk ``chunk`` of a live job's item states, in the job's item order."""

    event_type: Literal["JobItemsSnapshot"] = "JobItemsSnapshot"
    job_id: str
    chunk: int = Field(ge=0)
    items: list[ItemState]
