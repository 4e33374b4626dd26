"""The decision on a ``CancelRequested``: cancel, reject, or refuse as not the shop's job."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.events import (
    CancelRequested,
    ItemState,
    JobCanceled,
    JobCancelRejected,
    ListingState,
    LogLine,
    next_job_event,
)
from shared.job_data import CancelRejectedData
from shared.job_state import JobState
from shared.state_machine import cancel_rejection_reason


@dataclass(frozen=True)
class Canceled:
    event: JobCanceled
    restore: list[ListingState] = field(default_factory=list)
    tombstones: list[str] = field(default_factory=list)  # SKUs that had no listing before


@dataclass(frozen=True)
class Rejected:
    event: JobCancelRejected


@dataclass(frozen=True)
class NotFound:
    reason: str  # for the dead letter: nothing to attach a job event to


def decide_cancel(
    state: JobState | None, request: CancelRequested
) -> Canceled | Rejected | NotFound:
    if state is None:
        return NotFound(f"cancel of unknown job {request.job_id!r}")
    if state.shop_id != request.shop_id:
        # Said as "unknown" on purpose: one shop learns nothing of another's jobs.
        return NotFound(
            f"cancel of job {request.job_id!r} by shop {request.shop_id!r}, which does not own it"
        )
    reason = cancel_rejection_reason(state.status)
    if reason is not None:
        return Rejected(
            next_job_event(
                JobCancelRejected,
                state,
                data=CancelRejectedData(cancel_rejected=reason),
                log=[LogLine(level="warning", message=f"cancel rejected: {reason}")],
            )
        )
    items = [item.model_copy(update={"status": "canceled"}) for item in state.items.values()]
    restore: list[ListingState] = []
    tombstones: list[str] = []
    if state.facts.listings_marked:
        for item in state.items.values():
            if item.before is None:
                tombstones.append(item.key)
            else:
                restore.append(_restored(state, item))
    event = next_job_event(
        JobCanceled,
        state,
        items=items,
        log=[
            LogLine(
                message=f"canceled on request; {len(items)} item(s) returned to their "
                "state before the job"
            )
        ],
    )
    return Canceled(event, restore, tombstones)


def _restored(state: JobState, item: ItemState) -> ListingState:
    assert item.before is not None
    return ListingState(
        account_id=state.account_id,
        shop_id=state.shop_id,
        sku=item.key,
        marketplace_id=state.facts.marketplace_id,  # the state before, on the job's marketplace
        **item.before,
    )
