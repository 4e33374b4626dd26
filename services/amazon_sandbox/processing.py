"""Feeds and reports moving through IN_QUEUE → IN_PROGRESS → DONE / FATAL / CANCELLED.

Advanced lazily: before anything reads or changes a seller, ``advance`` replays every
transition that is due, in time order, at the instant it was due (not when someone
looked), so timestamps and effects are the same whether a client polls every second or
once an hour. Each seller has one line for feeds and one for reports; like Amazon, a line
processes one job at a time, so a feed starts when both its queueing delay is over and
the previous feed of the seller is done. Effects of feeds and reports interleave in time
order too: a report that finished before a feed does not see that feed's changes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass

from services.amazon_sandbox import fulfillment_feed, listings_feed
from services.amazon_sandbox.clock import isoformat
from services.amazon_sandbox.listings_feed import FeedContext, IssueCode
from services.amazon_sandbox.reports import build_report
from services.amazon_sandbox.state import (
    Document,
    DocumentKind,
    Feed,
    Job,
    Line,
    ProcessingStatus,
    Report,
    SandboxState,
    Seller,
)

JSON_LISTINGS_FEED = "JSON_LISTINGS_FEED"
ORDER_FULFILLMENT_FEED = fulfillment_feed.FEED_TYPE
SUPPORTED_FEED_TYPES = frozenset({JSON_LISTINGS_FEED, ORDER_FULFILLMENT_FEED})
# Legacy XML and flat-file listing feeds, retired on 2025-07-31: accepted, then FATAL.
RETIRED_FEED_TYPES = frozenset(
    {
        "POST_PRODUCT_DATA",
        "POST_INVENTORY_AVAILABILITY_DATA",
        "POST_PRODUCT_PRICING_DATA",
        "POST_PRODUCT_IMAGE_DATA",
        "POST_PRODUCT_RELATIONSHIP_DATA",
        "POST_PRODUCT_OVERRIDES_DATA",
        "POST_FLAT_FILE_LISTINGS_DATA",
        "POST_FLAT_FILE_INVLOADER_DATA",
        "POST_FLAT_FILE_PRICEANDQUANTITYONLY_UPDATE_DATA",
        "POST_FLAT_FILE_BOOKLOADER_DATA",
        "POST_FLAT_FILE_CONVERGENCE_LISTINGS_DATA",
        "POST_FLAT_FILE_LISTINGS_DATA_V2",
    }
)

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
XML_CONTENT_TYPE = "text/xml; charset=UTF-8"
TSV_CONTENT_TYPE = "text/tab-separated-values; charset=UTF-8"


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: ProcessingStatus
    document: bytes | None = None
    content_type: str = JSON_CONTENT_TYPE
    corrupt: bool = False  # store the document's gzip truncated (malformed_reports fault)


Finisher = Callable[[SandboxState, Seller, Job, float], _Outcome]


def advance(state: SandboxState, seller: Seller) -> None:
    """Apply every transition of ``seller``'s feeds and reports that is due by now."""
    clock, settings = state.clock, state.settings
    lines: tuple[tuple[Line, float, float, Finisher], ...] = (
        (
            seller.feed_line,
            clock.duration(settings.feed_queue_s),
            clock.duration(settings.feed_processing_s),
            _finish_feed,
        ),
        (
            seller.report_line,
            clock.duration(settings.report_queue_s),
            clock.duration(settings.report_processing_s),
            _finish_report,
        ),
    )
    now = clock.now()
    while True:
        due: tuple[float, Line, float, Finisher] | None = None
        for line, queue_s, processing_s, finisher in lines:
            at = _next_transition(line, queue_s, processing_s)
            if at is not None and at <= now and (due is None or at < due[0]):
                due = (at, line, processing_s, finisher)
        if due is None:
            return
        at, line, _, finisher = due
        job = line.waiting[0]
        if job.status is ProcessingStatus.IN_QUEUE:
            job.status = ProcessingStatus.IN_PROGRESS
            job.started = at
        else:
            _finish(state, seller, line, job, at, finisher)


def _next_transition(line: Line, queue_s: float, processing_s: float) -> float | None:
    if not line.waiting:
        return None
    job = line.waiting[0]
    if job.status is ProcessingStatus.IN_QUEUE:
        return max(job.created + queue_s, line.free_at)
    assert job.started is not None
    return job.started + processing_s


def _finish(
    state: SandboxState, seller: Seller, line: Line, job: Job, at: float, finisher: Finisher
) -> None:
    outcome = finisher(state, seller, job, at)
    job.status = outcome.status
    job.ended = at
    line.free_at = at
    line.waiting.popleft()
    if outcome.document is None:
        return
    packed = gzip.compress(outcome.document, mtime=0)
    if outcome.corrupt:
        packed = packed[: len(packed) // 2]
    if isinstance(job, Feed):
        document_id, kind = state.new_feed_document_id(), DocumentKind.FEED_RESULT
    else:
        document_id, kind = state.new_report_document_id(), DocumentKind.REPORT
    seller.documents[document_id] = Document(
        document_id, kind, outcome.content_type, data=packed, compression="GZIP"
    )
    job.result_document_id = document_id


def _finish_feed(state: SandboxState, seller: Seller, job: Job, at: float) -> _Outcome:
    assert isinstance(job, Feed)
    if job.sabotaged:
        return _fatal_feed(seller, job, "The feed failed because of an internal error.")
    if job.job_type in RETIRED_FEED_TYPES:
        return _fatal_feed(
            seller,
            job,
            f"The feed type {job.job_type} is no longer supported; "
            "use JSON_LISTINGS_FEED or the Listings Items API.",
        )
    document = seller.documents.get(job.input_document_id)
    if document is None or document.data is None:
        return _fatal_feed(seller, job, "The feed document was not uploaded.")
    now = state.clock.wall(at)
    if job.job_type == JSON_LISTINGS_FEED:
        # A JSON_LISTINGS_FEED is for one marketplace: the one it was created for.
        marketplace = job.marketplace_ids[0]
        context = FeedContext(
            seller_id=seller.seller_id,
            feed_id=job.job_id,
            marketplace_ids=[marketplace],
            catalog=seller.catalog,
            now=isoformat(now),
        )
        result = listings_feed.process_listings_feed(
            document.data, context, seller.listings_in(marketplace)
        )
        if not result.fatal:
            seller.listings[marketplace] = result.listings
        status = ProcessingStatus.FATAL if result.fatal else ProcessingStatus.DONE
        return _Outcome(status, json.dumps(result.report).encode())
    outcome = fulfillment_feed.process_fulfillment_feed(
        document.data,
        seller_id=seller.seller_id,
        feed_id=job.job_id,
        orders=seller.orders,
        now=now,
    )
    status = ProcessingStatus.FATAL if outcome.fatal else ProcessingStatus.DONE
    return _Outcome(status, outcome.report, XML_CONTENT_TYPE)


def _fatal_feed(seller: Seller, feed: Feed, reason: str) -> _Outcome:
    """FATAL with a result document saying why, in the feed type's own report format."""
    if feed.job_type == JSON_LISTINGS_FEED:
        report = listings_feed.fatal_report(
            seller.seller_id, feed.job_id, IssueCode.FEED_NOT_PROCESSED, reason
        )
        return _Outcome(ProcessingStatus.FATAL, json.dumps(report).encode())
    xml = fulfillment_feed.fatal_report(seller.seller_id, feed.job_id, reason)
    return _Outcome(ProcessingStatus.FATAL, xml, XML_CONTENT_TYPE)


def _finish_report(state: SandboxState, seller: Seller, job: Job, at: float) -> _Outcome:
    assert isinstance(job, Report)
    # A listings report is of one marketplace: the first it was requested for.
    tsv = build_report(job.job_type, seller.listings_in(job.marketplace_ids[0]).values())
    if tsv is None:
        return _Outcome(ProcessingStatus.CANCELLED)
    if job.bomb_bytes:
        tsv += bytes(job.bomb_bytes)
    return _Outcome(ProcessingStatus.DONE, tsv, TSV_CONTENT_TYPE, corrupt=job.sabotaged)
