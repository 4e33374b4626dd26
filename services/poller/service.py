"""The poller's I/O shell: waiting jobs in, status calls to Amazon, job events out.

Ownership: one consumer group over ``amazon.job-events``; this instance owns the jobs of
its partitions while they wait for Amazon (``waiting_for_result`` without a result yet)
and is the only writer of their next status event (``JobResultReady`` / ``JobFailed``,
seq + 1). What it knows is rebuilt by replaying the partitions, so a restart (or another
instance taking over the partition) loses no waiting job: the replay finds it again.

A scheduler task keeps every waiting job's next poll time (see ``schedule``); due jobs
are polled per account, with one getFeeds for several feeds where that saves calls (see
``batching``). Every status call takes a ``feed_status`` / ``report_status`` token from
the throttle service; a 429 is reported to it and the call waits for a new token.
Decisions are taken again under ``consumer.lock`` against the current state before an
event is written, so a job that moved on (or a partition that moved away) meanwhile is
left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from services.poller import metrics
from services.poller.batching import (
    FINISHED,
    PAGE_SIZE,
    FeedsAnswer,
    FeedsQuery,
    batch_query,
    read_answer,
)
from services.poller.decision import (
    Decision,
    FailJob,
    NothingToPoll,
    RemoteStatus,
    ResultReady,
    StillWaiting,
    Submission,
    decide,
    error_decision,
    failed_event,
    result_ready_event,
    retry_logged_event,
    submission_of,
    timed_out,
    waited_s,
)
from services.poller.schedule import first_poll_in, next_poll_in, retry_in
from services.poller.settings import PollerSettings
from shared.events import JobEvent
from shared.job_state import JobState
from shared.jobs import JobStatus, JobType
from shared.metered import Metered
from shared.quotas import QuotaClass
from shared.spapi.client import SpApiClient
from shared.spapi.result import ApiResult
from shared.supervisor import Supervisor
from shared.topics import POLLER_JOBS
from shared.tracing import JobTraces, attached
from shared.worker import WorkerRuntime

log = logging.getLogger(__name__)
T = TypeVar("T")

TICK_S = 1.0  # the scheduler looks at least this often (real seconds)
INTERNAL_RETRY_S = 2.0  # real seconds before a poll that failed on our side is retried
# Jobs due within this many Amazon seconds are polled with those due now: a few seconds
# early costs nothing and lets feeds submitted together share one getFeeds.
DUE_EARLY_S = 5.0


@dataclass
class Waiting:
    """A job the poller polls for, with its schedule (wall-clock epoch seconds)."""

    submission: Submission
    shop_id: str
    job_type: JobType
    next_at: float
    metered: Metered  # the job's calls under quota tokens
    failures: int = 0  # failed calls in a row
    busy: bool = False  # a poll is in flight

    @property
    def job_id(self) -> str:
        return self.submission.job_id

    def log_fields(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "shop_id": self.shop_id,
            "account_id": self.submission.account_id,
            "job_type": self.job_type.value,
            self.submission.kind + "_id": self.submission.remote_id,
        }


class PollerService:
    def __init__(self, settings: PollerSettings, runtime: WorkerRuntime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.waiting: dict[str, Waiting] = {}
        self.traces = JobTraces()  # of the waiting jobs: the submitter's, from their events
        self._last_get_feeds: dict[str, float] = {}  # account → monotonic time
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.consumer = runtime.jobs_consumer(
            self, group_id=settings.consumer_group, changelog=POLLER_JOBS
        )

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        parts = Supervisor(stop)  # a part that ends by itself has crashed: stop, exit 1
        consuming = parts.spawn("poller consumer", self.consumer.run(stop))
        scheduling = parts.spawn("poller scheduler", self._schedule(stop))
        try:
            await parts.wait()
        finally:
            stop.set()
            for task in (scheduling, *self._tasks):
                task.cancel()
            await asyncio.gather(scheduling, *self._tasks, return_exceptions=True)
            await self.consumer.stop()
            await asyncio.gather(consuming, return_exceptions=True)

    # ------------------------------------------------------------------ consumer callbacks
    # Called under consumer.lock: they only update the schedule, never wait on Amazon.

    async def on_ready(self, partition: int, states: list[JobState]) -> None:
        for state in states:
            self._track(state)
        log.info(
            "partition replayed",
            extra={"partition": partition, "waiting": sum(1 for s in states if _waits(s))},
        )

    async def on_job_event(self, state: JobState, event: JobEvent) -> None:
        self._track(state)

    def on_finished_while_restoring(self, partition: int, state: JobState) -> None:
        return None  # a finished job is polled no more

    async def on_revoked(self, dropped: list[JobState]) -> None:
        for state in dropped:
            self._forget(state.job_id)

    def _track(self, state: JobState) -> None:
        if not _waits(state):
            self._forget(state.job_id)
            return
        if state.job_id in self.waiting:
            return
        try:
            submission = submission_of(state)
        except NothingToPoll as exc:
            self._spawn(self._fail_unpollable(state, str(exc)))
            return
        waited = waited_s(submission, _now(), self.settings.time_scale)
        self.waiting[state.job_id] = Waiting(
            submission,
            shop_id=state.shop_id,
            job_type=state.job_type,
            next_at=time.time()
            + self._real(first_poll_in(waited, self.settings.max_wait_s, state.job_id)),
            metered=self.runtime.metered(state, wait_s=self.settings.token_wait_s),
        )
        metrics.WAITING.set(len(self.waiting))
        self.traces.remember(state.job_id)  # the event's context (none when restored)
        log.info(
            "waiting for Amazon",
            extra=self.waiting[state.job_id].log_fields() | {"waited_amazon_s": round(waited)},
        )
        self._wake.set()

    def _forget(self, job_id: str) -> None:
        self.traces.forget(job_id)
        if self.waiting.pop(job_id, None) is not None:
            metrics.WAITING.set(len(self.waiting))

    # ------------------------------------------------------------------ scheduling

    async def _schedule(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            now = time.time()
            horizon = now + self._real(DUE_EARLY_S)
            due_by_account: dict[str, list[Waiting]] = defaultdict(list)
            for job in self.waiting.values():
                if not job.busy and job.next_at <= horizon:
                    due_by_account[job.submission.account_id].append(job)
            for account_id, due in due_by_account.items():
                self._start_polls(account_id, due)
            idle = [j.next_at for j in self.waiting.values() if not j.busy]
            wait = min(TICK_S, max(0.0, min(idle, default=now + TICK_S) - time.time()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.005))

    def _start_polls(self, account_id: str, due: list[Waiting]) -> None:
        """Decide (synchronously, so no job is picked twice) how to poll one account's
        due jobs, mark them busy and start the polls."""
        # A job at its waiting limit gets a getFeed of its own: its last answer must be
        # definite, not "not among the finished ones".
        batchable = [
            j
            for j in self.waiting.values()
            if j.submission.account_id == account_id and not j.busy and not self._over_limit(j)
        ]
        last = self._last_get_feeds.get(account_id)
        query = batch_query(
            [j.submission for j in due if not self._over_limit(j)],
            [j.submission for j in batchable],
            min_feeds=self.settings.batch_min_feeds,
            allowed=last is None
            or time.monotonic() - last >= self._real(self.settings.get_feeds_interval_s),
        )
        riders: list[Waiting] = []
        if query is not None:
            riders = [j for j in batchable if j.submission.remote_id in query.feed_ids]
            self._last_get_feeds[account_id] = time.monotonic()
        for job in [*due, *riders]:
            job.busy = True
        self._spawn(self._poll_account(due, query, riders))

    async def _poll_account(
        self, due: list[Waiting], query: FeedsQuery | None, riders: list[Waiting]
    ) -> None:
        try:
            singles = due if query is None else await self._poll_batch(due, query, riders)
            await asyncio.gather(*(self._poll_one(job) for job in singles))
        except Exception:
            # Not Amazon (handled per call) but our own side, e.g. Kafka refusing the
            # event: try again a little later rather than in a tight loop.
            log.exception("poll failed", extra={"jobs": [j.job_id for j in due]})
            for job in [*due, *riders]:
                job.next_at = max(job.next_at, time.time() + INTERNAL_RETRY_S)
        finally:
            for job in [*due, *riders]:
                job.busy = False
            self._wake.set()

    async def _poll_batch(
        self, due: list[Waiting], query: FeedsQuery, riders: list[Waiting]
    ) -> list[Waiting]:
        """One getFeeds for the account; return the due jobs it could not answer for."""
        rider_ids = {j.job_id for j in riders}
        lead = next(j for j in due if j.job_id in rider_ids)
        try:
            result = await self._metered(
                lead,
                QuotaClass.FEED_LIST,
                "getFeeds",
                lambda client: client.get_feeds(
                    feed_types=query.feed_types,
                    processing_statuses=[s.value for s in FINISHED],
                    page_size=PAGE_SIZE,
                    created_since=query.created_since,
                ),
            )
        except Exception as exc:  # the due jobs are asked one by one instead
            log.warning(
                "getFeeds failed; polling one by one",
                extra=lead.log_fields() | {"error": f"{type(exc).__name__}: {exc}"},
            )
            return due
        answer: FeedsAnswer = read_answer(
            query, result.value.feeds, has_more=result.value.next_token is not None
        )
        due_ids = {j.job_id for j in due}
        singles: list[Waiting] = []
        answered = 0
        for job in riders:
            feed_id = job.submission.remote_id
            if feed_id in answer.finished:
                answered += 1
                await self._conclude(job, self._decide(job, answer.finished[feed_id]))
            elif feed_id in answer.still_waiting:
                # Answered for now, due or not: its next poll counts from here, which also
                # lines the account's feeds up for the next shared call.
                answered += 1
                await self._conclude(job, StillWaiting())
            elif job.job_id in due_ids:
                singles.append(job)  # on a later page we did not read
        metrics.CALLS_SAVED.inc(max(0, answered - 1))
        singles.extend(j for j in due if j.job_id not in rider_ids)  # reports, untyped feeds
        return singles

    async def _poll_one(self, job: Waiting) -> None:
        with attached(self.traces.of(job.job_id)):  # its getFeed/getReport in its trace
            await self._poll_one_traced(job)

    async def _poll_one_traced(self, job: Waiting) -> None:
        submission = job.submission
        try:
            if submission.kind == "feed":
                feed = await self._metered(
                    job,
                    QuotaClass.FEED_STATUS,
                    "getFeed",
                    lambda client: client.get_feed(submission.remote_id),
                )
                remote = RemoteStatus.of_feed(feed.value)
            else:
                report = await self._metered(
                    job,
                    QuotaClass.REPORT_STATUS,
                    "getReport",
                    lambda client: client.get_report(submission.remote_id),
                )
                remote = RemoteStatus.of_report(report.value)
        except Exception as exc:
            await self._call_failed(job, exc)
            return
        await self._conclude(job, self._decide(job, remote))

    def _decide(self, job: Waiting, remote: RemoteStatus) -> Decision:
        job.failures = 0
        return decide(job.submission, remote, self._waited(job), self.settings.max_wait_s)

    # ------------------------------------------------------------------ outcomes

    async def _conclude(self, job: Waiting, decision: Decision) -> None:
        if isinstance(decision, StillWaiting):
            waited = self._waited(job)
            job.next_at = time.time() + self._real(next_poll_in(waited, self.settings.max_wait_s))
            log.debug(
                "still waiting",
                extra=job.log_fields()
                | {"status": decision.processing_status, "waited_amazon_s": round(waited)},
            )
            return
        if isinstance(decision, ResultReady):
            ready = decision
            if await self._emit(job.job_id, lambda s: result_ready_event(s, ready), final=True):
                metrics.RESULTS.labels(job.submission.kind, "result_ready").inc()
                metrics.WAIT_SECONDS.labels(job.submission.kind).observe(self._waited(job))
                log.info(
                    "result ready",
                    extra=job.log_fields()
                    | {"data": decision.data.model_dump(mode="json"), "detail": decision.message},
                )
            return
        await self._fail(job, decision)

    async def _fail(self, job: Waiting, fails: FailJob) -> None:
        if await self._emit(job.job_id, lambda s: failed_event(s, fails), final=True):
            metrics.RESULTS.labels(job.submission.kind, fails.failure).inc()
            log.error(
                "job failed: %s",
                fails.message,
                extra=job.log_fields() | {"failure": fails.failure},
            )

    async def _call_failed(self, job: Waiting, exc: Exception) -> None:
        fails = error_decision(job.submission, exc)
        if fails is not None:
            await self._fail(job, fails)
            return
        waited = self._waited(job)
        problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if waited >= self.settings.max_wait_s:
            last = f"the last status request failed: {problem}"
            await self._fail(job, timed_out(job.submission, waited, self.settings.max_wait_s, last))
            return
        job.failures += 1
        delay = min(retry_in(job.failures), self.settings.max_wait_s - waited)
        job.next_at = time.time() + self._real(delay)
        fields = job.log_fields() | {"error": problem, "failures": job.failures}
        log.warning("status request failed; will retry", extra=fields)
        message = (
            f"asking Amazon about {job.submission.label} failed ({problem}); "
            f"retry {job.failures} in {delay:.0f} s (Amazon time)"
        )
        await self._emit(job.job_id, lambda s: retry_logged_event(s, message), final=False)

    async def _fail_unpollable(self, state: JobState, reason: str) -> None:
        fails = FailJob("no_submission", reason)
        if await self._emit(state.job_id, lambda s: failed_event(s, fails), final=True):
            log.error(
                "job failed: %s",
                reason,
                extra={"job_id": state.job_id, "shop_id": state.shop_id, "failure": fails.failure},
            )

    async def _emit(
        self, job_id: str, build: Callable[[JobState], JobEvent], *, final: bool
    ) -> bool:
        """Write the job's next event if this instance still owns the waiting job."""
        with self.traces.span(job_id, "poller.conclude" if final else "poller.note"):
            written = await self.consumer.emit_for(
                job_id, lambda state: [build(state)] if _waits(state) else None
            )
        if final or not written:
            self._forget(job_id)
        return written

    # ------------------------------------------------------------------ Amazon calls

    async def _metered(
        self,
        job: Waiting,
        quota_class: QuotaClass,
        operation: str,
        call: Callable[[SpApiClient], Awaitable[ApiResult[T]]],
        *,
        report_rate: bool = True,
    ) -> ApiResult[T]:
        """One status call under a quota token (shared/metered.py), at most
        ``concurrency`` at once."""
        client = self.runtime.clients.for_account(job.submission.account_id)

        async def limited() -> ApiResult[T]:
            async with self._slots:
                return await call(client)

        return await job.metered.call(quota_class, operation, limited, report_rate=report_rate)

    # ------------------------------------------------------------------ helpers

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("poll task crashed", exc_info=task.exception())

    def _real(self, amazon_seconds: float) -> float:
        return amazon_seconds / self.settings.time_scale

    def _waited(self, job: Waiting) -> float:
        return waited_s(job.submission, _now(), self.settings.time_scale)

    def _over_limit(self, job: Waiting) -> bool:
        return self._waited(job) >= self.settings.max_wait_s


def _waits(state: JobState) -> bool:
    return state.status is JobStatus.WAITING_FOR_RESULT and not state.result_ready


def _now() -> datetime:
    return datetime.now(UTC)
