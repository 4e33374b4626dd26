"""One SP-API call under a quota token, the same way in every worker.

Take a token for the job's (seller, region, quota class) → call Amazon → tell the
throttle a rate Amazon states that differs from what it knows. **One token, one
request**: the SP-API client sends each call once, and every try here spends a grant of
its own, never one already spent (docs/design.md §15):

- 429: tell the throttle (it drains the bucket), wait for a fresh token, call again;
  after ``max_throttles`` more the call is a transient failure (:class:`StillThrottled`),
  retried by its caller like a 5xx;
- 5xx, timeout, lost connection: back off (the jittered ``RetryPolicy``), wait for a fresh
  token, call again, up to the policy's attempts. A request that never left
  (``NotSent``) gives its grant back: Amazon spent nothing on it;
- ``MaybeAccepted`` (``createFeed``/``createReport`` that may have been carried out) is
  never sent again from here: it goes to the caller, who decides and says so;
- a rejected access token: one more try on a fresh grant (the client has forgotten the
  token); refused again, it is an ``AuthError``.

Request ids are the job's, the purpose's, a number, and this process's nonce: unique for
ever, so a grant is never handed out twice.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import Counter

from shared.accounts import AccountRegistry
from shared.jobs import JobType
from shared.quotas import QuotaClass
from shared.spapi.errors import (
    AccessTokenRejected,
    MalformedResponse,
    MaybeAccepted,
    NotSent,
    PermanentError,
    Throttled,
    TransientError,
)
from shared.spapi.result import ApiResult
from shared.spapi.retry import RetryPolicy
from shared.throttle.client import ThrottleClient
from shared.throttle.messages import QuotaKey, TokenGranted

log = logging.getLogger(__name__)
T = TypeVar("T")

CALLS = Counter(
    "spapi_calls_total", "SP-API calls under a quota token, by outcome", ["operation", "result"]
)

ObserveRate = Callable[[QuotaKey, float], Awaitable[None]]


class StillThrottled(TransientError):
    """Amazon kept answering 429 although the throttle granted tokens: worth another try
    later (the throttle has drained the bucket meanwhile), never a failed job at once."""


class Metered:
    """The metered calls of one job: its account's quota keys, its priority."""

    _numbers = itertools.count(1)
    _nonce = uuid.uuid4().hex[:8]  # this process's

    def __init__(
        self,
        *,
        accounts: AccountRegistry,
        throttle: ThrottleClient,
        observe_rate: ObserveRate,
        job_id: str,
        shop_id: str,
        account_id: str,
        job_type: JobType,
        priority: int | None = None,
        wait_s: float = 300.0,
        max_throttles: int = 10,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.throttle = throttle
        self.observe_rate = observe_rate
        self.job_id = job_id
        self.shop_id = shop_id
        self.account_id = account_id
        self.job_type = job_type
        self.priority = priority
        self.wait_s = wait_s
        self.max_throttles = max_throttles
        self.retry = retry or RetryPolicy()
        # Tries Amazon may have carried out: every try that was not answered by a refusal
        # (429, never sent, 4xx), including one cut short. A caller that stops between
        # a call with side effects and its record compares it with its value before the
        # call: unchanged, nothing of its reached Amazon (docs/design.md §15).
        self.unrefused = 0
        self.taking = 0  # waits for a grant under way (a stopping caller need not wait)
        account = accounts.get(account_id)
        # Amazon counts per selling partner: every account of one seller shares its buckets.
        self.seller_id, self.region = account.seller_id, account.region
        # The job's first token (asked for before it turns processing), kept for the call
        # it was asked for (``have_token``) or given back if the job is canceled.
        self.first: TokenGranted | None = None

    def key(self, quota_class: QuotaClass) -> QuotaKey:
        return QuotaKey(seller_id=self.seller_id, region=self.region, quota_class=quota_class)

    def request_id(self, purpose: str) -> str:
        return f"{self.job_id}:{purpose}:{next(self._numbers)}@{self._nonce}"

    async def first_token(self, quota_class: QuotaClass) -> TokenGranted:
        """Wait for the job's first token (before it turns ``processing``); the call made
        ``have_token`` spends it."""
        self.first = await self._take(quota_class, "first")
        return self.first

    async def give_back(self) -> None:
        """Return the first token if no call spent it (a canceled job's)."""
        first, self.first = self.first, None
        if first is not None:
            await self.throttle.release(first)

    async def _take(self, quota_class: QuotaClass, purpose: str) -> TokenGranted:
        """Wait for a token however long the queue is. Each wait of ``wait_s`` that ends
        without a grant is renewed with the same request id, which keeps its place in the
        throttle's queue; the bound only makes a silent throttle visible in the logs."""
        key, request_id = self.key(quota_class), self.request_id(purpose)
        self.taking += 1
        try:
            while True:
                try:
                    return await self.throttle.acquire(
                        key,
                        request_id=request_id,
                        job_id=self.job_id,
                        job_type=self.job_type,
                        shop_id=self.shop_id,
                        priority=self.priority,
                        timeout=self.wait_s,
                    )
                except TimeoutError:
                    log.info(
                        "still waiting for a token",
                        extra={
                            "job_id": self.job_id,
                            "shop_id": self.shop_id,
                            "quota_key": str(key),
                        },
                    )
        finally:
            self.taking -= 1

    async def call(
        self,
        quota_class: QuotaClass,
        operation: str,
        call: Callable[[], Awaitable[ApiResult[T]]],
        *,
        have_token: bool = False,
        report_rate: bool = True,
    ) -> ApiResult[T]:
        """``call`` under a token of ``quota_class``, each try on a grant of its own
        (``have_token``: the first try spends the one already held)."""
        key = self.key(quota_class)
        throttles = failures = 0
        token_refused = False
        held = self.first if have_token else None
        while True:
            if held is not None:
                grant, held, self.first = held, None, None  # the call spends it, whatever comes
            else:
                grant = await self._take(quota_class, operation)
            self.unrefused += 1
            try:
                result = await call()
            except Throttled as exc:
                self.unrefused -= 1
                CALLS.labels(operation, "throttled").inc()
                log.warning(
                    "throttled by Amazon", extra={"job_id": self.job_id, "quota_key": str(key)}
                )
                await self.throttle.report_throttled(key)
                throttles += 1
                if throttles > self.max_throttles:
                    raise StillThrottled(
                        f"{operation}: Amazon answered 429 {throttles} times in a row",
                        operation=operation,
                        attempts=throttles,
                        status=429,
                    ) from exc
                continue
            except MaybeAccepted:
                CALLS.labels(operation, "maybe_accepted").inc()
                raise  # a repeat could make a second feed: the caller's decision
            except TransientError as exc:
                CALLS.labels(operation, "transient").inc()
                if isinstance(exc, NotSent):
                    self.unrefused -= 1
                    await self.throttle.release(grant)
                failures += 1
                await self._again_or_raise(operation, key, failures, exc)
                continue
            except AccessTokenRejected as exc:
                self.unrefused -= 1
                CALLS.labels(operation, "token_rejected").inc()
                if token_refused:
                    raise exc.persisting() from exc
                token_refused = True
                continue
            except Exception as exc:
                if isinstance(exc, PermanentError) and not isinstance(exc, MalformedResponse):
                    self.unrefused -= 1  # a 4xx: Amazon answered and did nothing
                CALLS.labels(operation, "failed").inc()
                raise
            CALLS.labels(operation, "ok").inc()
            if report_rate and result.rate_limit is not None:
                await self.observe_rate(key, result.rate_limit)
            return result

    async def _again_or_raise(
        self, operation: str, key: QuotaKey, failures: int, exc: TransientError
    ) -> None:
        """The backoff before the next try, or a ``TransientError`` when the retry policy's
        attempts are spent (the caller tries the job again later)."""
        gave_up = TransientError(
            f"{operation} failed {failures} times in a row; last: {exc}",
            operation=operation,
            attempts=failures,
            status=exc.status,
            request_id=exc.request_id,
            errors=exc.errors,
        )
        if failures < self.retry.max_attempts:
            log.warning(
                "transient failure; trying again on a fresh token",
                extra={
                    "job_id": self.job_id,
                    "quota_key": str(key),
                    "attempt": failures,
                    "error": str(exc),
                },
            )
        await self.retry.again_or_raise(failures, gave_up, exc)
