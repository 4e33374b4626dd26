"""Everything the sandbox remembers, in memory: sellers with their listings, catalog,
orders, feeds, reports and documents; access tokens; document URLs; rate limits; faults.

Concurrency: the app runs on one event loop, and every change to a seller happens under
that seller's ``asyncio.Lock`` with no await inside, so concurrent requests of one seller
see each other's changes whole. Sellers never share mutable state.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import secrets
import uuid
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from services.amazon_sandbox.buckets import Limiters
from services.amazon_sandbox.clock import Clock
from services.amazon_sandbox.errors import unauthorized
from services.amazon_sandbox.faults import Faults
from services.amazon_sandbox.limits import ROLLING_LIMITS, USAGE_PLANS, RollingLimit, UsagePlan
from services.amazon_sandbox.listings import Catalog, Listing
from services.amazon_sandbox.orders import Order
from services.amazon_sandbox.settings import SandboxSettings
from services.amazon_sandbox.stats import CallStats


class ProcessingStatus(StrEnum):
    IN_QUEUE = "IN_QUEUE"  # waiting for its turn (or for the queue delay to pass)
    IN_PROGRESS = "IN_PROGRESS"  # being processed
    DONE = "DONE"  # finished; the result document says how each message fared
    CANCELLED = "CANCELLED"  # cancelled while IN_QUEUE, or a report with no data
    FATAL = "FATAL"  # aborted: unreadable input, retired feed type, injected fault

    @property
    def finished(self) -> bool:
        return self in (ProcessingStatus.DONE, ProcessingStatus.CANCELLED, ProcessingStatus.FATAL)


class DocumentKind(StrEnum):
    FEED_INPUT = "feed_input"  # created by createFeedDocument, uploaded by the client
    FEED_RESULT = "feed_result"  # a processing report
    REPORT = "report"  # a report's contents


@dataclass
class Document:
    """A feed input or a result document, as stored behind its presigned URLs."""

    document_id: str
    kind: DocumentKind
    content_type: str
    data: bytes | None = None  # None until uploaded
    compression: str | None = None  # "GZIP" for result documents


@dataclass
class Job:
    """What feeds and reports share: Amazon processes both the same way."""

    job_id: str
    job_type: str
    marketplace_ids: list[str]
    created: float  # monotonic
    status: ProcessingStatus = ProcessingStatus.IN_QUEUE
    started: float | None = None
    ended: float | None = None
    result_document_id: str | None = None
    # A fault decided at creation: the feed ends FATAL / the report document is corrupt.
    sabotaged: bool = False
    bomb_bytes: int = 0  # zero bytes the report document ends in (report_bomb_bytes fault)


@dataclass
class Feed(Job):
    input_document_id: str = ""
    feed_options: dict[str, str] = field(default_factory=dict)


@dataclass
class Report(Job):
    report_options: dict[str, str] = field(default_factory=dict)
    data_start_time: str | None = None
    data_end_time: str | None = None


@dataclass
class Line:
    """One seller's processing line: Amazon works on one feed (one report) at a time."""

    waiting: deque[Job] = field(default_factory=deque)  # not yet finished, oldest first
    free_at: float = float("-inf")  # when the line finished its last job


@dataclass
class Seller:
    seller_id: str
    refresh_token: str
    marketplace_ids: list[str]
    catalog: Catalog
    # Per marketplace, then SKU: an offer (its price, its stock) is per marketplace, and
    # a JSON_LISTINGS_FEED or a patchListingsItem changes the marketplaces it names only.
    listings: dict[str, dict[str, Listing]]
    orders: dict[str, Order]
    # Overrides of Amazon's limits (limits.py) for this seller, Amazon time: benchmarks
    # lift them to measure the pipeline rather than Amazon.
    usage_plans: dict[str, UsagePlan] = field(default_factory=dict)
    rolling_limits: dict[str, RollingLimit] = field(default_factory=dict)
    feeds: dict[str, Feed] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    feed_line: Line = field(default_factory=Line)
    report_line: Line = field(default_factory=Line)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def listings_in(self, marketplace_id: str) -> dict[str, Listing]:
        """The seller's listings on one marketplace (none yet: an empty one, kept)."""
        return self.listings.setdefault(marketplace_id, {})

    def usage_plan(self, operation: str) -> UsagePlan:
        """The bucket of ``operation`` for this seller, in Amazon time."""
        return self.usage_plans.get(operation) or USAGE_PLANS[operation]

    def rolling_limit(self, name: str) -> RollingLimit:
        return self.rolling_limits.get(name) or ROLLING_LIMITS[name]


@dataclass(frozen=True, slots=True)
class AccessToken:
    seller_id: str
    expires_at: float  # monotonic


@dataclass(frozen=True, slots=True)
class DocumentUrl:
    seller_id: str
    document_id: str
    method: str  # PUT (upload) or GET (download)
    expires_at: float  # monotonic


# Expired tokens are dropped when this many have piled up, not on every request.
_PURGE_EVERY = 10_000


class SandboxState:
    def __init__(
        self, settings: SandboxSettings, clock: Clock, rng: random.Random | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sellers: dict[str, Seller] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.document_urls: dict[str, DocumentUrl] = {}
        self.limiters = Limiters()
        self.faults = Faults(rng)
        self.stats = CallStats()
        # Ids keep counting across resets, so a client holding an old id gets a 404.
        self._feed_ids = itertools.count(50_012_345_001)
        self._report_ids = itertools.count(60_012_345_001)

    # --- sellers -------------------------------------------------------------------------

    def register_seller(self, seller: Seller) -> None:
        """Add a seller, or replace one with everything it had (idempotent re-registration).
        Its access tokens stay valid: they name the seller, not its data."""
        self.sellers[seller.seller_id] = seller
        self.limiters.forget_seller(seller.seller_id)

    def seller_by_refresh_token(self, refresh_token: str) -> Seller | None:
        return next((s for s in self.sellers.values() if s.refresh_token == refresh_token), None)

    def reset(self) -> None:
        self.sellers.clear()
        self.access_tokens.clear()
        self.document_urls.clear()
        self.limiters.clear()
        self.faults.clear()
        self.stats.clear()

    # --- ids -------------------------------------------------------------------------------

    def new_feed_id(self) -> str:
        return str(next(self._feed_ids))

    def new_report_id(self) -> str:
        return str(next(self._report_ids))

    @staticmethod
    def new_feed_document_id() -> str:
        return f"amzn1.tortuga.4.na.{uuid.uuid4()}"

    @staticmethod
    def new_report_document_id() -> str:
        return f"amzn1.spdoc.1.4.na.{uuid.uuid4()}"

    # --- access tokens ---------------------------------------------------------------------

    def issue_access_token(self, seller_id: str) -> str:
        now = self.clock.now()
        if len(self.access_tokens) >= _PURGE_EVERY:
            self.access_tokens = {
                token: entry
                for token, entry in self.access_tokens.items()
                if entry.expires_at > now
            }
        token = "Atza|" + secrets.token_urlsafe(32)
        lifetime = self.clock.duration(self.settings.access_token_ttl_s)
        self.access_tokens[token] = AccessToken(seller_id, now + lifetime)
        return token

    def seller_for_token(self, token: str | None) -> Seller:
        """The seller an ``x-amz-access-token`` belongs to; 403 Unauthorized otherwise."""
        if not token:
            raise unauthorized("The access token you provided is missing.")
        entry = self.access_tokens.get(token)
        if entry is None:
            raise unauthorized("The access token you provided is revoked, malformed or invalid.")
        if self.clock.now() >= entry.expires_at:
            raise unauthorized("The access token you provided has expired.")
        seller = self.sellers.get(entry.seller_id)
        if seller is None:  # the seller was reset away
            raise unauthorized("The access token you provided is revoked, malformed or invalid.")
        return seller

    # --- document URLs ---------------------------------------------------------------------

    def document_url_token(self, seller_id: str, document_id: str, method: str) -> str:
        now = self.clock.now()
        if len(self.document_urls) >= _PURGE_EVERY:
            self.document_urls = {
                token: url for token, url in self.document_urls.items() if url.expires_at > now
            }
        token = secrets.token_urlsafe(24)
        lifetime = max(
            self.clock.duration(self.settings.document_url_ttl_s),
            self.settings.document_url_min_real_s,
        )
        self.document_urls[token] = DocumentUrl(seller_id, document_id, method, now + lifetime)
        return token
