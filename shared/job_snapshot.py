"""What a worker's changelog holds of one live job (docs/design.md §14).

A job is a header record (``JobSnapshot``, keyed by the job id) and its item states in
chunks (``JobItemsSnapshot``, keyed ``<job id>#<n>``), each within the message bound.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from shared.events import Event, ItemState, event
from shared.job_data import JobFacts
from shared.job_state import JobState
from shared.jobs import JobStatus, JobType


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
        return cls(
            job_id=state.job_id,
            shop_id=state.shop_id,
            account_id=state.account_id,
            job_type=state.job_type,
            status=state.status,
            seq=state.seq,
            created_at=state.created_at,
            updated_at=state.updated_at,
            data=state.facts,
            result_ready=state.result_ready,
            last_event_type=state.last_event_type,
            offset=state.offset,
            item_chunks=item_chunks,
        )

    def to_state(self, items: dict[str, ItemState]) -> JobState:
        return JobState(
            job_id=self.job_id,
            shop_id=self.shop_id,
            account_id=self.account_id,
            job_type=self.job_type,
            status=self.status,
            seq=self.seq,
            created_at=self.created_at,
            updated_at=self.updated_at,
            facts=self.data,
            items=items,
            result_ready=self.result_ready,
            last_event_type=self.last_event_type,
            offset=self.offset,
        )


@event
class JobItemsSnapshot(Event):
    """Chunk ``chunk`` of a live job's item states, in the job's item order."""

    event_type: Literal["JobItemsSnapshot"] = "JobItemsSnapshot"
    job_id: str
    chunk: int = Field(ge=0)
    items: list[ItemState]
