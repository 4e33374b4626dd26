"""The job lifecycle as pure data and pure functions (docs/design.md §2).

Every status change anywhere in the system goes through :func:`transition`, so an
illegal change is rejected in one place instead of being prevented by convention.
"""

from __future__ import annotations

from shared.jobs import JobStatus, JobType

S = JobStatus

# `None` is "no job yet". A request that is invalid on arrival becomes a job in `error`
# directly: the merchant must see the rejection in the jobs list, not only SREs in
# the dead letters.
ALLOWED: dict[JobStatus | None, frozenset[JobStatus]] = {
    None: frozenset({S.RESERVED, S.ERROR}),
    S.RESERVED: frozenset({S.CREATED, S.CANCELED}),
    S.CREATED: frozenset({S.PROCESSING, S.CANCELED}),
    S.PROCESSING: frozenset({S.WAITING_FOR_RESULT, S.DONE, S.ERROR}),
    S.WAITING_FOR_RESULT: frozenset({S.DONE, S.ERROR}),
    S.DONE: frozenset(),
    S.ERROR: frozenset(),
    S.CANCELED: frozenset(),
}


class IllegalTransition(ValueError):
    def __init__(self, job_type: JobType, current: JobStatus | None, target: JobStatus) -> None:
        self.current = current
        self.target = target
        where = current.value if current else "(new)"
        super().__init__(f"{job_type.value}: {where} -> {target.value} is not allowed")


def can_transition(job_type: JobType, current: JobStatus | None, target: JobStatus) -> bool:
    if target not in ALLOWED[current]:
        return False
    # Only jobs with an asynchronous Amazon result wait for one; only jobs that may end
    # with their calls (an orders import, a stock-to-zero job sent by patchListingsItem)
    # go straight from processing to done.
    if S.WAITING_FOR_RESULT in (current, target):
        return job_type.has_async_result
    if current is S.PROCESSING and target is S.DONE:
        return job_type.may_finish_in_call
    return True


def transition(job_type: JobType, current: JobStatus | None, target: JobStatus) -> JobStatus:
    """Return ``target`` when the lifecycle allows it, else raise :class:`IllegalTransition`."""
    if not can_transition(job_type, current, target):
        raise IllegalTransition(job_type, current, target)
    return target


def cancel_rejection_reason(status: JobStatus | None) -> str | None:
    """Why a cancel cannot be honoured now, or ``None`` when it can."""
    if status is None:
        return "unknown job"
    if status.is_cancelable:
        return None
    if status.is_terminal:
        return f"the job is already {status.label.lower()}"
    return (
        f"the job is {status.label.lower()}: it has been handed to Amazon "
        "and can no longer be canceled"
    )
