"""The submitter's I/O shell: requests in, decisions from the pure modules, jobs driven to
Amazon, job events out.

Ownership: the co-partitioned assignor gives this instance partition *p* of job-requests,
catalog-events and job-events together (automatic jobs get ids on their shop's
partition), so every decision about a job is taken here, one at a time under
``consumer.lock``. That is what makes a cancel and a grant that race end as one or the
other, never both.

Intake (docs/design.md §13) decides every request in memory: a request in parts waits for
its other parts (``assembly``), one for an account not known yet is parked until the
account registry has been read once more, and refusals (jobs in error) are written in
batches by a writer of their own, so that one shop's burst of bad requests does not hold
back other shops' good ones. Held messages keep their offsets uncommitted until their
outcome is written.

Driving a job: wait for the quota token, then ``created → processing``, then
``amazon.prepare`` (lookups, upload: repeatable) and, in a critical section
(``consumer.owning``), ``amazon.send`` (``createFeed``) and the event that records it. A
rebalance waits for critical sections; a job found in ``processing`` with its feed maybe
sent (``facts.sending``) after a crash is sent again and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from prometheus_client import Counter, Gauge

from services.submitter import amazon, patching, routing
from services.submitter.assembly import Assembler, Dropped, Refused
from services.submitter.cancel import Canceled, NotFound, Rejected, decide_cancel
from services.submitter.coalescing import (
    AutoKey,
    NotSynced,
    changes_for,
    merge,
    open_auto_jobs,
    plan,
)
from services.submitter.intake import accept, reject
from services.submitter.listings import ListingStates
from services.submitter.routing import Route
from services.submitter.settings import SubmitterSettings
from shared import faults
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
from shared.failures import failure_of
from shared.heap import full_collections, loading_tables
from shared.job_data import FailedData, LoggedData
from shared.job_ids import shop_hash
from shared.job_state import JobState
from shared.jobs import JobStatus
from shared.kafka.consumer import Message, RejectMessage
from shared.kafka.owned_jobs import PartitionLost
from shared.kafka.partitions import colocated_id
from shared.kafka.producer import encode_bounded
from shared.kafka.stores import IdStore
from shared.kafka.tail import TopicTail
from shared.live_jobs import LiveJobs
from shared.market_tables import replacing
from shared.metered import Metered
from shared.quotas import QuotaClass
from shared.spapi.client import SpApiClient
from shared.spapi.errors import MaybeAccepted, SpApiError
from shared.supervisor import Supervisor
from shared.topics import (
    CATALOG_EVENTS,
    JOB_EVENTS,
    JOB_REQUESTS,
    LISTINGS,
    ORDERS,
    SUBMITTER_JOB_IDS,
    SUBMITTER_JOBS,
    listing_key,
    order_key,
)
from shared.tracing import JobTraces, context_of
from shared.worker import WorkerRuntime

log = logging.getLogger(__name__)
T = TypeVar("T")

JOBS_SUBMITTED = Counter("submitter_jobs_submitted_total", "Jobs handed to Amazon", ["job_type"])
JOBS_FAILED = Counter("submitter_jobs_failed_total", "Jobs failed by the submitter", ["job_type"])
RESUBMITTED = Counter(
    "submitter_resubmitted_total",
    "Feeds or reports sent again although Amazon may have the first: a crash while their "
    "sending was unrecorded, or an answer lost after the request went out",
)
COALESCED = Counter("submitter_changes_coalesced_total", "Catalog changes put into auto jobs")
WAITING = Gauge("submitter_jobs_waiting_for_token", "Jobs waiting for their quota token")
DECIDED = Counter(
    "submitter_requests_decided_total", "Job requests decided, by outcome", ["outcome"]
)
# Resolved once: labels() is a dict lookup and a lock per call, on the busiest path.
SIGNATURE_REFUSED = Counter(
    "submitter_signature_refused_total",
    "Inbound events dead-lettered because they are not signed by the shop they name",
)
DECIDED_ACCEPTED, DECIDED_REFUSED, DECIDED_REPEAT, DECIDED_FOREIGN = (
    DECIDED.labels(outcome) for outcome in ("accepted", "refused", "repeat", "foreign")
)
PARKED = Gauge("submitter_requests_parked", "Requests waiting for their account to be known")
REFUSALS_QUEUED = Gauge("submitter_refusals_queued", "Refusals (jobs in error) not yet written")


@dataclass
class _Parked:
    request: JobRequested
    messages: list[Message]
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Refusal:
    job_id: str
    shop_id: str
    value: bytes
    messages: list[Message]
    partition: int  # the request's, which is the job's


@dataclass
class _Outputs:
    """What a batch of inbound messages decided, written together."""

    events: list[JobEvent] = field(default_factory=list)
    listings: list[ListingState] = field(default_factory=list)
    drive: list[str] = field(default_factory=list)
    release: list[Message] = field(default_factory=list)
    decided: set[str] = field(default_factory=set)  # job ids decided in this batch
    register: list[tuple[str, str]] = field(default_factory=list)  # (job id, shop id)
    grown: list[str] = field(default_factory=list)  # open automatic jobs given changes


# A stopping submitter: how long critical sections get to end on their own (a decision,
# a page of orders), then what is kept for writing refusals and leaving the group.
QUIESCE_S = 0.5
AFTER_SENDS_S = 1.5


@dataclass
class _Sending:
    """A job's call with side effects under way: its Metered's ``unrefused`` when the
    critical section began; more now, and something of it may be at Amazon."""

    metered: Metered
    before: int
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def unanswered(self) -> bool:
        return self.metered.unrefused != self.before

    @property
    def idle(self) -> bool:
        """Nothing of it at Amazon, and waiting for a token: stopped at no cost."""
        return not self.unanswered and self.metered.taking > 0


class SubmitterService:
    def __init__(self, settings: SubmitterSettings, runtime: WorkerRuntime) -> None:
        self.settings = settings
        self.runtime = runtime
        # Who sent an inbound event: the shop it names (docs/design.md §22).
        self.verifier = settings.verifier()
        self.book = LiveJobs()
        self.ids = IdStore(SUBMITTER_JOB_IDS)
        self.listings = ListingStates()
        self.drivers: dict[str, asyncio.Task[None]] = {}
        self.metered: dict[str, Metered] = {}  # of the jobs being driven
        # Jobs in the critical section of their call with side effects (see _send).
        self.sending: dict[str, _Sending] = {}
        self.traces = JobTraces()  # each request's, from its record: its driver's parent
        # Automatic jobs still collecting changes, woken when they are full.
        self.collecting: dict[str, asyncio.Event] = {}
        self.assembler: Assembler[Message] = Assembler(
            max_open=settings.assembling_max, timeout_s=settings.assembly_timeout_s
        )
        self.parked: deque[_Parked] = deque()
        self.parked_ids: set[str] = set()  # job ids of the parked requests
        # Wall-clock time up to which the account registry is known read (the moment its
        # end offsets were last fetched and then reached).
        self.registry_read_at = 0.0
        self.refusals: deque[_Refusal] = deque()
        self.waiting_cancels: dict[str, list[Message]] = {}
        self._parked_wake = asyncio.Event()
        self._refusals_wake = asyncio.Event()
        self._refusals_room = asyncio.Event()
        self._refusals_room.set()

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        self.listings_tail = TopicTail(s.kafka_bootstrap_servers, LISTINGS, self.listings.on_record)
        await self.listings_tail.start()
        with loading_tables():  # a million listings: no collector pauses (shared/heap.py)
            await self.listings_tail.wait_caught_up()
        self.consumer = self.runtime.jobs_consumer(
            self,
            group_id=s.consumer_group,
            changelog=SUBMITTER_JOBS,
            book=self.book,
            stores=[self.ids],
            inbound=[JOB_REQUESTS, CATALOG_EVENTS],
            on_inbound_batch=self.on_inbound,
            checkpoint_interval_s=s.checkpoint_interval_s,
        )
        await self.consumer.start()
        parts = Supervisor(stop)
        tasks = [
            parts.spawn("submitter consumer", self.consumer.run(stop)),
            parts.spawn("submitter parked requests", self._decide_parked(stop)),
            parts.spawn("submitter refusals", self._write_refusals(stop)),
            parts.spawn("submitter full collections", full_collections(stop)),
        ]
        try:
            await parts.wait()  # raises TaskDied when a part died: the process exits 1
        finally:
            stop.set()
            await self._shut_down(tasks)

    async def _shut_down(self, tasks: list[asyncio.Task[None]]) -> None:
        """Finish what is in a critical section, write what is decided, leave the group —
        within a few seconds."""
        with contextlib.suppress(Exception):
            await self.consumer.quiesce(timeout_s=QUIESCE_S)
        # Within the service's stop deadline (STOP_TIMEOUT_S), leaving room for what
        # follows: past it the process cancels all this and the warning would be lost.
        budget = self.settings.stop_timeout_s - QUIESCE_S - AFTER_SENDS_S
        await self._sends_answered(max(budget, 0.0))
        running = [*self.drivers.values(), *tasks]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self._write_some_refusals(len(self.refusals))
        await self.consumer.stop()
        await self.listings_tail.stop()

    async def _sends_answered(self, wait_s: float) -> None:
        """Before the drivers are stopped: let each call with side effects that may be at
        Amazon, or is about to go, get its answer and be recorded, for up to ``wait_s``
        (2.5 s at the default STOP_TIMEOUT_S of 4.5 s). Stopping one in the middle makes
        its next owner send it again (counted, and Amazon may hold it twice); a driver
        only waiting for a token is stopped at once (_send takes its mark back)."""
        deadline = time.monotonic() + wait_s
        while busy := [s for s in self.sending.values() if not s.idle]:
            left_s = deadline - time.monotonic()
            if left_s <= 0:
                break
            # Woken by a section's end, or soon anyway: one may start a try, or begin
            # waiting for a token, without ending.
            ends = [asyncio.ensure_future(s.done.wait()) for s in busy]
            await asyncio.wait(ends, timeout=min(left_s, 0.1), return_when="FIRST_COMPLETED")
            for end in ends:
                end.cancel()
        left = [job_id for job_id, s in self.sending.items() if s.unanswered]
        if left:
            log.warning(
                "stopping with requests to Amazon unanswered; their next owner sends them "
                "again, so Amazon may hold them twice",
                extra={"jobs": left, "unanswered": len(left)},
            )

    async def on_ready(self, partition: int, states: list[JobState]) -> None:
        """A partition restored: pick up every job that was on its way. Every job read since
        the last checkpoint joins the registry (here, or as it finished while restoring):
        one a dead instance accepted after its last checkpoint is known to nothing else."""
        for state in states:
            self._register(state.job_id, state.shop_id)
            if state.status.is_terminal:
                continue
            if state.status is JobStatus.CREATED or (
                state.status is JobStatus.RESERVED and state.facts.automatic
            ):
                self.drive(state.job_id)
            elif state.status is JobStatus.PROCESSING:
                if state.facts.sending:
                    RESUBMITTED.inc()  # the last owner may have sent it before it died
                    log.warning(
                        "the last owner may have sent this job's request before it died; "
                        "sending it again",
                        extra={"job_id": state.job_id, "shop_id": state.shop_id},
                    )
                self.drive(state.job_id)

    def on_finished_while_restoring(self, partition: int, state: JobState) -> None:
        self._register(state.job_id, state.shop_id)  # a repeat of its request is known

    async def on_job_event(self, state: JobState, event: JobEvent) -> None:
        return None  # the submitter writes these itself; nothing to do on them

    async def on_revoked(self, dropped: list[JobState]) -> None:
        for state in dropped:
            self.traces.forget(state.job_id)
            task = self.drivers.pop(state.job_id, None)
            if task is not None:
                task.cancel()

    # ------------------------------------------------------------------ inbound

    async def on_inbound(self, batch: list[Message]) -> None:
        """A batch of one partition's inbound messages (under the lock, owning it)."""
        batch = [msg for msg in batch if await self._from_its_shop(msg)]
        out = _Outputs()
        catalog = [m for m in batch if m.topic == CATALOG_EVENTS.name]
        for msg in batch:
            if isinstance(msg.event, JobRequested):
                await self._request(msg, msg.event, out)
            elif isinstance(msg.event, CancelRequested):
                await self._write(out)
                out = _Outputs()
                await self._cancel_or_dead_letter(msg, msg.event)
        if catalog:
            await self._catalog(catalog, out)
        await self._write(out)

    async def _from_its_shop(self, msg: Message) -> bool:
        """Whether ``msg`` is signed by the shop it names; else it is dead-lettered with
        the reason (a shop acting as another, or an unsigned event when those are refused)."""
        shop_id = getattr(msg.event, "shop_id", None)
        if self.verifier is None or not isinstance(shop_id, str):
            return True
        rec = msg.record
        refusal = self.verifier.ingress_refusal(rec.topic, rec.key, rec.value, rec.headers, shop_id)
        if refusal is None:
            return True
        SIGNATURE_REFUSED.inc()
        log.warning("event refused", extra={"shop_id": shop_id, "reason": refusal})
        await self.consumer.dead_letter(msg, refusal)
        return False

    async def _request(self, msg: Message, request: JobRequested, out: _Outputs) -> None:
        if request.parts > 1:
            if (
                request.job_id not in self.assembler
                and self._known(request, msg.partition, out) == "repeat"
            ):
                # A retry of a request already decided (the API sends all parts again
                # after a timeout): assembled again, parts missing from it would turn
                # into a refusal of a job that runs.
                DECIDED_REPEAT.inc()
                out.release.append(msg)
                return
            self.consumer.hold(msg)
            assembled = self.assembler.add(request, msg, time.monotonic())
            if assembled is None:
                return
            if isinstance(assembled, Dropped):
                for part in assembled.parts:
                    self.consumer.release(part)
                return
            if isinstance(assembled, Refused):
                await self._refuse(assembled.request, assembled.reason, assembled.parts)
                return
            await self._decide(assembled.request, assembled.parts, out)
            return
        await self._decide(request, [msg], out)

    def _known(self, request: JobRequested, partition: int, out: _Outputs) -> str | None:
        """'repeat' or 'foreign' for a job id already used, else None. ``partition``: the
        request's, which is its job's (both are keyed by the job id)."""
        existing = self.book.states.get(request.job_id)
        if existing is not None:
            return "repeat" if existing.shop_id == request.shop_id else "foreign"
        if request.job_id in out.decided or request.job_id in self.parked_ids:
            return "repeat"
        seen = self.ids.of(partition).shop_of(request.job_id)
        if seen is None:
            return None
        return "repeat" if seen == shop_hash(request.shop_id) else "foreign"

    async def _decide(
        self, request: JobRequested, messages: list[Message], out: _Outputs, *, parked: bool = False
    ) -> None:
        partition = messages[0].partition
        known = self._known(request, partition, out) if not parked else None
        if known == "repeat":
            DECIDED_REPEAT.inc()
            log.info("repeated request ignored", extra={"job_id": request.job_id})
            out.release.extend(messages)
            return
        if known == "foreign":
            DECIDED_FOREIGN.inc()
            for msg in messages:
                await self.consumer.dead_letter(
                    msg, f"job id {request.job_id!r} is already used by another shop"
                )
            out.release.extend(messages)
            return
        self.traces.remember(request.job_id, context_of(messages[0].record.headers))
        account = self.runtime.accounts.accounts.get(request.account_id)
        if (
            account is None
            and not parked
            and not self._registry_had_it(messages)
            and len(self.parked) < self.settings.parked_max
        ):
            for msg in messages:
                self.consumer.hold(msg)
            self.parked.append(_Parked(request, messages))
            self.parked_ids.add(request.job_id)
            PARKED.set(len(self.parked))
            self._parked_wake.set()
            return

        def listing_of(marketplace_id: str, sku: str) -> ListingState | None:
            assert account is not None  # accept asks only for a known account's listings
            return self.listings.get(account, marketplace_id, sku)

        outcome = accept(
            request, account, listing_of, self.settings.patch_max_items, JOB_EVENTS.partitions
        )
        if isinstance(outcome, JobFailed):
            await self._refuse_event(outcome, messages)
            return
        DECIDED_ACCEPTED.inc()
        for job_id in outcome.job_ids:  # one per marketplace, all on the request's partition
            out.register.append((job_id, request.shop_id))
            out.decided.add(job_id)
            out.drive.append(job_id)
        out.decided.add(request.job_id)
        out.events.extend(outcome.events)
        out.listings.extend(outcome.listings)
        out.release.extend(messages)

    def _registry_had_it(self, messages: list[Message]) -> bool:
        """Whether the account registry was read up to a moment after these messages were
        published (their Kafka timestamps, less a margin for clocks that differ): then an
        account unknown now was unknown then, and nothing is gained by parking. In a burst
        this decides almost every request at once (docs/design.md §13)."""
        newest = max(int(m.record.timestamp) for m in messages) / 1000
        return newest + self.settings.clock_skew_s < self.registry_read_at

    async def _refuse(self, request: JobRequested, reason: str, messages: list[Message]) -> None:
        await self._refuse_event(reject(request, reason), messages)

    async def _refuse_event(self, failed: JobFailed, messages: list[Message]) -> None:
        """A job in error for a request refused on arrival, written by the refusal writer;
        its messages stay held until then."""
        DECIDED_REFUSED.inc()
        JOBS_FAILED.labels(failed.job_type.value).inc()
        for msg in messages:
            self.consumer.hold(msg)
        while len(self.refusals) >= self.settings.refusals_max:
            self._refusals_room.clear()
            await self._refusals_room.wait()
        partition = messages[0].partition if messages else self.consumer.partition_of(failed.job_id)
        self.refusals.append(
            _Refusal(
                failed.job_id,
                failed.shop_id,
                encode_bounded(JOB_EVENTS.name, failed),
                messages,
                partition,
            )
        )
        REFUSALS_QUEUED.set(len(self.refusals))
        self._refusals_wake.set()

    async def _write(self, out: _Outputs) -> None:
        """Publish a batch's accepted jobs and marked listings, then start their drivers.
        Job ids join the registry once their jobs are written (a failed write is decided
        again, not taken for a repeat)."""
        if out.events:
            await self.consumer.emit(out.events)
        for job_id in out.grown:
            if job_id in self.collecting and self._full(job_id):
                self.collecting[job_id].set()
        for job_id, shop_id in out.register:
            self._register(job_id, shop_id)
        if out.listings:
            records = [r for li in out.listings for r in self._replacing(li)]
            await self._publish_listings(records)
        for job_id in out.drive:
            self.drive(job_id)
        for job_id in out.decided:
            for cancel in self.waiting_cancels.pop(job_id, []):
                assert isinstance(cancel.event, CancelRequested)
                await self._cancel_or_dead_letter(cancel, cancel.event)
                self.consumer.release(cancel)
        for msg in out.release:
            self.consumer.release(msg)

    def _register(self, job_id: str, shop_id: str) -> None:
        self.ids.of(self.consumer.partition_of(job_id)).add(job_id, shop_id)

    # ------------------------------------------------------------------ parked requests

    async def _decide_parked(self, stop: asyncio.Event) -> None:
        """Decide parked requests once the account registry has been read up to a moment
        after they came: one round trip for all of them (docs/design.md §13)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):  # assemblies expire meanwhile
                async with asyncio.timeout(1.0):
                    await self._parked_wake.wait()
            self._parked_wake.clear()
            expired = self.assembler.expired(time.monotonic())
            for refused in expired:
                await self._locked(
                    self.consumer.partition_of(refused.request.job_id),
                    lambda r=refused: self._refuse(r.request, r.reason, r.parts),  # type: ignore[misc]
                )
            # Read the registry up to now once a second anyway (one small request): then a
            # request older than a few seconds is decided without parking at all.
            asked = time.monotonic()
            asked_wall = time.time()
            if not await self.runtime.accounts_tail.sync():
                log.warning("the account registry could not be read up to now; trying again")
                continue
            self.registry_read_at = max(self.registry_read_at, asked_wall)
            if not self.parked:
                continue
            by_partition: dict[int, list[_Parked]] = {}
            while self.parked and self.parked[0].at <= asked:
                waiting = self.parked.popleft()
                self.parked_ids.discard(waiting.request.job_id)
                partition = self.consumer.partition_of(waiting.request.job_id)
                by_partition.setdefault(partition, []).append(waiting)
            PARKED.set(len(self.parked))
            for partition, decided in by_partition.items():
                await self._locked(partition, lambda d=decided: self._decide_parked_now(d))  # type: ignore[misc]
            if self.parked:
                self._parked_wake.set()

    async def _decide_parked_now(self, parked: list[_Parked]) -> None:
        out = _Outputs()
        for waiting in parked:
            for msg in waiting.messages:
                self.consumer.release(msg)  # _decide holds them again if it must
            await self._decide(waiting.request, waiting.messages, out, parked=True)
        await self._write(out)

    async def _locked(self, partition: int, work: Callable[[], Awaitable[None]]) -> None:
        """Run decisions about jobs of ``partition`` owning it, under the lock; nothing if
        the partition went elsewhere (its new owner reads the requests again)."""
        try:
            async with self.consumer.owning(partition), self.consumer.lock:
                await work()
        except PartitionLost:
            return

    # ------------------------------------------------------------------ refusals

    async def _write_refusals(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._refusals_wake.wait()
            self._refusals_wake.clear()
            while self.refusals:
                await self._write_some_refusals(5_000)

    async def _write_some_refusals(self, n: int) -> None:
        batch = [self.refusals.popleft() for _ in range(min(n, len(self.refusals)))]
        if not batch:
            return
        producer = self.runtime.publisher.producer
        sent = [
            await producer.send(
                JOB_EVENTS.name, r.value, key=r.job_id.encode("utf-8"), partition=r.partition
            )
            for r in batch
        ]
        for future in sent:
            await future
        for refusal in batch:
            self.ids.of(refusal.partition).add(refusal.job_id, refusal.shop_id)
            for cancel in self.waiting_cancels.pop(refusal.job_id, []):
                self.consumer.release(cancel)  # its job is in error: nothing to cancel
            for msg in refusal.messages:
                self.consumer.release(msg)
        REFUSALS_QUEUED.set(len(self.refusals))
        if len(self.refusals) < self.settings.refusals_max:
            self._refusals_room.set()

    # ------------------------------------------------------------------ cancel

    async def _cancel_or_dead_letter(self, msg: Message, request: CancelRequested) -> None:
        try:
            await self._cancel(msg, request)
        except RejectMessage as exc:
            await self.consumer.dead_letter(msg, str(exc))

    async def _cancel(self, msg: Message, request: CancelRequested) -> None:
        if request.job_id in self.assembler or request.job_id in self.parked_ids:
            self.consumer.hold(msg)  # decided once its job is
            self.waiting_cancels.setdefault(request.job_id, []).append(msg)
            return
        state = self.book.states.get(request.job_id)
        if state is None:
            seen = self.ids.of(self.consumer.partition_of(request.job_id)).shop_of(request.job_id)
            if seen == shop_hash(request.shop_id):
                raise RejectMessage(f"job {request.job_id!r} is finished: nothing to cancel")
        decision = decide_cancel(state, request)
        if isinstance(decision, NotFound):
            raise RejectMessage(decision.reason)
        if isinstance(decision, Rejected):
            await self.consumer.emit([decision.event])
            return
        assert isinstance(decision, Canceled) and state is not None
        task = self.drivers.pop(request.job_id, None)
        if task is not None:
            task.cancel()
        # Cancelling the driver withdraws a request still waiting at the throttle; a token
        # already granted goes back.
        metered = self.metered.pop(request.job_id, None)
        if metered is not None:
            await metered.give_back()
        # Listings first, then the job's status: a crash in between re-reads the cancel
        # (its offset is not committed yet) and restores again (docs/design.md §18).
        market = state.facts.marketplace_id
        account = self.runtime.accounts.accounts.get(state.account_id)
        restored: list[tuple[str, ListingState | None]] = [
            (
                listing_key(state.account_id, li.sku, li.marketplace_id),
                self.listings.with_issues_kept(account, li) if account is not None else li,
            )
            for li in decision.restore
        ]
        restored += [
            (listing_key(state.account_id, sku, market), None) for sku in decision.tombstones
        ]
        await self._publish_listings(restored)
        faults.crash_point("submitter:cancel-after-restore")
        await self.consumer.emit([decision.event])

    async def _publish_listings(self, records: list[tuple[str, ListingState | None]]) -> None:
        await self.runtime.publisher.publish_table(LISTINGS, records)
        for key, li in records:
            self.listings.remember(key, li)

    def _replacing(self, listing: ListingState) -> list[tuple[str, ListingState | None]]:
        """The records that set ``listing``, with a tombstone for the record of before
        listings had a marketplace that it replaces (shared/market_tables.py)."""
        current = None
        if listing.marketplace_id is not None:
            account = self.runtime.accounts.accounts.get(listing.account_id)
            if account is not None:
                current = self.listings.get(account, listing.marketplace_id, listing.sku)
        return list(replacing(listing, current))

    # ------------------------------------------------------------------ catalog changes

    async def _catalog(self, batch: list[Message], out: _Outputs) -> None:
        changes = []
        for msg in batch:
            assert msg.event is not None
            try:
                changes.extend(
                    changes_for(msg.event, self.runtime.accounts.of_shop, self.listings.is_synced)
                )
            except NotSynced as exc:
                await self.consumer.dead_letter(msg, str(exc))
        if not changes:
            return
        COALESCED.inc(len(changes))
        first = batch[0]
        counter = iter(range(1_000_000))

        def new_job_id(key: AutoKey) -> str:
            shop_id, account_id, marketplace_id, job_type, urgent = key
            origin = f"{first.partition}.{first.offset}.{next(counter)}"
            kind = f"{job_type.value}-urgent" if urgent else job_type.value
            base = f"auto-{shop_id}-{account_id}-{marketplace_id}-{kind}-{origin}"
            return colocated_id(base, shop_id, CATALOG_EVENTS.partitions)

        result = plan(
            merge(changes),
            open_auto_jobs(self.book.states.values()),
            new_job_id,
            self.settings.auto_job_max_items,
        )
        for state, items in result.add:
            out.grown.append(state.job_id)
            out.events.append(
                next_job_event(
                    JobLogged,
                    state,
                    items=items,
                    log=[LogLine(message=f"{len(items)} change(s) coalesced into this job")],
                )
            )
        for opened in result.open:
            if self._known_id(opened.job_id, opened.shop_id):
                continue  # a redelivered batch: its job exists already
            out.register.append((opened.job_id, opened.shop_id))
            out.events.append(opened)
            out.drive.append(opened.job_id)

    def _known_id(self, job_id: str, shop_id: str) -> bool:
        if job_id in self.book.states:
            return True
        return self.ids.of(self.consumer.partition_of(job_id)).shop_of(job_id) is not None

    # ------------------------------------------------------------------ driving a job

    def drive(self, job_id: str) -> None:
        """Start (once) the task that takes a job from its token to Amazon."""
        if job_id in self.drivers and not self.drivers[job_id].done():
            return
        task = asyncio.create_task(self._drive(job_id), name=f"job {job_id}")
        self.drivers[job_id] = task
        task.add_done_callback(lambda t: self._driver_done(job_id, t))

    def _driver_done(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self.drivers.get(job_id) is task:
            del self.drivers[job_id]
            self.metered.pop(job_id, None)
            self.traces.forget(job_id)

    async def _drive(self, job_id: str) -> None:
        # From its token wait to Amazon's answer, in the trace of the job's request (its
        # SP-API calls are spans within, its events carry it on).
        with self.traces.span(job_id, "submitter.submit"):
            await self._drive_job(job_id)

    async def _drive_job(self, job_id: str) -> None:
        partition = self.consumer.partition_of(job_id)
        metered: Metered | None = None
        try:
            state = self.book.states[job_id]
            metered = self.metered[job_id] = self.runtime.metered(
                state, wait_s=self.settings.token_wait_s, priority=routing.priority_of(state)
            )
            # Urgent changes do not wait for company: each goes out alone by patch anyway.
            if (
                state.facts.automatic
                and not state.facts.urgent
                and state.status is JobStatus.RESERVED
            ):
                await self._collect(job_id)
            while True:
                # The route's class, from the items as they are now (an automatic job
                # takes changes until its token comes); checked again once it is here.
                current = self.book.states.get(job_id)
                if current is None:
                    return  # gone elsewhere: its new owner drives it
                quota_class = routing.first_class_of(current, self.settings.patch_max_items)
                WAITING.inc()
                try:
                    await metered.first_token(quota_class)
                finally:
                    WAITING.dec()
                async with self.consumer.owning(partition), self.consumer.lock:
                    went = await self._to_processing(job_id, metered, quota_class)
                if went is None:
                    continue  # its route changed while it waited: the other class's token
                if not went:
                    return
                break
            await self._submit(job_id, metered)
        except PartitionLost:
            return  # the job's new owner drives it
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job driver crashed", extra={"job_id": job_id})
            await self._finish(
                job_id,
                amazon.Aborted(
                    "internal error while submitting; see the submitter's logs",
                    failure="internal",
                ),
            )
        finally:
            # A first token no call spent (the job failed before sending, went elsewhere,
            # or was canceled) goes back to its bucket: it is the scarcest of all.
            if metered is not None and metered.first is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(metered.give_back())

    async def _collect(self, job_id: str) -> None:
        """Let an automatic job take changes for its coalesce window (Amazon time), or until
        it is full: a full job has nothing to wait for (settings.coalesce_window_s)."""
        filled = self.collecting[job_id] = asyncio.Event()
        try:
            if self._full(job_id):
                return
            window_s = self.settings.coalesce_window_s / self.settings.time_scale
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(window_s):
                    await filled.wait()
        finally:
            self.collecting.pop(job_id, None)

    def _full(self, job_id: str) -> bool:
        state = self.book.states.get(job_id)
        return state is not None and len(state.items) >= self.settings.auto_job_max_items

    async def _to_processing(
        self, job_id: str, metered: Metered, quota_class: QuotaClass
    ) -> bool | None:
        """``reserved``/``created`` → ``processing`` now the token is here; False when the
        job is no longer this driver's (canceled, gone elsewhere); None, with the token
        given back, when the job's route needs a token of another class now (an urgent
        automatic job grown past the patch size while it waited)."""
        state = self.book.states.get(job_id)
        if state is None:
            return False  # another instance owns it now and asks for the same grant
        if state.status is JobStatus.CANCELED:
            await metered.give_back()
            return False
        if (
            state.status in (JobStatus.RESERVED, JobStatus.CREATED)
            and routing.first_class_of(state, self.settings.patch_max_items) is not quota_class
        ):
            await metered.give_back()
            return None
        events: list[JobEvent] = []
        if state.status is JobStatus.RESERVED:
            closed = f"closed with {len(state.items)} item(s), token granted"
            events.append(next_job_event(JobCreated, state, log=[LogLine(message=closed)]))
            state = replace(state, status=JobStatus.CREATED, seq=state.seq + 1)
        if state.status is JobStatus.CREATED:
            by_patch = routing.route_of(state, self.settings.patch_max_items) is Route.PATCH
            said = (
                f"token granted; sending {len(state.items)} urgent item(s) by "
                "patchListingsItem, no feed"
                if by_patch
                else "token granted; building and sending the request"
            )
            events.append(next_job_event(JobProcessing, state, log=[LogLine(message=said)]))
        elif state.status is not JobStatus.PROCESSING:
            return False
        if events:
            await self.consumer.emit(events)
        return True

    async def _submit(self, job_id: str, metered: Metered) -> None:
        state = self.book.states[job_id]
        account = self.runtime.accounts.get(state.account_id)
        client = self.runtime.clients.for_account(state.account_id)
        outcome: amazon.AmazonResult
        if state.job_type.value == "orders_import":

            async def page(orders: list[OrderImported], cursor: str | None, n: int) -> None:
                await self._orders_page(job_id, orders, cursor, n)

            # Each attempt goes on from the cursor the last page left (not the first).
            outcome = await self._attempts(
                job_id,
                lambda: amazon.import_orders(
                    client, metered, account, self.book.states.get(job_id, state), page
                ),
            )
            await self._finish(job_id, outcome)
            return
        if routing.route_of(state, self.settings.patch_max_items) is Route.PATCH:
            await self._patch(job_id, client, metered, account)
            return
        if state.job_type.value == "inventory_report":
            await self._send(
                job_id, metered, lambda: amazon.request_report(client, metered, account, state)
            )
            return
        prepared = await self._attempts(
            job_id, lambda: amazon.prepare(client, metered, account, state)
        )
        if not isinstance(prepared, amazon.FeedReady):
            await self._finish(job_id, prepared)
            return
        ready = prepared
        await self._send(job_id, metered, lambda: amazon.send(client, metered, state, ready))

    async def _send(
        self,
        job_id: str,
        metered: Metered,
        call: Callable[[], Awaitable[amazon.Submitted | amazon.Finished]],
    ) -> None:
        """The call that cannot be taken back, in the partition's critical section: marked
        as on its way, made (with retries), recorded. Cut short (the process stops) while
        nothing of it reached Amazon — waiting for a token after a 429, say — the mark is
        taken back, so the next owner sends it as a first time, not as a repeat."""
        async with self.consumer.owning(self.consumer.partition_of(job_id)):
            section = self.sending[job_id] = _Sending(metered, metered.unrefused)
            try:
                await self._mark_sending(job_id)
                outcome = await self._attempts(job_id, call, owned=True)
                await self._finish(job_id, outcome, owned=True)
            except asyncio.CancelledError:
                if not section.unanswered:
                    with contextlib.suppress(Exception):
                        async with asyncio.timeout(5.0):
                            await self._mark_sending(job_id, sending=False)
                raise
            finally:
                self.sending.pop(job_id, None)
                section.done.set()

    async def _patch(
        self, job_id: str, client: SpApiClient, metered: Metered, account: AccountRegistered
    ) -> None:
        """Each item not answered yet by ``patchListingsItem``, then ``done``. Each call and
        its record (listing, then the item) are one critical section: a rebalance waits
        for them, and a new owner goes on with the items still pending. Only a process
        dying between a call and its record sends that one item again, which sets the
        same value (a patch replaces the attribute)."""
        partition = self.consumer.partition_of(job_id)
        pending = [i.key for i in self.book.states[job_id].items.values() if i.status == "pending"]
        for key in pending:
            async with self.consumer.owning(partition):
                state = self.book.states.get(job_id)
                if state is None or state.status is not JobStatus.PROCESSING:
                    raise PartitionLost(f"job {job_id} is no longer this driver's")
                outcome = await self._attempts(
                    job_id,
                    lambda s=state, k=key: amazon.patch_item(client, metered, account, s, k),  # type: ignore[misc]
                    owned=True,
                )
                if isinstance(outcome, amazon.Aborted):
                    await self._finish(job_id, outcome, owned=True)
                    return
                await self._record_patched(job_id, outcome)
        await self._finish(job_id, amazon.patched(self.book.states[job_id]))

    async def _record_patched(self, job_id: str, patched: amazon.Patched) -> None:
        """The item's listing, then the item (the job's checkpoint): a crash in between
        sends the item again and writes the listing again, never loses it."""
        async with self.consumer.lock:
            state = self.book.states.get(job_id)
            if state is None or state.status is not JobStatus.PROCESSING:
                raise PartitionLost(f"job {job_id} is no longer this driver's")
            item = patched.item
            account = self.runtime.accounts.get(state.account_id)
            market = amazon.marketplace_of(state, account)
            current = self.listings.get(account, market, item.key)
            listing = patching.listing_of(state, item, current, patched.at, patched.issues)
            if listing is not None:
                await self._publish_listings(self._replacing(listing))
            faults.crash_point("submitter:patch-before-record")
            words = f"{item.key}: {item.status} by patchListingsItem"
            if patched.submission_id:
                words += f" (submission {patched.submission_id})"
            if item.messages:
                words += ": " + " | ".join(item.messages)
            level: LogLevel = "warning" if item.status == "error" else "info"
            await self.consumer.emit(
                [
                    next_job_event(
                        JobLogged, state, items=[item], log=[LogLine(level=level, message=words)]
                    )
                ]
            )

    async def _mark_sending(self, job_id: str, *, sending: bool = True) -> None:
        """Written before the call that cannot be taken back: a new owner after a crash
        knows the call may have gone out (and counts its repeat). ``sending=False``: taken
        back by a driver stopped before anything reached Amazon."""
        said = (
            "sending the request to Amazon"
            if sending
            else "stopped before the request reached Amazon; its next owner sends it"
        )
        marked = await self.consumer.emit_for(
            job_id,
            lambda state: (
                [
                    next_job_event(
                        JobLogged,
                        state,
                        data=LoggedData(sending=sending),
                        log=[LogLine(message=said)],
                    )
                ]
                if state.status is JobStatus.PROCESSING
                else None
            ),
            owned=True,
        )
        if not marked and sending:
            raise PartitionLost(f"job {job_id} is no longer this driver's")

    async def _attempts(
        self, job_id: str, call: Callable[[], Awaitable[T]], *, owned: bool = False
    ) -> T | amazon.Aborted:
        """``call`` with retries of what may pass (shared/failures.py); a failure for the
        rest."""
        attempts = self.settings.submit_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await call()
            except (SpApiError, UnknownAccount) as exc:
                failed = failure_of(exc, "send the request to Amazon")
                if failed is not None:
                    return amazon.Aborted(failed[1], failure=failed[0])
                if attempt == attempts:
                    return amazon.Aborted(
                        f"Amazon kept failing ({exc}); gave up after {attempts} attempts",
                        failure="unavailable",
                    )
                delay = self.settings.retry_base_s * 2 ** (attempt - 1) * (0.5 + random.random())
                if isinstance(exc, MaybeAccepted):
                    RESUBMITTED.inc()  # counted and said: Amazon may end up with it twice
                    said = f"{exc}; sending it again in {delay:.0f}s, so Amazon may hold it twice"
                else:
                    said = f"Amazon error, retrying in {delay:.0f}s: {exc}"
                await self._annotate(job_id, said, level="warning", owned=owned)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _finish(
        self, job_id: str, outcome: amazon.AmazonResult, *, owned: bool = False
    ) -> None:
        """The job's status event for what happened at Amazon, if it is still ours
        (``owned``: called in the partition's critical section, after a call with a
        lasting effect)."""

        def build(current: JobState) -> list[JobEvent] | None:
            if current.status is not JobStatus.PROCESSING:
                return None
            if isinstance(outcome, amazon.Submitted | amazon.Finished):
                kind = JobSubmitted if isinstance(outcome, amazon.Submitted) else JobDone
                if kind is JobSubmitted:
                    JOBS_SUBMITTED.labels(current.job_type.value).inc()
                return [
                    next_job_event(
                        kind,
                        current,
                        data=outcome.data,
                        log=outcome.log,
                        items=outcome.items or None,
                    )
                ]
            JOBS_FAILED.labels(current.job_type.value).inc()
            decided = {i.key: i for i in outcome.items}
            items = [
                decided.get(i.key)
                or i.model_copy(update={"status": "error", "messages": [outcome.reason]})
                for i in current.items.values()
                if i.status == "pending" or i.key in decided
            ]
            return [
                next_job_event(
                    JobFailed,
                    current,
                    items=items or None,
                    data=FailedData(failure=outcome.failure, error=outcome.reason),
                    log=[LogLine(level="error", message=outcome.reason)],
                )
            ]

        await self.consumer.emit_for(job_id, build, owned=owned)

    async def _orders_page(
        self, job_id: str, orders: list[OrderImported], cursor: str | None, page: int
    ) -> None:
        async with self.consumer.owning(self.consumer.partition_of(job_id)), self.consumer.lock:
            state = self.book.states.get(job_id)
            if state is None or state.status is not JobStatus.PROCESSING:
                raise PartitionLost(f"job {job_id} is no longer this driver's")
            await self.runtime.publisher.publish_many(
                [(ORDERS, order_key(o.account_id, o.amazon_order_id), o) for o in orders]
            )
            total = (state.facts.orders or 0) + len(orders)
            await self.consumer.emit(
                [
                    next_job_event(
                        JobLogged,
                        state,
                        data=LoggedData(cursor=cursor, pages=page, orders=total),
                        log=[LogLine(message=f"page {page}: {len(orders)} order(s)")],
                    )
                ]
            )

    async def _annotate(
        self, job_id: str, message: str, level: LogLevel = "info", *, owned: bool = False
    ) -> None:
        await self.consumer.emit_for(
            job_id,
            lambda state: [
                next_job_event(JobLogged, state, log=[LogLine(level=level, message=message)])
            ],
            owned=owned,
        )
