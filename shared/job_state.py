"""A job's state as a pure fold of its events (event sourcing).

Every service that acts on jobs folds ``amazon.job-events`` into the states of the jobs it
owns; its changelog keeps those states so a restart reads only what is live
(docs/design.md §14).

Status-changing events are written by the one service that owns the job at that stage
(submitter: reserved → processing; poller: waiting; applier: result ready → done), each
taking ``seq = last + 1``. Annotations (``JobLogged``, ``JobCancelRejected``) may come
from another stage at the same moment, so they never change the status and repeat the
newest seq they saw instead of taking a new one. Each state remembers the job-events
offset of the last event folded into it: an event at or below it is a repeat (a restart
re-reads events its changelog already holds), whatever its kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from shared.events import ItemState, JobEvent, JobResultReady
from shared.job_data import JobFacts, merge_facts
from shared.jobs import JobStatus, JobType
from shared.state_machine import transition


@dataclass(frozen=True)
class JobState:
    job_id: str
    shop_id: str
    account_id: str
    job_type: JobType
    status: JobStatus
    seq: int
    created_at: datetime
    updated_at: datetime
    # What the job's events said in their ``data``, merged (shared.job_data).
    facts: JobFacts = field(default_factory=JobFacts)
    items: dict[str, ItemState] = field(default_factory=dict)
    result_ready: bool = False  # JobResultReady seen: the applier's turn
    last_event_type: str = ""
    offset: int = -1  # job-events offset of the last event folded in (-1: none known)

    def next_seq(self) -> int:
        return self.seq + 1


def fold(state: JobState | None, event: JobEvent, offset: int | None = None) -> JobState:
    """Apply one event read at ``offset`` of its partition (None: written by this service
    and not yet read back). Events already applied — by offset, or status events by seq —
    leave the state unchanged."""
    if state is not None and offset is not None and offset <= state.offset:
        return state
    new = _fold(state, event)
    if offset is not None and offset > new.offset:
        new = replace(new, offset=offset)
    return new


def _fold(state: JobState | None, event: JobEvent) -> JobState:
    if event.IS_ANNOTATION:
        if state is None:
            raise ValueError(f"{event.event_type} for unknown job {event.job_id}")
        return _merge(state, event, status=state.status, seq=state.seq)
    if state is not None and event.seq <= state.seq:
        return state  # a repeat (at-least-once delivery)
    target = type(event).TARGET
    current = state.status if state is not None else None
    if target is not None:
        status = transition(event.job_type, current, target)
    elif isinstance(event, JobResultReady) and current is JobStatus.WAITING_FOR_RESULT:
        status = current
    else:
        raise ValueError(f"{event.event_type} cannot follow {current}")
    if state is None:
        state = JobState(
            job_id=event.job_id,
            shop_id=event.shop_id,
            account_id=event.account_id,
            job_type=event.job_type,
            status=status,
            seq=0,
            created_at=event.occurred_at,
            updated_at=event.occurred_at,
        )
    new = _merge(state, event, status=status, seq=event.seq)
    if isinstance(event, JobResultReady):
        new = replace(new, result_ready=True)
    return new


def _merge(state: JobState, event: JobEvent, *, status: JobStatus, seq: int) -> JobState:
    items = state.items
    if event.items:
        items = dict(items)
        for item in event.items:
            items[item.key] = item
    facts = merge_facts(state.facts, event.data)
    return replace(
        state,
        status=status,
        seq=seq,
        facts=facts,
        items=items,
        updated_at=max(state.updated_at, event.occurred_at),
        last_event_type=event.event_type,
    )
