"""The applier's I/O shell: ready results in, documents from Amazon, outcomes out.

Ownership: one consumer group over ``amazon.job-events``. Once the poller has written
``JobResultReady`` the job is the applier's, which alone writes its last status event
(``JobDone`` / ``JobFailed``, seq + 1). On assignment the replay finds every job whose
last status event is ``JobResultReady`` and applies it again: effects are published
before ``JobDone``, and publishing them twice is harmless (the records are keyed and
carry the same content), so a crash anywhere repeats work but loses nothing.

Per job: the result document is fetched under a ``feed_result`` / ``report_result`` token
(a 429 is reported and waits for a new token), downloaded from its presigned URL, read
by the pure modules (in a thread: a large report must not stall the consumer), then the
listing / inventory records go out, then ``JobDone``, re-checked under ``consumer.lock``
against the current state.

Also: listings a failed job had marked pending (the submitter marks them when it accepts
a job) are set to error with the job's reason; see ``listings.stuck_listings``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from services.applier import metrics
from services.applier.applied import Applied
from services.applier.decision import (
    apply_result,
    done_event,
    error_failure,
    failed_event,
    result_document_id,
    result_kind,
)
from services.applier.listings import stuck_listings
from services.applier.settings import ApplierSettings
from shared.events import (
    Event,
    JobEvent,
    JobFailed,
    JobLogged,
    ListingState,
    LogLine,
    next_job_event,
)
from shared.failures import Failure
from shared.heap import full_collections, loading_tables
from shared.job_state import JobState
from shared.jobs import JobStatus
from shared.kafka.owned_jobs import PartitionLost
from shared.kafka.tail import TopicTail
from shared.market_tables import (
    MarketTable,
    home_of,
    inventory_table,
    listings_table,
    record_key,
    replacing,
)
from shared.quotas import QuotaClass
from shared.spapi.client import SpApiClient
from shared.spapi.result import ApiResult
from shared.supervisor import Supervisor
from shared.topics import APPLIER_JOBS, INVENTORY, LISTINGS
from shared.tracing import TRACER
from shared.worker import WorkerRuntime

log = logging.getLogger(__name__)
T = TypeVar("T")
Record = tuple[str, Event | None]  # a compacted topic's key and value (None: a tombstone)

RETRY_BASE_S = 5.0  # Amazon seconds before the first retry of a failed download
RETRY_MAX_S = 300.0
INTERNAL_RETRY_S = 2.0  # real seconds before an apply that failed on our side is retried
AFTER_QUIESCE_S = 2.0  # real seconds of the stop deadline kept for the checkpoint and leaving


class ApplierService:
    def __init__(self, settings: ApplierSettings, runtime: WorkerRuntime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.listings: MarketTable[ListingState] = listings_table()
        self.inventory: MarketTable[str] = inventory_table()
        self._applying: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(settings.concurrency)
        self.consumer = runtime.jobs_consumer(
            self, group_id=settings.consumer_group, changelog=APPLIER_JOBS
        )

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        bootstrap = self.settings.kafka_bootstrap_servers
        tails = [
            TopicTail(bootstrap, LISTINGS, self.listings.on_record),
            TopicTail(bootstrap, INVENTORY, self.inventory.on_record),
        ]
        for tail in tails:
            await tail.start()
        try:
            with loading_tables():  # a million listings: no collector pauses (shared/heap.py)
                for tail in tails:
                    await tail.wait_caught_up()
            await self.consumer.start()
            parts = Supervisor(stop)  # the consumer ending by itself has crashed: exit 1
            consuming = parts.spawn("applier consumer", self.consumer.run(stop))
            collecting = parts.spawn("applier full collections", full_collections(stop))
            try:
                await parts.wait()
            finally:
                stop.set()
                # Results being published finish with their JobDone first (design §15);
                # the rest of the stop deadline is for the checkpoint and leaving.
                quiesce_s = max(self.settings.stop_timeout_s - AFTER_QUIESCE_S, 0.5)
                await self.consumer.wind_down(
                    [*self._applying.values(), *self._tasks], timeout_s=quiesce_s
                )
                await self.consumer.stop()
                await asyncio.gather(consuming, collecting, return_exceptions=True)
        finally:
            for tail in tails:
                await tail.stop()

    # ------------------------------------------------------------------ consumer callbacks
    # Called under consumer.lock: they only start work, never wait on Amazon.

    async def on_ready(self, partition: int, states: list[JobState]) -> None:
        ready = 0
        for state in states:
            if _result_ready(state):
                ready += 1
                self._start(state)
        log.info("partition replayed", extra={"partition": partition, "results_to_apply": ready})

    def on_finished_while_restoring(self, partition: int, state: JobState) -> None:
        if state.status is JobStatus.ERROR:  # its last owner may have died before this
            self._unstick(state)

    async def on_job_event(self, state: JobState, event: JobEvent) -> None:
        if _result_ready(state):
            self._start(state)
        elif isinstance(event, JobFailed):
            self._unstick(state)

    async def on_revoked(self, dropped: list[JobState]) -> None:
        for state in dropped:
            task = self._applying.pop(state.job_id, None)
            if task is not None:
                task.cancel()  # the new owner applies it again

    def _start(self, state: JobState) -> None:
        running = self._applying.get(state.job_id)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._apply(state), name=f"apply {state.job_id}")
        self._applying[state.job_id] = task
        task.add_done_callback(lambda t: self._finished(state.job_id, t))

    def _finished(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._applying.get(job_id) is task:
            del self._applying[job_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("apply task crashed", extra={"job_id": job_id}, exc_info=task.exception())

    # ------------------------------------------------------------------ applying a result

    async def _apply(self, state: JobState) -> None:
        # The task was made while the result's event was current (owned_jobs attaches its
        # record's trace context), so this span continues the job's trace.
        with TRACER.start_as_current_span("applier.apply", attributes={"job.id": state.job_id}):
            await self._apply_retrying(state)

    async def _apply_retrying(self, state: JobState) -> None:
        while True:
            try:
                await self._apply_once(state)
                return
            except Exception:
                # Not Amazon (handled in _read_result) but our side, e.g. Kafka refusing a
                # record: the effects are idempotent, so the whole apply is tried again.
                log.exception("applying failed; will try again", extra=_log_fields(state))
            await asyncio.sleep(INTERNAL_RETRY_S)
            if not self._still_mine(state.job_id):
                return

    async def _apply_once(self, state: JobState) -> None:
        started = time.perf_counter()
        try:
            applied = await self._read_result(state)
        except _CannotApply as fails:
            await self._fail(state, fails.failure, fails.message)
            return
        if applied is None:
            return  # the job moved on or away meanwhile
        # Effects and JobDone together in a critical section: a rebalance waits for them,
        # so a result is applied once unless a process dies in between.
        try:
            async with self.consumer.owning(self.consumer.partition_of(state.job_id)):
                if not self._still_mine(state.job_id):
                    return
                await self._publish_effects(state, applied)
                if not await self._emit(state.job_id, lambda s: done_event(s, applied), owned=True):
                    return
        except PartitionLost:
            return
        metrics.JOBS.labels(state.job_type.value, "done").inc()
        metrics.APPLY_SECONDS.labels(state.job_type.value).observe(time.perf_counter() - started)
        for item in applied.items:
            metrics.ITEMS.labels(state.job_type.value, item.status).inc()
        log.info("job done", extra=_log_fields(state) | {"counts": applied.counts})

    async def _read_result(self, state: JobState) -> Applied | None:
        """Download and read the result; retries what may pass, raises _CannotApply for what
        will not, returns None when the job is no longer this instance's to apply."""
        attempt = 0
        while True:
            try:
                async with self._slots:  # never held across a retry's sleep
                    document_id = result_document_id(state)
                    document = None
                    if document_id is not None:
                        document = await self._download(state, document_id)
                    account, market, home = self._market(state)
                    return await asyncio.to_thread(
                        apply_result,
                        state,
                        document,
                        listings=self.listings.of_market(account, market, home),
                        inventory=set(self.inventory.of_market(account, market, home)),
                    )
            except Exception as exc:
                decided = error_failure(exc)
                if decided is not None:
                    raise _CannotApply(*decided) from exc
                attempt += 1
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if attempt >= self.settings.max_attempts:
                    raise _CannotApply(
                        "unavailable",
                        f"gave up on the result document after {attempt} attempts; last: "
                        f"{problem}. Amazon keeps result documents for 28 days: send the "
                        "job again to learn its outcome.",
                    ) from exc
                delay = min(RETRY_MAX_S, RETRY_BASE_S * 2.0 ** (attempt - 1))
                await self._note_retry(state, exc, problem, attempt, delay)
                await asyncio.sleep(delay / self.settings.time_scale)
                if not self._still_mine(state.job_id):
                    return None

    async def _download(self, state: JobState, document_id: str) -> bytes:
        if result_kind(state) == "feed":
            feed_doc = await self._metered(
                state,
                QuotaClass.FEED_RESULT,
                "getFeedDocument",
                lambda client: client.get_feed_document(document_id),
            )
            meta: Any = feed_doc.value
        else:
            report_doc = await self._metered(
                state,
                QuotaClass.REPORT_RESULT,
                "getReportDocument",
                lambda client: client.get_report_document(document_id),
            )
            meta = report_doc.value
        client = self.runtime.clients.for_account(state.account_id)
        content = (
            await client.download_document(meta, max_bytes=self.settings.max_document_bytes)
        ).value
        metrics.DOCUMENT_BYTES.labels(result_kind(state)).observe(len(content))
        return content

    async def _note_retry(
        self, state: JobState, exc: Exception, problem: str, attempt: int, delay: float
    ) -> None:
        fields = _log_fields(state) | {"error": problem, "attempt": attempt}
        log.warning("result download failed; will retry", extra=fields)
        message = (
            f"downloading the result failed ({problem}); retry {attempt} of "
            f"{self.settings.max_attempts - 1} in {delay:.0f} s (Amazon time)"
        )
        await self._emit(
            state.job_id,
            lambda s: next_job_event(JobLogged, s, log=[LogLine(level="warning", message=message)]),
        )

    def _market(self, state: JobState) -> tuple[str, str, str]:
        """(account, the job's marketplace, the account's first): the listings and
        inventory a job's result is read against are those of its marketplace."""
        account = self.runtime.accounts.accounts.get(state.account_id)
        home = home_of(account) if account is not None else ""
        return state.account_id, state.facts.marketplace_id or home, home

    def _listing_records(self, state: JobState, listings: list[ListingState]) -> list[Record]:
        account, market, home = self._market(state)
        return [
            (key, value)
            for listing in listings
            for key, value in replacing(
                listing, self.listings.get(account, market, listing.sku, home)
            )
        ]

    async def _publish_effects(self, state: JobState, applied: Applied) -> None:
        listings = self._listing_records(state, applied.listings)
        account, market, home = self._market(state)
        rows_before = self.inventory.of_market(account, market, home)
        inventory: list[Record] = []
        for row in applied.inventory:
            key = record_key(row)
            inventory.append((key, row))
            if rows_before.get(row.sku, key) != key:
                inventory.append((rows_before[row.sku], None))  # a row of before, elsewhere
        removed = [rows_before[sku] for sku in applied.removed_inventory if sku in rows_before]
        inventory += [(key, None) for key in removed]
        await self.runtime.publisher.publish_table(LISTINGS, listings)
        await self.runtime.publisher.publish_table(INVENTORY, inventory)
        for key, listing in listings:
            self.listings.on_record(key, listing)
        for key, value in inventory:
            self.inventory.on_record(key, value)
        metrics.RECORDS.labels(LISTINGS.name).inc(len(listings))
        metrics.RECORDS.labels(INVENTORY.name).inc(len(inventory))

    # ------------------------------------------------------------------ failures

    async def _fail(self, state: JobState, failure: Failure, message: str) -> None:
        if await self._emit(state.job_id, lambda s: failed_event(s, failure, message)):
            metrics.JOBS.labels(state.job_type.value, failure).inc()
            log.error("job failed: %s", message, extra=_log_fields(state) | {"failure": failure})

    def _unstick(self, state: JobState) -> None:
        stuck = stuck_listings(state, self.listings.of_market(*self._market(state)))
        if not stuck:
            return
        records = self._listing_records(state, stuck)
        for key, listing in records:  # at once, so a repeat of the event finds nothing to do
            self.listings.on_record(key, listing)
        task = asyncio.create_task(self._publish_stuck(state, stuck, records))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish_stuck(
        self, state: JobState, stuck: list[ListingState], records: list[Record]
    ) -> None:
        await self.runtime.publisher.publish_table(LISTINGS, records)
        metrics.RECORDS.labels(LISTINGS.name).inc(len(stuck))
        log.info(
            "listings of a failed job set to error",
            extra=_log_fields(state) | {"skus": [s.sku for s in stuck]},
        )

    # ------------------------------------------------------------------ writing job events

    def _still_mine(self, job_id: str) -> bool:
        state = self.consumer.book.states.get(job_id)
        return (
            state is not None
            and self.consumer.owns(self.consumer.partition_of(job_id))
            and _result_ready(state)
        )

    async def _emit(
        self, job_id: str, build: Callable[[JobState], JobEvent], *, owned: bool = False
    ) -> bool:
        """Write the job's next event if the job is still this instance's to apply
        (``owned``: the caller is in the partition's critical section already)."""
        return await self.consumer.emit_for(
            job_id, lambda state: [build(state)] if _result_ready(state) else None, owned=owned
        )

    # ------------------------------------------------------------------ Amazon calls

    async def _metered(
        self,
        state: JobState,
        quota_class: QuotaClass,
        operation: str,
        call: Callable[[SpApiClient], Awaitable[ApiResult[T]]],
    ) -> ApiResult[T]:
        """One download call under a quota token (shared/metered.py)."""
        client = self.runtime.clients.for_account(state.account_id)
        metered = self.runtime.metered(state, wait_s=self.settings.token_wait_s)
        return await metered.call(quota_class, operation, lambda: call(client))


class _CannotApply(Exception):
    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message


def _result_ready(state: JobState) -> bool:
    return state.status is JobStatus.WAITING_FOR_RESULT and state.result_ready


def _log_fields(state: JobState) -> dict[str, Any]:
    return {
        "job_id": state.job_id,
        "shop_id": state.shop_id,
        "account_id": state.account_id,
        "job_type": state.job_type.value,
    }
