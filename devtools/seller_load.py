"""Several shops of one Amazon seller saturating its createFeed quota, on the real parts.

The throttle benchmark and the seller-share test both run this: each shop has its own
account (a PrestaShop multistore, one Amazon seller behind all of them), and keeps some
feeds waiting at all times. A feed's document is created and uploaded first; then the
shop's job asks for a ``feed_submit`` token through :class:`shared.metered.Metered` (the
workers' own path: the key is the account's *seller*) and spends it on one ``createFeed``
at the sandbox, which enforces Amazon's published limits from its own table.

:func:`possible_grants` says what the throttle's default limits allow over a span, by
granting as early as they let it (the throttle's own :class:`Limiter`, without latency
margins), so utilisation is measured against the limits in force, caps included.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from services.throttle.keystate import KeyState
from services.throttle.quota_specs import KeyConfig
from shared.accounts import AccountRegistry
from shared.events import AccountRegistered
from shared.jobs import JobType
from shared.metered import Metered
from shared.quotas import QuotaClass, QuotaSpec
from shared.spapi.client import SpApiClient
from shared.spapi.errors import Throttled
from shared.spapi.models.feeds import CreateFeedResponse
from shared.spapi.result import ApiResult
from shared.throttle.client import ThrottleClient
from shared.throttle.messages import QuotaKey, TokenGranted

MARKETPLACE = "A1PA6795UKMFR9"  # amazon.de
CONTENT_TYPE = "application/json; charset=UTF-8"


def feed_body(seller_id: str) -> bytes:
    """A one-message JSON_LISTINGS_FEED: what it says does not matter here."""
    message = {
        "messageId": 1,
        "sku": "LOAD-SKU",
        "operationType": "PATCH",
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 1}],
            }
        ],
    }
    header = {"sellerId": seller_id, "version": "2.0"}
    return json.dumps({"header": header, "messages": [message]}).encode()


def possible_grants(
    spec: QuotaSpec, time_scale: float, span_s: float, margin_s: float = 0.0
) -> list[float]:
    """Real seconds (from the first grant) at which ``spec`` allows each grant in
    ``span_s``, granting as soon as allowed. With ``margin_s`` (the throttle's
    ``THROTTLE_LATENCY_MARGIN_S``), when the throttle itself may grant them."""
    key = QuotaKey(seller_id="model", region="EU", quota_class=QuotaClass.FEED_SUBMIT)
    config = KeyConfig(spec, time_scale=time_scale, latency_margin_s=margin_s)
    limiter = KeyState.new(key, 0, config, 0.0).limiter
    instants: list[float] = []
    now = 0.0
    while True:
        now = limiter.ready_at(1, now)
        if now >= span_s:  # half open, like the rolling hour: [0, span)
            return instants
        limiter.take(1, now)
        instants.append(now)


def due_instants(
    spec: QuotaSpec, time_scale: float, margin_s: float, granted: list[float]
) -> list[float]:
    """When each of a saturated key's grants was due, given the grants actually made
    (real seconds from the first, in grant order): the throttle's own limits replayed over
    the real history, so one late grant does not make every later one look late too."""
    key = QuotaKey(seller_id="model", region="EU", quota_class=QuotaClass.FEED_SUBMIT)
    config = KeyConfig(spec, time_scale=time_scale, latency_margin_s=margin_s)
    limiter = KeyState.new(key, 0, config, 0.0).limiter
    due, previous = [], 0.0
    for at in granted:
        due.append(limiter.ready_at(1, previous))
        limiter.bucket.take(1, at)  # as the throttle did, whatever the model says
        for cap in (limiter.cap, limiter.window):
            if cap is not None:
                cap.record(1, at)
        previous = at
    return due


@dataclass
class Use:
    shop: str
    grant: TokenGranted
    arrived: float  # wall clock: the grant reached the shop
    accepted: bool  # createFeed answered 202 (a 429 is retried under a fresh token)


@dataclass
class Load:
    accounts: list[AccountRegistered]
    uses: list[Use] = field(default_factory=list)
    # Every createFeed sent: (wall clock sent, answered, HTTP status), to explain a 429.
    calls: list[tuple[float, float, int]] = field(default_factory=list)

    @property
    def first_grant(self) -> float:
        return min(u.grant.granted_at.timestamp() for u in self.uses if u.grant.granted_at)

    def in_span(self, span_s: float) -> list[Use]:
        """Uses whose grant the throttle made within ``span_s`` of its first grant."""
        t0 = self.first_grant
        return [
            u
            for u in self.uses
            if u.accepted and u.grant.granted_at and u.grant.granted_at.timestamp() < t0 + span_s
        ]

    def jain(self, uses: list[Use]) -> float:
        """Jain's fairness index of the shops' shares (1.0: equal)."""
        share = Counter(u.shop for u in uses)
        shops = [a.shop_id for a in self.accounts]
        total = sum(share[s] for s in shops)
        return total**2 / (len(shops) * sum(share[s] ** 2 for s in shops))


async def shop_worker(
    load: Load,
    account: AccountRegistered,
    registry: AccountRegistry,
    throttle: ThrottleClient,
    spapi: SpApiClient,
    until: float,
) -> None:
    """One of a shop's requesters: a feed at a time, each a job of its own, until
    ``until`` (wall clock)."""
    body = feed_body(account.seller_id)

    async def observe(_key: QuotaKey, _rate: float) -> None:
        return None

    while time.time() < until:
        document = (await spapi.create_feed_document(CONTENT_TYPE)).value
        await spapi.upload_feed_document(document.url, body, CONTENT_TYPE)
        job = Metered(
            accounts=registry,
            throttle=throttle,
            observe_rate=observe,
            job_id=f"load-{uuid.uuid4().hex[:12]}",
            shop_id=account.shop_id,
            account_id=account.account_id,
            job_type=JobType.UPDATE_QTY,
        )
        try:
            async with asyncio.timeout(max(0.05, until - time.time())):
                grant = await job.first_token(QuotaClass.FEED_SUBMIT)
        except TimeoutError:  # the request is withdrawn from the throttle's queue
            return
        arrived = time.time()
        if arrived >= until:
            await job.give_back()
            return
        feed_id = document.feed_document_id

        async def create_feed(feed_id: str = feed_id) -> ApiResult[CreateFeedResponse]:
            sent = time.time()
            try:
                result = await spapi.create_feed("JSON_LISTINGS_FEED", [MARKETPLACE], feed_id)
            except Throttled:
                load.calls.append((sent, time.time(), 429))
                raise
            load.calls.append((sent, time.time(), 202))
            return result

        await job.call(QuotaClass.FEED_SUBMIT, "createFeed", create_feed, have_token=True)
        load.uses.append(Use(account.shop_id, grant, arrived, accepted=True))
