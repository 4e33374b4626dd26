"""Waiting for quota tokens from the throttle service without blocking anything else.

::

    client = ThrottleClient(bootstrap, publisher, reply_to="submitter-host-1")
    await client.start()
    grant = await client.acquire(key, request_id="job-1:submit", job_id="job-1",
                                 job_type=JobType.UPDATE_QTY, shop_id="shop1", timeout=300)
    await amazon.create_feed(...)   # spends the token; or, if no call is made after all
    await client.release(grant)     # (a canceled job), it goes back to its bucket
    await client.stop()

Requests are idempotent by ``request_id``: asking again (after a timeout, a restart, a
lost grant) keeps the request's place in the queue or gets the same grant again, never a
second token. The client repeats a pending request every ``resend_interval_s`` by itself,
so a throttle restart or a grant lost on the way costs a few seconds, not the job.

Grants are read from ``amazon.internal.throttle-grants`` without a consumer group: every
partition assigned, from the end, filtered by ``reply_to``. ``reply_to`` names this
requester (the same name after a restart is fine: a restarted requester asks again and
the grant follows the newest ``reply_to``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.codec import DecodeError, decode
from shared.jobs import JobType
from shared.kafka.clients import new_consumer
from shared.kafka.producer import EventPublisher
from shared.supervisor import supervise
from shared.throttle.messages import (
    QuotaFeedback,
    QuotaKey,
    TokenCancelled,
    TokenGranted,
    TokenReleased,
    TokenRequested,
)
from shared.topics import THROTTLE_GRANTS, THROTTLE_REQUESTS

log = logging.getLogger(__name__)


class ThrottleError(Exception):
    """Base of the client's errors."""


class AcquireTimeout(ThrottleError, TimeoutError):
    """No token within the timeout; the request was withdrawn (asking again with the same
    request id puts it back in its old place)."""

    def __init__(self, key: QuotaKey, request_id: str, timeout: float) -> None:
        super().__init__(f"no {key} token for request {request_id!r} within {timeout:g}s")
        self.key = key
        self.request_id = request_id


class AcquireCancelled(ThrottleError):
    """``cancel()`` was called for a request someone was waiting on."""


@dataclass
class _Early:
    grant: TokenGranted
    at: float = field(default_factory=time.monotonic)


class ThrottleClient:
    def __init__(
        self,
        bootstrap_servers: str,
        publisher: EventPublisher,
        reply_to: str,
        *,
        resend_interval_s: float = 10.0,
        early_grant_ttl_s: float = 60.0,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.publisher = publisher
        self.reply_to = reply_to
        self.resend_interval_s = resend_interval_s
        self.early_grant_ttl_s = early_grant_ttl_s
        # All by (str(quota key), request id): request ids are only unique within a key.
        self._waiters: dict[tuple[str, str], asyncio.Future[TokenGranted]] = {}
        self._early: dict[tuple[str, str], _Early] = {}  # grants that came before any waiter
        self._abandoned: dict[tuple[str, str], float] = {}  # gave up: release if granted
        self._consumer: AIOKafkaConsumer | None = None
        self._reader: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        consumer = new_consumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            client_id=f"throttle-client-{self.reply_to}",
        )
        await consumer.start()
        partitions = consumer.partitions_for_topic(THROTTLE_GRANTS.name)
        if not partitions:
            partitions = set(range(THROTTLE_GRANTS.partitions))
        tps = [TopicPartition(THROTTLE_GRANTS.name, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        # Pin the positions now: a grant written between start() and the first fetch must
        # not be skipped by a lazily resolved "end".
        for tp in tps:
            await consumer.position(tp)
        self._consumer = consumer
        # Supervised: without its reader no grant ever arrives, and every job waiting for a
        # token would wait for good behind a healthy-looking process.
        self._reader = supervise("throttle grants reader", self._read_forever())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            # A reader that died has been reported by its supervisor already.
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(ThrottleError("throttle client stopped"))
        self._waiters.clear()

    # ------------------------------------------------------------------ asking

    async def acquire(
        self,
        key: QuotaKey,
        *,
        request_id: str,
        job_id: str,
        job_type: JobType,
        shop_id: str,
        priority: int | None = None,
        cost: int = 1,
        # A parameter rather than asyncio.timeout() around the call, so the error names the
        # key and request (the request is withdrawn either way).
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> TokenGranted:
        """Wait for a token of ``key``; raises :class:`AcquireTimeout` after ``timeout``."""
        if self._consumer is None:
            raise ThrottleError("start() the throttle client first")
        slot = (str(key), request_id)
        self._abandoned.pop(slot, None)
        early = self._early.pop(slot, None)
        if early is not None:
            return early.grant
        fut = self._waiters.get(slot)
        if fut is None or fut.done():
            fut = self._waiters[slot] = asyncio.get_running_loop().create_future()
        request = TokenRequested(
            request_id=request_id,
            quota_key=key,
            shop_id=shop_id,
            job_id=job_id,
            job_type=job_type,
            priority=priority,
            cost=cost,
            reply_to=self.reply_to,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout is not None else None
        try:
            while True:
                await self.publisher.publish(THROTTLE_REQUESTS, str(key), request)
                wait = self.resend_interval_s
                if deadline is not None:
                    wait = min(wait, deadline - loop.time())
                    if wait <= 0:
                        raise AcquireTimeout(key, request_id, timeout or 0.0)
                # asyncio.timeout rather than wait_for (which on 3.11 can swallow the
                # caller's cancellation); shield: one round's timeout must not cancel fut.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        return await asyncio.shield(fut)
                if deadline is not None and loop.time() >= deadline:
                    raise AcquireTimeout(key, request_id, timeout or 0.0)
        except BaseException:
            await asyncio.shield(self._give_up(key, request_id, fut))
            raise
        finally:
            if self._waiters.get(slot) is fut:
                del self._waiters[slot]

    async def _give_up(
        self, key: QuotaKey, request_id: str, fut: asyncio.Future[TokenGranted]
    ) -> None:
        """The waiter is gone (timeout, cancellation): withdraw, and return a late grant."""
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            # Granted in the same instant the caller stopped waiting: nobody will use it.
            await self.release(fut.result())
            return
        self._abandoned[(str(key), request_id)] = time.monotonic()
        await self.publisher.publish(
            THROTTLE_REQUESTS, str(key), TokenCancelled(request_id=request_id, quota_key=key)
        )

    async def cancel(self, key: QuotaKey, request_id: str) -> None:
        """Withdraw a queued request (a granted token stays spent: ``release`` it)."""
        slot = (str(key), request_id)
        fut = self._waiters.pop(slot, None)
        if fut is not None and not fut.done():
            fut.set_exception(AcquireCancelled(f"request {request_id!r} was cancelled"))
        self._abandoned[slot] = time.monotonic()
        await self.publisher.publish(
            THROTTLE_REQUESTS, str(key), TokenCancelled(request_id=request_id, quota_key=key)
        )

    async def release(self, grant: TokenGranted) -> None:
        """Give an unused token back to its bucket."""
        await self.publisher.publish(
            THROTTLE_REQUESTS,
            str(grant.quota_key),
            TokenReleased(
                request_id=grant.request_id, quota_key=grant.quota_key, grant_seq=grant.grant_seq
            ),
        )

    async def report_throttled(self, key: QuotaKey) -> None:
        """Amazon answered 429 on ``key``: the throttle drains that bucket."""
        await self.publisher.publish(
            THROTTLE_REQUESTS, str(key), QuotaFeedback(quota_key=key, kind="throttled")
        )

    async def report_rate(self, key: QuotaKey, rate_per_s: float) -> None:
        """Amazon announced ``x-amzn-RateLimit-Limit`` (requests per second) on ``key``."""
        await self.publisher.publish(
            THROTTLE_REQUESTS,
            str(key),
            QuotaFeedback(quota_key=key, kind="observed_rate", rate_per_s=rate_per_s),
        )

    # ------------------------------------------------------------------ grants in

    async def _read_forever(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    self._on_record(record.value)
            self._expire()

    def _on_record(self, value: bytes | None) -> None:
        try:
            grant = decode(value)
        except DecodeError as exc:
            log.warning("unreadable message on the grants topic", extra={"reason": str(exc)})
            return
        if not isinstance(grant, TokenGranted) or grant.reply_to != self.reply_to:
            return
        slot = (str(grant.quota_key), grant.request_id)
        fut = self._waiters.get(slot)
        if fut is not None and not fut.done():
            fut.set_result(grant)
        elif slot in self._abandoned:
            # Its waiter gave up; nobody here will use it, so it goes back at once.
            del self._abandoned[slot]
            self._in_background(self.release(grant))
        elif fut is None:
            # Granted before acquire() was called for it (or a repeat of a grant already
            # used): keep it briefly for an acquire with the same id.
            self._early.setdefault(slot, _Early(grant))

    def _expire(self) -> None:
        horizon = time.monotonic() - self.early_grant_ttl_s
        for rid in [r for r, e in self._early.items() if e.at < horizon]:
            del self._early[rid]
        for rid in [r for r, at in self._abandoned.items() if at < horizon]:
            del self._abandoned[rid]

    def _in_background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
