"""The submitter's I/O shell: Kafka in, decisions from the pure modules, Kafka and Amazon out.

Ownership: the range assignor gives this instance partition *p* of job-requests,
catalog-events and job-events together (automatic jobs get ids on their shop's partition),
so every decision about a job is taken here, one at a time under ``consumer.lock``. That
is what makes a cancel and a grant that race end as one or the other, never both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable

from prometheus_client import Counter, Gauge

from services.submitter import amazon
from services.submitter.cancel import Canceled, NotFound, Rejected, decide_cancel
from services.submitter.coalescing import (
    AutoKey,
    NotSynced,
    changes_for,
    merge,
    open_auto_jobs,
    plan,
)
from services.submitter.intake import Intake, accept
from services.submitter.listings import ListingBook
from services.submitter.settings import SubmitterSettings
from shared.accounts import UnknownAccount
from shared.events import (
    AccountRegistered,
    CancelRequested,
    JobCreated,
    JobDone,
    JobEvent,
    JobFailed,
    JobLogged,
    JobProcessing,
    JobRequested,
    JobSubmitted,
    ListingState,
    LogLevel,
    LogLine,
    OrderImported,
    next_job_event,
)
from shared.job_state import JobState
from shared.jobs import JobStatus
from shared.kafka.consumer import Message, RejectMessage
from shared.kafka.owned_jobs import OwnedJobsConsumer
from shared.kafka.partitions import colocated_id, partition_for
from shared.kafka.tail import TopicTail
from shared.quotas import BASE_PRIORITY, SUBMIT_CLASS, QuotaClass
from shared.spapi.errors import AuthError, PermanentError, SpApiError, TransientError
from shared.throttle.messages import QuotaKey, TokenReleased
from shared.topics import (
    CATALOG_EVENTS,
    JOB_EVENTS,
    JOB_REQUESTS,
    LISTINGS,
    ORDERS,
    THROTTLE_REQUESTS,
    listing_key,
    order_key,
)
from shared.worker import WorkerRuntime

log = logging.getLogger(__name__)

JOBS_SUBMITTED = Counter("submitter_jobs_submitted_total", "Jobs handed to Amazon", ["job_type"])
JOBS_FAILED = Counter("submitter_jobs_failed_total", "Jobs failed by the submitter", ["job_type"])
RESUBMITTED = Counter(
    "submitter_resubmitted_total",
    "Submissions restarted after a crash in processing (the feed may have been sent twice)",
)
COALESCED = Counter("submitter_changes_coalesced_total", "Catalog changes put into auto jobs")
WAITING = Gauge("submitter_jobs_waiting_for_token", "Jobs waiting for their quota token")


class JobTokens(amazon.Tokens):
    """Quota tokens for one job: its account, its priority, request ids stable per call."""

    def __init__(self, service: SubmitterService, state: JobState) -> None:
        self.service = service
        self.state = state
        self.region = service.runtime.accounts.get(state.account_id).region

    def key(self, quota_class: QuotaClass) -> QuotaKey:
        return QuotaKey(
            account_id=self.state.account_id, region=self.region, quota_class=quota_class
        )

    async def take(self, quota_class: QuotaClass, request_id: str) -> None:
        await self.service.acquire(self.state, self.key(quota_class), request_id)

    async def throttled(self, quota_class: QuotaClass) -> None:
        await self.service.runtime.throttle.report_throttled(self.key(quota_class))


class SubmitterService:
    def __init__(self, settings: SubmitterSettings, runtime: WorkerRuntime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.listings = ListingBook()
        self.drivers: dict[str, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        self.listings_tail = TopicTail(s.kafka_bootstrap_servers, LISTINGS, self.listings.on_record)
        await self.listings_tail.start()
        await self.listings_tail.wait_caught_up()
        self.consumer = OwnedJobsConsumer(
            bootstrap_servers=s.kafka_bootstrap_servers,
            group_id=s.consumer_group,
            client_id=self.runtime.instance_id,
            publisher=self.runtime.publisher,
            inbound=[JOB_REQUESTS, CATALOG_EVENTS],
            on_ready=self.on_ready,
            on_job_event=self.on_job_event,
            on_inbound_batch=self.on_inbound,
            on_revoked=self.on_revoked,
        )
        await self.consumer.start()
        try:
            await self.consumer.run(stop)
        finally:
            for task in self.drivers.values():
                task.cancel()
            await asyncio.gather(*self.drivers.values(), return_exceptions=True)
            await self.consumer.stop()
            await self.listings_tail.stop()

    async def on_ready(self, partition: int, states: list[JobState]) -> None:
        """After a replay: pick up every job that was on its way when the last owner left."""
        for state in states:
            if state.status is JobStatus.CREATED or (
                state.status is JobStatus.RESERVED and state.data.get("automatic")
            ):
                self.drive(state.job_id)
            elif state.status is JobStatus.PROCESSING:
                RESUBMITTED.inc()
                self.drive(state.job_id)

    async def on_job_event(self, state: JobState, event: JobEvent) -> None:
        return None  # the submitter writes these itself; nothing to do on them

    async def on_revoked(self, dropped: list[JobState]) -> None:
        for state in dropped:
            task = self.drivers.pop(state.job_id, None)
            if task is not None:
                task.cancel()

    # ------------------------------------------------------------------ inbound

    async def on_inbound(self, batch: list[Message]) -> None:
        catalog = [m for m in batch if m.topic == CATALOG_EVENTS.name]
        for msg in batch:
            if isinstance(msg.event, JobRequested):
                await self.on_job_requested(msg.event)
            elif isinstance(msg.event, CancelRequested):
                await self.on_cancel(msg.event)
        if catalog:
            await self.on_catalog(catalog)

    async def on_job_requested(self, request: JobRequested) -> None:
        existing = self.consumer.book.states.get(request.job_id)
        if existing is not None:
            if existing.shop_id != request.shop_id:
                raise RejectMessage(f"job id {request.job_id!r} is already used by another shop")
            log.info("repeated request ignored", extra={"job_id": request.job_id})
            return
        try:
            account: AccountRegistered | None = await self.runtime.account(request.account_id)
        except UnknownAccount:
            account = None
        listings = {}
        if account is not None:
            for item in request.items or []:
                sku = item.get("sku") if isinstance(item, dict) else None
                if isinstance(sku, str) and (found := self.listings.get(account.account_id, sku)):
                    listings[sku] = found
        outcome = accept(request, account, listings)
        if isinstance(outcome, JobFailed):
            JOBS_FAILED.labels(request.job_type.value).inc()
            await self._emit([outcome])
            return
        await self._emit(outcome.events, outcome)
        self.drive(request.job_id)

    async def on_cancel(self, request: CancelRequested) -> None:
        decision = decide_cancel(self.consumer.book.states.get(request.job_id), request)
        if isinstance(decision, NotFound):
            raise RejectMessage(decision.reason)
        if isinstance(decision, Rejected):
            await self._emit([decision.event])
            return
        assert isinstance(decision, Canceled)
        task = self.drivers.pop(request.job_id, None)
        if task is not None:
            task.cancel()
        state = self.consumer.book.states[request.job_id]
        tokens = JobTokens(self, state)
        key = tokens.key(SUBMIT_CLASS[state.job_type])
        with contextlib.suppress(Exception):  # the throttle forgets unknown ids itself
            await self.runtime.throttle.cancel(key, f"{state.job_id}:submit")
        await self._release(key, f"{state.job_id}:submit")
        await self._emit([decision.event])
        for listing in decision.restore:
            await self._publish_listing(listing)
        for sku in decision.tombstones:
            await self.runtime.publisher.publish_raw(
                LISTINGS.name, listing_key(state.account_id, sku).encode(), None
            )

    async def on_catalog(self, batch: list[Message]) -> None:
        changes = []
        for msg in batch:
            assert msg.event is not None
            try:
                changes.extend(
                    changes_for(msg.event, self.runtime.accounts.of_shop, self.listings.is_synced)
                )
            except NotSynced as exc:
                await self.consumer._dead_letter(msg.record, str(exc))
        if not changes:
            return
        COALESCED.inc(len(changes))
        first = batch[0]
        counter = iter(range(1_000_000))

        def new_job_id(key: AutoKey) -> str:
            shop_id, account_id, job_type = key
            origin = f"{first.partition}.{first.offset}.{next(counter)}"
            base = f"auto-{shop_id}-{account_id}-{job_type.value}-{origin}"
            return colocated_id(base, shop_id, CATALOG_EVENTS.partitions)

        result = plan(
            merge(changes),
            open_auto_jobs(self.consumer.book.states.values()),
            new_job_id,
            lambda account_id: self.runtime.accounts.get(account_id).marketplace_ids[0],
            self.settings.auto_job_max_items,
        )
        events: list[JobEvent] = [
            next_job_event(
                JobLogged,
                state,
                items=items,
                log=[LogLine(message=f"{len(items)} change(s) coalesced into this job")],
            )
            for state, items in result.add
        ]
        events.extend(result.open)
        await self._emit(events)
        for opened in result.open:
            self.drive(opened.job_id)

    # ------------------------------------------------------------------ driving a job

    def drive(self, job_id: str) -> None:
        """Start (once) the task that takes a job from its token to Amazon."""
        if job_id in self.drivers and not self.drivers[job_id].done():
            return
        self.drivers[job_id] = asyncio.create_task(self._drive(job_id), name=f"job {job_id}")

    async def acquire(self, state: JobState, key: QuotaKey, request_id: str) -> None:
        priority = state.data.get("priority")
        await self.runtime.take_token(
            key,
            request_id=request_id,
            job_id=state.job_id,
            job_type=state.job_type,
            shop_id=state.shop_id,
            priority=BASE_PRIORITY[state.job_type] if priority is None else priority,
            wait_s=self.settings.token_wait_s,
        )

    async def _drive(self, job_id: str) -> None:
        try:
            state = self.consumer.book.states[job_id]
            tokens = JobTokens(self, state)
            if state.data.get("automatic") and state.status is JobStatus.RESERVED:
                await asyncio.sleep(self.settings.coalesce_window_s)
            WAITING.inc()
            try:
                await tokens.take(SUBMIT_CLASS[state.job_type], f"{job_id}:submit")
            finally:
                WAITING.dec()
            async with self.consumer.lock:
                state = self.consumer.book.states.get(job_id)  # type: ignore[assignment]
                if state is None:
                    return  # another instance owns it now and will ask for the same grant
                if state.status is JobStatus.CANCELED:
                    await self._release(
                        tokens.key(SUBMIT_CLASS[state.job_type]), f"{job_id}:submit"
                    )
                    return
                if state.status is JobStatus.RESERVED:
                    closed = f"closed with {len(state.items)} item(s), token granted"
                    await self._emit(
                        [
                            next_job_event(
                                JobCreated,
                                state,
                                log=[LogLine(message=closed)],
                            )
                        ]
                    )
                    state = self.consumer.book.states[job_id]
                if state.status is JobStatus.CREATED:
                    await self._emit(
                        [
                            next_job_event(
                                JobProcessing,
                                state,
                                log=[
                                    LogLine(
                                        message="token granted; building and sending the request"
                                    )
                                ],
                            )
                        ]
                    )
                elif state.status is not JobStatus.PROCESSING:
                    return
                state = self.consumer.book.states[job_id]
            await self._submit(state, tokens)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job driver crashed", extra={"job_id": job_id})
            async with self.consumer.lock:
                current = self.consumer.book.states.get(job_id)
                if current is not None and current.status is JobStatus.PROCESSING:
                    await self._emit(
                        [
                            next_job_event(
                                JobFailed,
                                current,
                                log=[
                                    LogLine(
                                        level="error",
                                        message="internal error while submitting; see the "
                                        "submitter's logs",
                                    )
                                ],
                            )
                        ]
                    )
        finally:
            self.drivers.pop(job_id, None)

    async def _submit(self, state: JobState, tokens: JobTokens) -> None:
        account = self.runtime.accounts.get(state.account_id)
        client = self.runtime.clients.for_account(state.account_id)
        attempts = self.settings.submit_attempts
        job_id = state.job_id

        async def publish_page(orders: list[OrderImported], cursor: str | None, page: int) -> None:
            await self._orders_page(job_id, orders, cursor, page)

        outcome: amazon.Outcome
        for attempt in range(1, attempts + 1):
            try:
                outcome = await amazon.submit(
                    client,
                    tokens,
                    account,
                    state,
                    publish_page,
                )
                break
            except TransientError as exc:
                if attempt == attempts:
                    outcome = amazon.Failed(
                        f"Amazon kept failing ({exc}); gave up after {attempts} attempts"
                    )
                    break
                delay = self.settings.retry_base_s * 2 ** (attempt - 1) * (0.5 + random.random())
                await self._annotate(
                    state.job_id, f"Amazon error, retrying in {delay:.0f}s: {exc}", level="warning"
                )
                await asyncio.sleep(delay)
                state = self.consumer.book.states.get(state.job_id) or state
            except AuthError as exc:
                outcome = amazon.Failed(str(exc))
                break
            except PermanentError as exc:
                outcome = amazon.Failed(f"Amazon refused the request: {exc}")
                break
            except (SpApiError, UnknownAccount, ValueError) as exc:
                outcome = amazon.Failed(str(exc))
                break
        async with self.consumer.lock:
            current = self.consumer.book.states.get(state.job_id)
            if current is None or current.status is not JobStatus.PROCESSING:
                return
            if isinstance(outcome, amazon.Submitted):
                JOBS_SUBMITTED.labels(current.job_type.value).inc()
                event: JobEvent = next_job_event(
                    JobSubmitted,
                    current,
                    data=outcome.data,
                    log=outcome.log,
                    items=outcome.items or None,
                )
            elif isinstance(outcome, amazon.Finished):
                event = next_job_event(JobDone, current, data=outcome.data, log=outcome.log)
            else:
                JOBS_FAILED.labels(current.job_type.value).inc()
                items = outcome.items or [
                    i.model_copy(update={"status": "error", "messages": [outcome.reason]})
                    for i in current.items.values()
                    if i.status == "pending"
                ]
                event = next_job_event(
                    JobFailed,
                    current,
                    items=items or None,
                    data={"error": outcome.reason},
                    log=[LogLine(level="error", message=outcome.reason)],
                )
            await self._emit([event])

    async def _orders_page(
        self, job_id: str, orders: list[OrderImported], cursor: str | None, page: int
    ) -> None:
        await self.runtime.publisher.publish_many(
            [(ORDERS, order_key(o.account_id, o.amazon_order_id), o) for o in orders]
        )
        state = self.consumer.book.states[job_id]
        total = int(state.data.get("orders", 0)) + len(orders)
        await self._emit(
            [
                next_job_event(
                    JobLogged,
                    state,
                    data={"cursor": cursor, "pages": page, "orders": total},
                    log=[LogLine(message=f"page {page}: {len(orders)} order(s)")],
                )
            ]
        )

    # ------------------------------------------------------------------ output

    async def _emit(self, events: Iterable[JobEvent], intake: Intake | None = None) -> None:
        """Publish job events and fold them into the book at once (they come back later)."""
        events = list(events)
        await self.runtime.publisher.publish_many([(JOB_EVENTS, e.job_id, e) for e in events])
        for event in events:
            self.consumer.book.record(partition_for(event.job_id, JOB_EVENTS.partitions), event)
        if intake is not None:
            for listing in intake.listings:
                await self._publish_listing(listing)

    async def _annotate(self, job_id: str, message: str, level: LogLevel = "info") -> None:
        async with self.consumer.lock:
            state = self.consumer.book.states.get(job_id)
            if state is not None:
                await self._emit(
                    [next_job_event(JobLogged, state, log=[LogLine(level=level, message=message)])]
                )

    async def _publish_listing(self, listing: ListingState) -> None:
        await self.runtime.publisher.publish(
            LISTINGS, listing_key(listing.account_id, listing.sku), listing
        )
        self.listings.remember(listing)

    async def _release(self, key: QuotaKey, request_id: str) -> None:
        await self.runtime.publisher.publish(
            THROTTLE_REQUESTS, str(key), TokenReleased(request_id=request_id, quota_key=key)
        )
