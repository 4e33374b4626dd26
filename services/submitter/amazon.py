"""The submitter's calls to Amazon for each job type, under quota tokens.

A feed goes in two steps. ``prepare`` does everything that leaves nothing behind at Amazon
when repeated: ASIN lookups, building the document, uploading it. ``send`` is the one call
with a lasting effect (``createFeed``): the service runs it in a critical section, so a
rebalance waits for it to be recorded and a feed is sent twice only if a process dies in
between (docs/design.md §15). Reports are one call (``request_report``); orders import is
pages of reads, each published with its cursor (``import_orders``); a small urgent job is
one ``patchListingsItem`` per item (``patch_item``), each recorded before the next.

Every call goes through the job's :class:`~shared.metered.Metered` (token, call, 429,
observed rate). A feed's messages are numbered by their items' ordinals in the job
(docs/design.md §11).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from services.submitter import patching
from shared.events import (
    AccountRegistered,
    ItemState,
    ListingIssue,
    LogLine,
    OrderImported,
    OrderLine,
)
from shared.failures import Failure
from shared.formats import fulfillment_feed, listings_feed
from shared.formats.orders_page import SEARCH_INCLUDED_DATA, OrderRecord, page_from_search
from shared.job_data import DoneData, SubmittedData
from shared.job_items import (
    ITEM_MODEL,
    FulfillmentItem,
    InventoryReportParams,
    OrdersImportParams,
    SendProductItem,
)
from shared.job_state import JobState
from shared.jobs import JobType
from shared.metered import Metered
from shared.quotas import QuotaClass
from shared.spapi.client import SpApiClient
from shared.spapi.errors import MalformedResponse, PermanentError

log = logging.getLogger(__name__)

MAX_IDENTIFIERS = 20  # searchCatalogItems takes at most 20 identifiers per call
ADVISED_FEED_BYTES = 10 * 1024 * 1024  # Amazon advises feeds under 10 MiB


@dataclass
class Submitted:
    data: SubmittedData
    log: list[LogLine] = field(default_factory=list)
    items: list[ItemState] = field(default_factory=list)  # items changed before sending


@dataclass
class Finished:
    data: DoneData
    log: list[LogLine] = field(default_factory=list)
    items: list[ItemState] = field(default_factory=list)  # every item's final state


@dataclass
class Aborted:
    reason: str
    items: list[ItemState] = field(default_factory=list)
    failure: Failure = "refused"


AmazonResult = Submitted | Finished | Aborted


@dataclass
class FeedReady:
    """A feed document uploaded to Amazon, to be submitted with ``send``."""

    feed_type: str
    marketplace: str
    document_id: str
    what: str  # "12 message(s)", for the log
    items: list[ItemState] = field(default_factory=list)  # decided or matched before sending
    log: list[LogLine] = field(default_factory=list)


P = TypeVar("P", InventoryReportParams, OrdersImportParams)


def marketplace_of(state: JobState, account: AccountRegistered) -> str:
    return state.facts.marketplace_id or account.marketplace_ids[0]


def params_of(state: JobState, model: type[P]) -> P:
    """The job's parameters (intake checked them against its type), else the defaults."""
    params = state.facts.params
    return params if isinstance(params, model) else model.model_validate({})


# ------------------------------------------------------------------ feeds


async def prepare(
    client: SpApiClient, metered: Metered, account: AccountRegistered, state: JobState
) -> FeedReady | Aborted:
    """Everything before ``createFeed``: repeating it leaves nothing behind at Amazon."""
    marketplace = marketplace_of(state, account)
    if state.job_type is JobType.ORDERS_FULFILLMENT:
        numbered_orders = [
            (n, FulfillmentItem.model_validate(i.request))
            for n, i in enumerate(state.items.values(), start=1)
        ]
        shipments = fulfillment_feed.build_fulfillment_feed(
            account.seller_id, [s for _, s in numbered_orders], [n for n, _ in numbered_orders]
        )
        document_id = await _upload(
            client, metered, state, shipments.body, fulfillment_feed.CONTENT_TYPE
        )
        return FeedReady(
            fulfillment_feed.FEED_TYPE,
            marketplace,
            document_id,
            f"the shipment confirmation of {len(numbered_orders)} order(s)",
        )
    matched: list[ItemState] = []
    errors: list[ItemState] = []
    asins: dict[str, str | None] = {}
    if state.job_type is JobType.SEND_PRODUCTS:
        matched, errors = await lookup_asins(client, metered, state, marketplace)
        if not matched:
            return Aborted("no item of the job could be matched to an Amazon item", errors)
        asins = {i.key: i.asin for i in matched}
    model = ITEM_MODEL[state.job_type]
    numbered: list[tuple[int, listings_feed.ListingItem]] = []
    for n, item in enumerate(state.items.values(), start=1):
        parsed = model.model_validate(item.request)
        if isinstance(parsed, SendProductItem):
            if item.key not in asins:
                continue
            parsed = parsed.model_copy(update={"asin": asins[item.key]})
        numbered.append((n, parsed))  # type: ignore[arg-type]
    doc = listings_feed.build_listings_feed(
        account.seller_id, marketplace, state.job_type, numbered
    )
    notes: list[LogLine] = []
    if errors:
        notes.append(LogLine(level="warning", message=f"{len(errors)} item(s) not found at Amazon"))
    if len(doc.body) > ADVISED_FEED_BYTES:
        notes.append(
            LogLine(
                level="info",
                message=f"the feed is {len(doc.body) / 2**20:.1f} MiB, above Amazon's advice of "
                "10 MiB; it is sent whole, so that the job stays one feed",
            )
        )
    document_id = await _upload(client, metered, state, doc.body, listings_feed.CONTENT_TYPE)
    return FeedReady(
        listings_feed.FEED_TYPE,
        marketplace,
        document_id,
        f"{doc.message_count} message(s)",
        items=matched + errors,
        log=notes,
    )


async def send(
    client: SpApiClient, metered: Metered, state: JobState, ready: FeedReady
) -> Submitted:
    """``createFeed`` with the job's granted token: the call that cannot be taken back."""
    feed = await metered.call(
        QuotaClass.FEED_SUBMIT,
        "createFeed",
        lambda: client.create_feed(ready.feed_type, [ready.marketplace], ready.document_id),
        have_token=True,
    )
    return Submitted(
        SubmittedData(
            feed_id=feed.value.feed_id,
            feed_type=ready.feed_type,
            marketplace_id=ready.marketplace,
            input_document_id=ready.document_id,
            submitted_at=datetime.now(UTC),
        ),
        [*ready.log, LogLine(message=f"feed {feed.value.feed_id} submitted with {ready.what}")],
        ready.items,
    )


UPLOAD_ATTEMPTS = 3  # a presigned URL lives 5 minutes: a slow upload asks for a new one


async def _upload(
    client: SpApiClient, metered: Metered, state: JobState, body: bytes, content_type: str
) -> str:
    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        doc = await metered.call(
            QuotaClass.FEED_DOCUMENT,
            "createFeedDocument",
            lambda: client.create_feed_document(content_type),
        )
        try:
            await client.upload_feed_document(doc.value.url, body, content_type)
        except PermanentError as exc:
            # The storage's 403 is an expired URL: a new document has a fresh one.
            if exc.status != 403 or attempt == UPLOAD_ATTEMPTS:
                raise
            log.warning(
                "feed document URL expired before the upload; asking for a new one",
                extra={"job_id": state.job_id, "attempt": attempt},
            )
            continue
        return doc.value.feed_document_id
    raise AssertionError("unreachable")  # pragma: no cover


async def lookup_asins(
    client: SpApiClient, metered: Metered, state: JobState, marketplace: str
) -> tuple[list[ItemState], list[ItemState]]:
    """send_products items matched to an Amazon item (ASIN given, or found by EAN/UPC),
    with ``asin`` set; and those not found, in error."""
    items = {i.key: SendProductItem.model_validate(i.request) for i in state.items.values()}
    asins = {sku: i.asin for sku, i in items.items() if i.asin}
    for kind in ("EAN", "UPC"):
        # Several SKUs may carry one code (a new and a used offer of one product).
        wanted: dict[str, list[SendProductItem]] = {}
        for i in items.values():
            code = i.ean if kind == "EAN" else i.upc
            if i.sku not in asins and code:
                wanted.setdefault(code, []).append(i)
        codes = list(wanted)
        for start in range(0, len(codes), MAX_IDENTIFIERS):
            batch = codes[start : start + MAX_IDENTIFIERS]
            page: str | None = None
            while True:  # 20 codes can match more items than one page holds
                found = await metered.call(
                    QuotaClass.ASIN_LOOKUP,
                    "searchCatalogItems",
                    lambda b=batch, k=kind, p=page: client.search_catalog_items(  # type: ignore[misc]
                        b, k, marketplace, page_token=p
                    ),
                )
                for item in found.value.items:
                    for by_market in item.identifiers or []:
                        for ident in by_market.identifiers:
                            for match in wanted.get(ident.identifier, ()):
                                asins.setdefault(match.sku, item.asin)
                pagination = found.value.pagination
                page = pagination.next_token if pagination is not None else None
                if page is None:
                    break
    matched: list[ItemState] = []
    errors: list[ItemState] = []
    for sku, product in items.items():
        state_item = state.items[sku]
        if sku in asins:
            matched.append(state_item.model_copy(update={"asin": asins[sku]}))
        else:
            code = f"EAN {product.ean}" if product.ean else f"UPC {product.upc}"
            errors.append(
                state_item.model_copy(
                    update={
                        "status": "error",
                        "messages": [f"no Amazon item found for {code} in {marketplace}"],
                    }
                )
            )
    return matched, errors


# ------------------------------------------------------------------ patches


@dataclass
class Patched:
    """One item sent by patchListingsItem and Amazon's answer."""

    item: ItemState  # accepted, warning or error, with Amazon's issues
    at: datetime  # when Amazon answered: the listing's as_of
    submission_id: str | None = None
    # Amazon's issues as the listing keeps them (None: from the item's messages).
    issues: list[ListingIssue] | None = None


async def patch_item(
    client: SpApiClient,
    metered: Metered,
    account: AccountRegistered,
    state: JobState,
    key: str,
) -> Patched:
    """One item by ``patchListingsItem`` under a ``listing_patch`` token (the job's first
    grant for its first call). A 400 is this item's error, not the job's: the next SKU
    may pass."""
    item = state.items[key]
    request = patching.patch_request(state.job_type, item, marketplace_of(state, account))
    try:
        answer = await metered.call(
            QuotaClass.LISTING_PATCH,
            "patchListingsItem",
            lambda: client.patch_listings_item(
                request.sku, [marketplace_of(state, account)], request.product_type, request.patches
            ),
            have_token=True,
        )
    except PermanentError as exc:
        if isinstance(exc, MalformedResponse):
            raise  # an answer we cannot read: worth another try, as for any call
        return Patched(patching.item_refused(item, str(exc)), datetime.now(UTC))
    return Patched(
        patching.item_after(item, answer.value),
        datetime.now(UTC),
        answer.value.submission_id,
        patching.listing_issues(answer.value),
    )


def patched(state: JobState) -> Finished:
    """The job once every item has its answer."""
    data = patching.done_data(state.items.values())
    return Finished(
        data,
        [
            LogLine(
                level="warning" if data.errors else "info",
                message=f"patchListingsItem: {data.processed} item(s), {data.accepted} accepted, "
                f"{data.errors} in error; no feed",
            )
        ],
        list(state.items.values()),  # as a feed's JobDone carries them
    )


# ------------------------------------------------------------------ reports


async def request_report(
    client: SpApiClient, metered: Metered, account: AccountRegistered, state: JobState
) -> Submitted:
    params = params_of(state, InventoryReportParams)
    marketplace = marketplace_of(state, account)
    report = await metered.call(
        QuotaClass.REPORT_REQUEST,
        "createReport",
        lambda: client.create_report(params.report_type, [marketplace]),
        have_token=True,
    )
    return Submitted(
        SubmittedData(
            report_id=report.value.report_id,
            report_type=params.report_type,
            marketplace_id=marketplace,
            submitted_at=datetime.now(UTC),
        ),
        [LogLine(message=f"report {report.value.report_id} ({params.report_type}) requested")],
    )


# ------------------------------------------------------------------ orders


PublishPage = Callable[[list[OrderImported], str | None, int], Awaitable[None]]


async def import_orders(
    client: SpApiClient,
    metered: Metered,
    account: AccountRegistered,
    state: JobState,
    publish_page: PublishPage,
) -> Finished:
    """Pages of orders, each published (and the cursor checkpointed) as it arrives.

    Resumes at ``state.facts.cursor`` after a crash: a page is published before its
    cursor is, so a repeat re-publishes at most one page (orders are keyed, so harmless).
    """
    params = params_of(state, OrdersImportParams)
    cursor = state.facts.cursor
    page_no = state.facts.pages or 0
    total = state.facts.orders or 0
    if page_no and cursor is None:
        return Finished(DoneData(orders=total, pages=page_no))
    first = True
    while True:
        page = await metered.call(
            QuotaClass.ORDERS_PAGE,
            "searchOrders",
            lambda c=cursor: client.search_orders(  # type: ignore[misc]
                created_after=params.since if params.by == "created" else None,
                last_updated_after=params.since if params.by != "created" else None,
                marketplace_ids=account.marketplace_ids,
                max_results_per_page=params.page_size,
                pagination_token=c,
                included_data=SEARCH_INCLUDED_DATA,
            ),
            have_token=first,
        )
        first = False
        parsed = page_from_search(page.value)
        page_no += 1
        total += len(parsed.orders)
        records = [_imported(o, account, state) for o in parsed.orders]
        await publish_page(records, parsed.next_token, page_no)
        cursor = parsed.next_token
        if cursor is None:
            return Finished(
                DoneData(orders=total, pages=page_no),
                [LogLine(message=f"imported {total} order(s) in {page_no} page(s)")],
            )


def _imported(order: OrderRecord, account: AccountRegistered, state: JobState) -> OrderImported:
    return OrderImported(
        account_id=account.account_id,
        shop_id=state.shop_id,
        amazon_order_id=order.amazon_order_id,
        status=order.status,
        purchased_at=order.purchase_date,
        total=order.total,
        currency=order.currency,
        items=[
            OrderLine(
                order_item_id=line.order_item_id,
                sku=line.sku,
                asin=line.asin,
                quantity=line.quantity,
            )
            for line in order.items
        ],
        job_id=state.job_id,
    )
