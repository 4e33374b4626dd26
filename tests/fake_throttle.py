"""What :class:`~shared.metered.Metered` talks to, in memory: the throttle client's
``acquire`` / ``release`` / ``report_throttled``, the worker's ``observe_rate``, and the
sleep of its backoff between tries.

Every token taken, given back or reported is recorded, and every backoff (recorded, not
slept), so a test can count the tokens a job spent per quota class. No broker: a token is
granted at once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import cast

from shared.accounts import AccountRegistry
from shared.events import AccountRegistered
from shared.jobs import JobType
from shared.metered import Metered
from shared.quotas import QuotaClass
from shared.spapi.retry import RetryPolicy
from shared.throttle.client import ThrottleClient
from shared.throttle.messages import QuotaKey, TokenGranted
from tests.factories import account_registered

ACCOUNT = account_registered("acc-de", shop_id="shop1", name="DE", seller_id="A1SELLERTEST")


@dataclass(frozen=True)
class Taken:
    """One token asked for (and granted)."""

    key: QuotaKey
    request_id: str
    job_id: str
    job_type: JobType
    shop_id: str
    priority: int | None
    timeout: float | None


@dataclass
class FakeThrottle:
    taken: list[Taken] = field(default_factory=list)
    released: list[TokenGranted] = field(default_factory=list)
    throttled: list[QuotaKey] = field(default_factory=list)
    rates: list[tuple[QuotaKey, float]] = field(default_factory=list)
    backoffs: list[float] = field(default_factory=list)

    async def acquire(
        self,
        key: QuotaKey,
        *,
        request_id: str,
        job_id: str,
        job_type: JobType,
        shop_id: str,
        priority: int | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (ThrottleClient's)
    ) -> TokenGranted:
        self.taken.append(Taken(key, request_id, job_id, job_type, shop_id, priority, timeout))
        return TokenGranted(
            request_id=request_id,
            quota_key=key,
            job_id=job_id,
            reply_to="test",
            grant_seq=len(self.taken),
        )

    async def release(self, grant: TokenGranted) -> None:
        self.released.append(grant)

    async def report_throttled(self, key: QuotaKey) -> None:
        self.throttled.append(key)

    async def observe_rate(self, key: QuotaKey, rate: float) -> None:
        self.rates.append((key, rate))

    async def sleep(self, seconds: float) -> None:
        self.backoffs.append(seconds)

    def tokens(self) -> Counter[QuotaClass]:
        """Tokens taken per quota class."""
        return Counter(t.key.quota_class for t in self.taken)


def metered(
    throttle: FakeThrottle,
    job_type: JobType,
    *,
    job_id: str = "job-1",
    account: AccountRegistered = ACCOUNT,
    priority: int | None = None,
    max_throttles: int = 10,
) -> Metered:
    """A job's real Metered, its throttle and token source faked. Its retry policy is the
    default one with the jitter drawn at 0.5: backoffs of 0.25, 0.5 and 1.0 s (recorded)."""
    accounts = AccountRegistry()
    accounts.on_record(account.account_id, account)
    return Metered(
        accounts=accounts,
        # Metered uses only acquire, release and report_throttled of the client.
        throttle=cast(ThrottleClient, throttle),
        observe_rate=throttle.observe_rate,
        job_id=job_id,
        shop_id=account.shop_id,
        account_id=account.account_id,
        job_type=job_type,
        priority=priority,
        wait_s=30.0,
        max_throttles=max_throttles,
        retry=RetryPolicy(sleep=throttle.sleep, random=lambda: 0.5),
    )
