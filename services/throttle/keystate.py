"""Everything the throttle knows about one quota key, and every decision about it.

Pure: each command (a request, a cancel, a release, Amazon's feedback, "time passed")
changes the state in memory and returns an :class:`KeyChanges` naming the records to
persist and the grants to publish. The shell persists first and publishes after; this
module never has to think about Kafka.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.throttle.buckets import NEVER, Limiter, RollingCap, TokenBucket
from services.throttle.quota_specs import KeyConfig
from services.throttle.records import KeyRecord, RequestRecord, RequestState
from services.throttle.scheduler import FairShare, KeyQueue, Waiting
from shared.quotas import BASE_PRIORITY
from shared.throttle.messages import QuotaKey, TokenRequested


class RequestRejected(ValueError):
    """A request that can never be granted (it asks for more than the bucket holds)."""


@dataclass(slots=True)
class KeyChanges:
    upserts: list[RequestRecord] = field(default_factory=list)
    forgotten: list[RequestRecord] = field(default_factory=list)
    key_changed: bool = False
    # Granted records to publish once everything above is durable; new grants and
    # repeats of earlier ones alike (``repeats`` counts the latter).
    grants: list[RequestRecord] = field(default_factory=list)
    repeats: int = 0
    drained: bool = False

    def merge(self, other: KeyChanges) -> KeyChanges:
        self.upserts.extend(other.upserts)
        self.forgotten.extend(other.forgotten)
        self.key_changed |= other.key_changed
        self.grants.extend(other.grants)
        self.repeats += other.repeats
        self.drained |= other.drained
        return self

    @property
    def empty(self) -> bool:
        return not (self.upserts or self.forgotten or self.key_changed or self.grants)


@dataclass(frozen=True, slots=True)
class KeyView:
    """One key at one instant, for snapshots and metrics."""

    tokens: float
    burst: int
    rate_per_s: float  # Amazon time
    hourly_cap: int | None
    used_last_hour: int | None
    queue_depth: int
    next_grant_at: float | None
    hold_until: float | None


def _waiting(record: RequestRecord) -> Waiting:
    return Waiting(
        request_id=record.request_id,
        shop_id=record.shop_id,
        priority=record.priority,
        cost=record.cost,
        enqueued_at=record.enqueued_at,
        seq=record.seq,
    )


class KeyState:
    def __init__(
        self,
        key: QuotaKey,
        partition: int,
        config: KeyConfig,
        limiter: Limiter,
        queue: KeyQueue,
        *,
        grant_seq: int = 0,
        observed_rate_per_s: float | None = None,
    ) -> None:
        self.key = key
        self.partition = partition
        self.config = config
        self.limiter = limiter
        self.queue = queue
        self.grant_seq = grant_seq
        self.observed_rate_per_s = observed_rate_per_s
        self.requests: dict[str, RequestRecord] = {}

    # ------------------------------------------------------------------ building

    @classmethod
    def new(cls, key: QuotaKey, partition: int, config: KeyConfig, now: float) -> KeyState:
        spec = config.spec
        # A key seen for the first time starts full, as Amazon's bucket does; if Amazon
        # disagrees it says 429 and the bucket is drained.
        bucket = TokenBucket.full(
            spec.burst,
            config.clock_rate(spec.rate_per_s),
            now,
            refill_delay_s=config.refill_delay_s(spec.rate_per_s),
        )
        return cls(
            key, partition, config, _limiter(bucket, config), KeyQueue(config.ageing_step_clock_s)
        )

    @classmethod
    def restore(
        cls,
        key: QuotaKey,
        record: KeyRecord | None,
        requests: Iterable[RequestRecord],
        config: KeyConfig,
        now: float,
    ) -> tuple[KeyState, KeyChanges]:
        """Rebuild a key from its records, and repair what a crash left half written.

        The shell writes a change's request records before the key record, in one
        changelog partition, so a crash leaves a prefix of them. A request recorded as
        granted under a number the key record never reached was therefore never published
        (grants go out only after both are durable): it is queued again, and the returned
        outcome writes that down before any new grant can reuse its number.
        """
        requests = list(requests)
        if record is None:
            partition = requests[0].partition if requests else 0
            state = cls.new(key, partition, config, now)
        else:
            spec = config.spec
            rate = record.observed_rate_per_s or spec.rate_per_s
            bucket = TokenBucket(
                burst=spec.burst,
                rate_per_s=config.clock_rate(rate),
                tokens=record.tokens,
                updated_at=record.updated_at,
                hold_until=record.hold_until,
                refill_delay_s=config.refill_delay_s(rate),
            )
            bucket.resize(spec.burst, now)  # the configuration may have changed meanwhile
            limiter = _limiter(bucket, config)
            if limiter.cap is not None:
                limiter.cap.slots = [(start, count) for start, count in record.cap_slots]
            if limiter.window is not None:
                limiter.window.slots = [(start, count) for start, count in record.window_slots]
            fairness = FairShare(record.virtual_time, dict(record.finish))
            state = cls(
                key,
                record.partition,
                config,
                limiter,
                KeyQueue(config.ageing_step_clock_s, fairness),
                grant_seq=record.grant_seq,
                observed_rate_per_s=record.observed_rate_per_s,
            )
        repaired = KeyChanges()
        for request in requests:
            if request.state is RequestState.GRANTED and (request.grant_seq or 0) > state.grant_seq:
                request = request.model_copy(
                    update={"state": RequestState.QUEUED, "granted_at": None, "grant_seq": None}
                )
                repaired.upserts.append(request)
            state.requests[request.request_id] = request
            if request.state is RequestState.QUEUED:
                state.queue.add(_waiting(request))
        return state, repaired

    def record(self) -> KeyRecord:
        bucket, cap, window = self.limiter.bucket, self.limiter.cap, self.limiter.window
        return KeyRecord(
            quota_key=self.key,
            partition=self.partition,
            tokens=bucket.tokens,
            updated_at=bucket.updated_at,
            hold_until=bucket.hold_until,
            observed_rate_per_s=self.observed_rate_per_s,
            cap_slots=list(cap.slots) if cap is not None else [],
            window_slots=list(window.slots) if window is not None else [],
            virtual_time=self.queue.fairness.virtual_time,
            finish=dict(self.queue.fairness.finish),
            grant_seq=self.grant_seq,
        )

    # ------------------------------------------------------------------ commands

    def request(self, msg: TokenRequested, *, seq: int, arrived_at: float) -> KeyChanges:
        """A TokenRequested; repeats are recognised by request id."""
        out = KeyChanges()
        known = self.requests.get(msg.request_id)
        if known is not None and known.state is RequestState.GRANTED:
            # Already has its token: the same grant again, to wherever it now listens.
            if known.reply_to != msg.reply_to:
                known = self._put(known.model_copy(update={"reply_to": msg.reply_to}), out)
            out.grants.append(known)
            out.repeats += 1
            return out
        if known is not None and known.state is RequestState.QUEUED:
            if known.reply_to != msg.reply_to:
                self._put(known.model_copy(update={"reply_to": msg.reply_to}), out)
            return out
        priority = msg.priority if msg.priority is not None else BASE_PRIORITY[msg.job_type]
        if self.limiter.ready_at(msg.cost, arrived_at) == NEVER:
            raise RequestRejected(
                f"cost {msg.cost} can never be granted by {self.key} "
                f"(burst {self.limiter.bucket.burst})"
            )
        if known is not None and known.state is RequestState.CANCELLED:
            # Withdrawn and asked for again (e.g. a requester whose wait timed out):
            # it gets its old place and age back rather than the end of the line.
            seq, enqueued_at = known.seq, known.enqueued_at
        else:
            seq, enqueued_at = seq, arrived_at
        record = RequestRecord(
            quota_key=self.key,
            partition=self.partition,
            request_id=msg.request_id,
            shop_id=msg.shop_id,
            job_id=msg.job_id,
            job_type=msg.job_type,
            priority=priority,
            cost=msg.cost,
            reply_to=msg.reply_to,
            seq=seq,
            enqueued_at=enqueued_at,
            changed_at=arrived_at,
        )
        self._put(record, out)
        self.queue.add(_waiting(record))
        return out

    def cancel(self, request_id: str, now: float) -> KeyChanges:
        """Withdraw a queued request. A granted one keeps its token: only the requester
        knows whether it used it, and says so with a release."""
        out = KeyChanges()
        known = self.requests.get(request_id)
        if known is None or known.state is not RequestState.QUEUED:
            return out
        self.queue.remove(request_id)
        self._put(
            known.model_copy(update={"state": RequestState.CANCELLED, "changed_at": now}), out
        )
        return out

    def release(self, request_id: str, grant_seq: int | None, now: float) -> KeyChanges:
        """A granted token that was not used goes back into the bucket, once."""
        out = KeyChanges()
        known = self.requests.get(request_id)
        if known is None or known.state is not RequestState.GRANTED:
            return out
        if grant_seq is not None and grant_seq != known.grant_seq:
            return out  # a stale release of an earlier grant of the same id
        self.limiter.give_back(known.cost, now)
        self._put(known.model_copy(update={"state": RequestState.RELEASED, "changed_at": now}), out)
        out.key_changed = True
        return out

    def throttled(self, now: float) -> KeyChanges:
        """Amazon answered 429: its bucket is empty. Ours too, for one restore interval."""
        bucket = self.limiter.bucket
        hold = 1.0 / bucket.rate_per_s if bucket.rate_per_s > 0 else 0.0
        bucket.drain(now, hold)
        return KeyChanges(key_changed=True, drained=True)

    def observed_rate(self, amazon_rate_per_s: float, now: float) -> KeyChanges:
        """Amazon announced its rate (x-amzn-RateLimit-Limit, per Amazon second)."""
        if self.observed_rate_per_s == amazon_rate_per_s:
            return KeyChanges()
        self.observed_rate_per_s = amazon_rate_per_s
        self.limiter.bucket.set_rate(self.config.clock_rate(amazon_rate_per_s), now)
        self.limiter.bucket.refill_delay_s = self.config.refill_delay_s(amazon_rate_per_s)
        return KeyChanges(key_changed=True)

    def grant_due(self, now: float) -> KeyChanges:
        """Grant every request whose token(s) exist now, in scheduling order."""
        out = KeyChanges()
        while (head := self.queue.next(now)) is not None:
            if self.limiter.ready_at(head.cost, now) > now:
                break
            self.limiter.take(head.cost, now)
            self.queue.served(head.request_id)
            self.grant_seq += 1
            granted = self._put(
                self.requests[head.request_id].model_copy(
                    update={
                        "state": RequestState.GRANTED,
                        "granted_at": now,
                        "changed_at": now,
                        "grant_seq": self.grant_seq,
                    }
                ),
                out,
            )
            out.grants.append(granted)
            out.key_changed = True
        return out

    def forget(self, now: float, keep_s: float, keep_max: int) -> KeyChanges:
        """Drop finished requests older than ``keep_s``, and the oldest beyond ``keep_max``."""
        out = KeyChanges()
        finished = sorted(
            (r for r in self.requests.values() if r.state is not RequestState.QUEUED),
            key=lambda r: r.changed_at,
        )
        excess = len(finished) - keep_max
        for i, record in enumerate(finished):
            if i >= excess and record.changed_at > now - keep_s:
                break
            del self.requests[record.request_id]
            out.forgotten.append(record)
        return out

    # ------------------------------------------------------------------ reading

    def next_grant_at(self, now: float) -> float | None:
        """When the next grant can happen (``now`` if it can), None if nothing waits."""
        head = self.queue.next(now)
        if head is None:
            return None
        return self.limiter.ready_at(head.cost, now)

    def view(self, now: float) -> KeyView:
        bucket, cap = self.limiter.bucket, self.limiter.cap
        next_at = self.next_grant_at(now)
        return KeyView(
            tokens=bucket.available(now),
            burst=bucket.burst,
            rate_per_s=self.config.amazon_rate(bucket.rate_per_s),
            hourly_cap=cap.cap if cap is not None else None,
            used_last_hour=cap.used(now) if cap is not None else None,
            queue_depth=len(self.queue),
            next_grant_at=next_at if next_at is not None and next_at != NEVER else None,
            hold_until=bucket.hold_until if bucket.hold_until > now else None,
        )

    # ------------------------------------------------------------------ helpers

    def _put(self, record: RequestRecord, out: KeyChanges) -> RequestRecord:
        self.requests[record.request_id] = record
        out.upserts.append(record)
        return record


def _limiter(bucket: TokenBucket, config: KeyConfig) -> Limiter:
    """The bucket with the caps the key's spec sets: the hourly cap is ours (Amazon never
    sees it, so it is counted exactly); a shorter window is Amazon's, and counts each
    grant a margin longer, as the bucket delays its refill (``refill_delay_s``)."""
    spec = config.spec
    cap = RollingCap.hourly(spec.hourly_cap, config.hour_clock_s) if spec.hourly_cap else None
    window = None
    if spec.window_cap:
        window_s = spec.window_s / config.time_scale
        # Capped at half the window, so that a high time scale (a 5-minute window of a
        # fraction of a second) does not make the margin the limit: 5 per 450 s still
        # allows more than the 30 feeds an hour the hourly cap lets through. (At scale 1
        # the margin is THROTTLE_LATENCY_MARGIN_S, 2 s, far below that.)
        window = RollingCap.over(
            spec.window_cap, window_s, min(config.latency_margin_s, window_s / 2)
        )
    return Limiter(bucket, cap, window)
