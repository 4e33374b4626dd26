"""The throttle's I/O shell: Kafka messages in, grants out, state made durable in between.

One :class:`KeyState` per owned quota key does all deciding. This module only
- feeds it the requests topic (the faust agent calls :meth:`on_message`),
- wakes each key exactly when its next token exists (one heap of per-key deadlines,
  and at once when something arrives),
- and publishes grants only after the records saying so are durable.

Crash consistency, in one rule: **a grant is published only after every record written
before it has been acknowledged by the changelog.** Each dispatch cycle writes its
records (request records before the key record), crosses ``make_durable()``, then sends
the cycle's grants. Hence:
- killed before the barrier: the grants were never seen; whatever part of the records
  landed is repaired on restore (``KeyState.restore``), never counted as free tokens;
- killed after it: the records hold the grant; a grant lost on the way is sent again on
  recovery and whenever its requester repeats the request, never granted twice;
- the consumer offset is committed by faust after its producer flush, so a request is
  never acknowledged before the record that queues it, and replaying one is harmless
  (every command is idempotent by request id and grant number).

Why not faust's ``processing_guarantee="exactly_once"``: faust starts transactions per
source partition and commits them only when offsets advance, so a grant made by a timer
(no incoming message) would sit invisible in an open transaction; grants go to a topic
keyed by requester, whose partition faust maps to an unrelated transactional producer;
and faust logs and swallows failed transaction commits (see faust-streaming issues #517,
#323, #177 for duplicates and crashes under kill and rebalance). The write-ahead barrier
gives the property that matters (never an extra token) with at-least-once delivery.
What it does not give is fencing of a zombie: an instance cut off from the group keeps
its partitions in its own view until its next heartbeat fails (a few seconds with the
default session timeout); the revocation hook stops all granting, but a network
partition could let it grant on a bucket its successor also owns for that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.throttle import metrics
from services.throttle.buckets import NEVER
from services.throttle.clock import Clock, as_datetime
from services.throttle.keystate import KeyChanges, KeyState, RequestRejected
from services.throttle.quota_specs import QuotaPolicy
from services.throttle.records import RequestRecord, RequestState
from services.throttle.state_store import StateStore
from shared.codec import DecodeError, decode, encode
from shared.events import Event
from shared.kafka.dead_letters import count_dead_letter, dead_letter_for
from shared.throttle.messages import (
    BucketSnapshot,
    QuotaFeedback,
    QuotaKey,
    TokenCancelled,
    TokenGranted,
    TokenReleased,
    TokenRequested,
)
from shared.topics import DEAD_LETTERS, THROTTLE_GRANTS, THROTTLE_REQUESTS, THROTTLE_SNAPSHOTS

log = logging.getLogger(__name__)

REQUEST_TYPES = frozenset({"TokenRequested", "TokenCancelled", "TokenReleased", "QuotaFeedback"})

# How long a message for a partition may wait for that partition's state to be rebuilt
# after a rebalance before the engine gives up (and the process restarts).
ACTIVATION_TIMEOUT_S = 120.0

# A key that refills or has a queue is re-published every this many snapshot intervals
# even without a change of its own.
REFRESH_INTERVALS = 5


@dataclass(frozen=True, slots=True)
class Incoming:
    """One record of the requests topic, as the agent hands it over."""

    partition: int
    offset: int
    timestamp: float | None  # producer time, seconds
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class EngineConfig:
    group_id: str
    grant_memory_s: float  # Amazon seconds
    grant_memory_max: int
    snapshot_interval_s: float
    resend_on_recovery_s: float


class ThrottleEngine:
    def __init__(
        self,
        *,
        producer: Any,  # faust's producer: the same one that writes the changelog
        store: StateStore,
        book: QuotaPolicy,
        config: EngineConfig,
        clock: Clock,
    ) -> None:
        self._producer = producer
        self._store = store
        self._book = book
        self._config = config
        self._clock = clock
        self._keys: dict[str, KeyState] = {}
        self._active: set[int] = set()
        self._activated = asyncio.Condition()
        self._dirty: set[str] = set()  # keys to look at in the next cycle
        self._outbox: list[RequestRecord] = []  # grants to send again after the next barrier
        self._wake_at: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []
        self._wakeup = asyncio.Event()
        self._lock = asyncio.Lock()  # one dispatch cycle at a time; rebalances wait for it
        self._snapshot_due: set[str] = set()
        self._snapshot_sent: dict[str, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.failed = asyncio.Event()
        self.failure: BaseException | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        for name, loop in (
            ("throttle dispatcher", self._dispatch_forever),
            ("throttle snapshots", self._snapshots_forever),
            ("throttle forgetting", self._forget_forever),
        ):
            task = asyncio.create_task(loop(), name=name)
            task.add_done_callback(self._on_task_done)
            self._tasks.append(task)

    async def stop(self) -> None:
        self._stopping = True
        self._wakeup.set()
        async with self._lock:  # let a cycle that has crossed the barrier finish sending
            for task in self._tasks:
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        self.fail(task.exception())  # type: ignore[arg-type]

    def fail(self, exc: BaseException) -> None:
        """Something that must not be ignored: stop granting and let the process end."""
        if self.failure is None:
            log.error("throttle engine failed", exc_info=exc, extra={"event": "engine_failed"})
            self.failure = exc
        self._active.clear()
        self._keys.clear()
        self.failed.set()

    # ------------------------------------------------------------------ rebalancing

    async def on_partitions_revoked(self, partitions: Iterable[int]) -> None:
        revoked = set(partitions)
        async with self._lock:
            self._active -= revoked
            gone = [name for name, state in self._keys.items() if state.partition in revoked]
            for name in gone:
                del self._keys[name]
                self._wake_at.pop(name, None)
                self._dirty.discard(name)
                self._snapshot_due.discard(name)
            self._outbox = [g for g in self._outbox if g.partition not in revoked]
            metrics.KEYS.set(len(self._keys))
        if revoked:
            log.info("partitions revoked", extra={"partitions": sorted(revoked), "keys": len(gone)})

    async def on_partitions_ready(self, partitions: Iterable[int]) -> None:
        """The table is restored for ``partitions``: rebuild their keys, then serve them."""
        assigned = set(partitions)
        async with self._lock:
            gone = self._active - assigned
            if gone:
                self._active -= gone
                for name in [n for n, s in self._keys.items() if s.partition in gone]:
                    del self._keys[name]
            new = assigned - self._active
            now = self._clock()
            resent = 0
            for name, found in self._store.load(new).items():
                key = found.key.quota_key if found.key is not None else found.requests[0].quota_key
                state, repaired = KeyState.restore(
                    key, found.key, found.requests, self._book.config_for(key), now
                )
                self._keys[name] = state
                self._persist(state, repaired)
                if repaired.upserts:
                    log.warning(
                        "grants recorded but never published were queued again",
                        extra={"quota_key": name, "requests": len(repaired.upserts)},
                    )
                # One of these may have been recorded and never published: send again.
                for request in state.requests.values():
                    if (
                        request.state is RequestState.GRANTED
                        and request.granted_at is not None
                        and request.granted_at > now - self._config.resend_on_recovery_s
                    ):
                        self._outbox.append(request)
                        resent += 1
                self._dirty.add(name)
                self._snapshot_due.add(name)
            self._active |= new
            metrics.KEYS.set(len(self._keys))
        async with self._activated:
            self._activated.notify_all()
        self._wakeup.set()
        log.info(
            "partitions ready",
            extra={
                "partitions": sorted(new),
                "keys": sum(1 for s in self._keys.values() if s.partition in new),
                "queued": sum(len(s.queue) for s in self._keys.values() if s.partition in new),
                "grants_resent": resent,
            },
        )

    async def _until_active(self, partition: int) -> None:
        if partition in self._active:
            return
        async with asyncio.timeout(ACTIVATION_TIMEOUT_S), self._activated:
            await self._activated.wait_for(
                lambda: partition in self._active or self.failed.is_set()
            )

    # ------------------------------------------------------------------ requests in

    async def on_message(self, msg: Incoming) -> None:
        if self.failed.is_set():
            raise RuntimeError("throttle engine failed; not processing more requests")
        try:
            event = decode(msg.value, REQUEST_TYPES)
        except DecodeError as exc:
            await self._dead_letter(msg, str(exc))
            return
        assert isinstance(event, TokenRequested | TokenCancelled | TokenReleased | QuotaFeedback)
        metrics.REQUESTS.labels(event.event_type).inc()
        name = str(event.quota_key)
        if msg.key is None or msg.key.decode("utf-8", "replace") != name:
            # The key decides the partition, and the partition decides which instance owns
            # the bucket: a mis-keyed message could be granted by a second owner.
            await self._dead_letter(msg, f"message key must be the quota key {name!r}")
            return
        await self._until_active(msg.partition)
        now = self._clock()
        state = self._keys.get(name)
        if state is None:
            state = self._keys[name] = KeyState.new(
                event.quota_key, msg.partition, self._book.config_for(event.quota_key), now
            )
            metrics.KEYS.set(len(self._keys))
        if state.partition != msg.partition:
            await self._dead_letter(msg, f"{name} is owned through partition {state.partition}")
            return
        try:
            out = self._apply(state, event, msg, now)
        except RequestRejected as exc:
            await self._dead_letter(msg, str(exc))
            return
        self._persist(state, out)
        self._outbox.extend(out.grants)  # repeats: sent after the next barrier, like new ones
        self._dirty.add(name)
        self._wakeup.set()

    def _apply(self, state: KeyState, event: Event, msg: Incoming, now: float) -> KeyChanges:
        match event:
            case TokenRequested():
                # Waiting started when the requester asked (the record's timestamp), which
                # stays the same when the request is replayed after a restart.
                arrived = min(now, msg.timestamp) if msg.timestamp else now
                return state.request(event, seq=msg.offset, arrived_at=arrived)
            case TokenCancelled():
                return state.cancel(event.request_id, now)
            case TokenReleased():
                out = state.release(event.request_id, event.grant_seq, now)
                if out.key_changed:
                    metrics.RELEASES.labels(state.key.quota_class.value).inc()
                return out
            case QuotaFeedback(kind="throttled"):
                log.warning("Amazon throttled; bucket drained", extra={"quota_key": str(state.key)})
                metrics.DRAINS.labels(state.key.quota_class.value).inc()
                return state.throttled(now)
            case QuotaFeedback(rate_per_s=float() as rate):
                log.info(
                    "Amazon announced a rate",
                    extra={"quota_key": str(state.key), "rate_per_s": rate},
                )
                return state.observed_rate(rate, now)
            case _:
                return KeyChanges()  # observed_rate without a rate: nothing to adopt

    def _persist(self, state: KeyState, out: KeyChanges) -> None:
        # Request records first, the key record last: see KeyState.restore.
        for record in out.upserts:
            self._store.put_request(record)
        for record in out.forgotten:
            self._store.forget_request(record)
        if out.key_changed:
            self._store.put_key(state.record())
        if not out.empty:
            self._snapshot_due.add(str(state.key))

    async def _dead_letter(self, msg: Incoming, reason: str) -> None:
        metrics.DEAD_LETTERS.inc()
        log.warning(
            "request dead-lettered",
            extra={"partition": msg.partition, "offset": msg.offset, "reason": reason},
        )
        letter = dead_letter_for(
            topic=THROTTLE_REQUESTS.name,
            partition=msg.partition,
            offset=msg.offset,
            key=msg.key,
            value=msg.value,
            error=reason,
            consumer_group=self._config.group_id,
        )
        await self._send(DEAD_LETTERS.name, letter.key, letter)
        count_dead_letter(letter)

    # ------------------------------------------------------------------ grants out

    async def _dispatch_forever(self) -> None:
        while not self._stopping:
            delay = None
            if self._heap:
                delay = max(0.0, self._heap[0][0] - self._clock())
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that arrives as the event fires, and the loop would outlive stop().
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()
            self._wakeup.clear()
            if not self._stopping:
                await self.dispatch()

    async def dispatch(self) -> None:
        """One cycle: grant what is due, make it durable, then send it."""
        async with self._lock:
            now = self._clock()
            names = self._dirty | self._take_due(now)
            self._dirty = set()
            new: list[RequestRecord] = []
            for name in names:
                state = self._keys.get(name)
                if state is None:
                    continue
                out = state.grant_due(now)
                self._persist(state, out)
                new.extend(out.grants)
                self._schedule(name, state.next_grant_at(now))
            outgoing = self._outbox + new
            self._outbox = []
            # The barrier: also for cycles without grants, so nothing waits in the buffer.
            await self._store.make_durable()
            for record in new:
                metrics.GRANTS.labels(record.quota_key.quota_class.value).inc()
                metrics.WAIT.labels(record.quota_key.quota_class.value).observe(
                    (record.granted_at or now) - record.enqueued_at
                )
            if len(outgoing) > len(new):
                metrics.GRANT_REPEATS.inc(len(outgoing) - len(new))
            for record in outgoing:
                await self._send_grant(record)

    def _schedule(self, name: str, at: float | None) -> None:
        if at is None or at == NEVER:
            self._wake_at.pop(name, None)
            return
        if self._wake_at.get(name) == at:
            return
        self._wake_at[name] = at
        heapq.heappush(self._heap, (at, name))

    def _take_due(self, now: float) -> set[str]:
        due: set[str] = set()
        while self._heap and self._heap[0][0] <= now:
            at, name = heapq.heappop(self._heap)
            if self._wake_at.get(name) == at:  # else superseded by a later schedule
                del self._wake_at[name]
                due.add(name)
        return due

    async def _send_grant(self, record: RequestRecord) -> None:
        grant = TokenGranted(
            request_id=record.request_id,
            quota_key=record.quota_key,
            job_id=record.job_id,
            reply_to=record.reply_to,
            cost=record.cost,
            waited_s=max(0.0, (record.granted_at or 0.0) - record.enqueued_at),
            grant_seq=record.grant_seq or 0,
            granted_at=as_datetime(record.granted_at) if record.granted_at else None,
        )
        try:
            await self._send(THROTTLE_GRANTS.name, record.reply_to, grant)
        except Exception:
            # A lost grant costs its requester a repeat of its request, never a token.
            log.exception("grant not sent", extra={"request_id": record.request_id})

    async def _send(self, topic: str, key: str | None, event: Event) -> None:
        ack = await self._producer.send(
            topic, key.encode("utf-8") if key is not None else None, encode(event), None, None, None
        )
        ack.add_done_callback(_log_send_failure)

    # ------------------------------------------------------------------ snapshots

    async def _snapshots_forever(self) -> None:
        interval = self._config.snapshot_interval_s
        while True:
            await asyncio.sleep(interval / 4)
            await self.publish_snapshots()

    async def publish_snapshots(self) -> None:
        """Keys that changed, at most once per interval each; and keys still refilling or
        with a queue every few intervals, so the panel's "tokens now" does not go stale."""
        now = self._clock()
        interval = self._config.snapshot_interval_s
        for name, state in list(self._keys.items()):
            since = now - self._snapshot_sent.get(name, 0.0)
            if name in self._snapshot_due:
                if since < interval:
                    continue
            elif since < REFRESH_INTERVALS * interval or not (
                len(state.queue) or state.limiter.bucket.available(now) < state.limiter.bucket.burst
            ):
                continue
            self._snapshot_due.discard(name)
            self._snapshot_sent[name] = now
            view = state.view(now)
            metrics.QUEUE_DEPTH.labels(name).set(view.queue_depth)
            metrics.TOKENS.labels(name).set(view.tokens)
            snapshot = BucketSnapshot(
                quota_key=state.key,
                tokens=view.tokens,
                burst=view.burst,
                rate_per_s=view.rate_per_s,
                hourly_cap=view.hourly_cap,
                used_last_hour=view.used_last_hour,
                queue_depth=view.queue_depth,
                next_grant_at=as_datetime(view.next_grant_at) if view.next_grant_at else None,
                drained_until=as_datetime(view.hold_until) if view.hold_until else None,
            )
            await self._send(THROTTLE_SNAPSHOTS.name, name, snapshot)

    # ------------------------------------------------------------------ forgetting

    async def _forget_forever(self) -> None:
        keep_s = self._config.grant_memory_s / self._book.time_scale
        while True:
            await asyncio.sleep(min(60.0, max(1.0, keep_s / 10)))
            self.forget(keep_s)

    def forget(self, keep_s: float) -> None:
        now = self._clock()
        for state in self._keys.values():
            self._persist(state, state.forget(now, keep_s, self._config.grant_memory_max))

    # ------------------------------------------------------------------ reading

    @property
    def active_partitions(self) -> frozenset[int]:
        return frozenset(self._active)

    def key_state(self, key: QuotaKey) -> KeyState | None:
        return self._keys.get(str(key))


def _log_send_failure(ack: asyncio.Future[Any]) -> None:
    if not ack.cancelled() and ack.exception() is not None:
        log.error("message not delivered", exc_info=ack.exception())
