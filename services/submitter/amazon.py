"""The submitter's calls to Amazon for each job type, under quota tokens.

Each function takes a job's state and returns what happened: submitted (a feed or report
id to poll), finished (orders import), or failed (with the reason and item outcomes).
Quota tokens come through :class:`Tokens`; a 429 is reported and waits for a new token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from shared.events import AccountRegistered, ItemState, LogLine, OrderImported, OrderLine
from shared.formats import fulfillment_feed, listings_feed
from shared.formats.orders_page import SEARCH_INCLUDED_DATA, OrderRecord, page_from_search
from shared.job_items import (
    ITEM_MODEL,
    FulfillmentItem,
    InventoryReportParams,
    OrdersImportParams,
    SendProductItem,
)
from shared.job_state import JobState
from shared.jobs import JobType
from shared.quotas import QuotaClass
from shared.spapi.client import SpApiClient
from shared.spapi.errors import Throttled

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_IDENTIFIERS = 20  # searchCatalogItems takes at most 20 identifiers per call


class Tokens(Protocol):
    async def take(self, quota_class: QuotaClass, request_id: str) -> None:
        """Wait for one token of the job's account in this class."""

    async def throttled(self, quota_class: QuotaClass) -> None:
        """Tell the throttle Amazon answered 429 for this class."""


@dataclass
class Submitted:
    data: dict[str, Any]
    log: list[LogLine] = field(default_factory=list)
    items: list[ItemState] = field(default_factory=list)  # items already decided (errors)


@dataclass
class Finished:
    data: dict[str, Any]
    log: list[LogLine] = field(default_factory=list)


@dataclass
class Failed:
    reason: str
    items: list[ItemState] = field(default_factory=list)


Outcome = Submitted | Finished | Failed


async def under_token(
    tokens: Tokens,
    quota_class: QuotaClass,
    request_id: str,
    call: Callable[[], Awaitable[T]],
    *,
    have_token: bool = False,
    max_throttles: int = 10,
) -> T:
    """Run one SP-API call with a token; on 429 report it and wait for a fresh token."""
    for attempt in range(max_throttles + 1):
        if not have_token or attempt > 0:
            await tokens.take(quota_class, f"{request_id}#{attempt}" if attempt else request_id)
        try:
            return await call()
        except Throttled:
            log.warning("throttled by Amazon", extra={"quota_class": quota_class.value})
            await tokens.throttled(quota_class)
    raise RuntimeError(f"{quota_class.value}: still throttled after {max_throttles} new tokens")


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def _upload(
    client: SpApiClient, tokens: Tokens, state: JobState, body: bytes, content_type: str
) -> str:
    doc = await under_token(
        tokens,
        QuotaClass.FEED_DOCUMENT,
        f"{state.job_id}:document",
        lambda: client.create_feed_document(content_type),
    )
    await client.upload_feed_document(doc.value.url, body, content_type)
    return doc.value.feed_document_id


async def submit_listings(
    client: SpApiClient,
    tokens: Tokens,
    account: AccountRegistered,
    state: JobState,
    *,
    asins: dict[str, str] | None = None,
) -> Outcome:
    model = ITEM_MODEL[state.job_type]
    items = [model.model_validate(i.request) for i in state.items.values()]
    if asins is not None:
        items = [
            i.model_copy(update={"asin": asins[i.sku]})
            for i in items
            if isinstance(i, SendProductItem) and i.sku in asins
        ]
    marketplace = state.data.get("marketplace_id") or account.marketplace_ids[0]
    docs = listings_feed.build_listings_feeds(
        account.seller_id,
        marketplace,
        state.job_type,
        items,  # type: ignore[arg-type]
    )
    if len(docs) != 1:
        return Failed(f"the job's {len(items)} items need {len(docs)} feeds; split the job")
    doc = docs[0]
    return await _send_feed(
        client,
        tokens,
        state,
        marketplace,
        listings_feed.FEED_TYPE,
        listings_feed.CONTENT_TYPE,
        doc.body,
        doc.message_skus,
        f"{doc.message_count} message(s)",
    )


async def submit_fulfillment(
    client: SpApiClient, tokens: Tokens, account: AccountRegistered, state: JobState
) -> Outcome:
    shipments = [FulfillmentItem.model_validate(i.request) for i in state.items.values()]
    doc = fulfillment_feed.build_fulfillment_feed(account.seller_id, shipments)
    marketplace = state.data.get("marketplace_id") or account.marketplace_ids[0]
    return await _send_feed(
        client,
        tokens,
        state,
        marketplace,
        fulfillment_feed.FEED_TYPE,
        fulfillment_feed.CONTENT_TYPE,
        doc.body,
        doc.message_orders,
        f"the shipment confirmation of {len(shipments)} order(s)",
    )


async def _send_feed(
    client: SpApiClient,
    tokens: Tokens,
    state: JobState,
    marketplace: str,
    feed_type: str,
    content_type: str,
    body: bytes,
    messages: dict[int, str],
    what: str,
) -> Outcome:
    """Upload a feed document and submit it with the job's feed_submit token."""
    document_id = await _upload(client, tokens, state, body, content_type)
    feed = await under_token(
        tokens,
        QuotaClass.FEED_SUBMIT,
        f"{state.job_id}:submit",
        lambda: client.create_feed(feed_type, [marketplace], document_id),
        have_token=True,
    )
    return Submitted(
        {
            "feed_id": feed.value.feed_id,
            "feed_type": feed_type,
            "marketplace_id": marketplace,
            "input_document_id": document_id,
            "messages": {str(k): v for k, v in messages.items()},
            "submitted_at": _now(),
        },
        [LogLine(message=f"feed {feed.value.feed_id} submitted with {what}")],
    )


async def request_report(
    client: SpApiClient, tokens: Tokens, account: AccountRegistered, state: JobState
) -> Outcome:
    params = InventoryReportParams.model_validate(state.data.get("params") or {})
    marketplace = state.data.get("marketplace_id") or account.marketplace_ids[0]
    report = await under_token(
        tokens,
        QuotaClass.REPORT_REQUEST,
        f"{state.job_id}:submit",
        lambda: client.create_report(params.report_type, [marketplace]),
        have_token=True,
    )
    return Submitted(
        {
            "report_id": report.value.report_id,
            "report_type": params.report_type,
            "marketplace_id": marketplace,
            "submitted_at": _now(),
        },
        [LogLine(message=f"report {report.value.report_id} ({params.report_type}) requested")],
    )


async def lookup_asins(
    client: SpApiClient, tokens: Tokens, account: AccountRegistered, state: JobState
) -> tuple[dict[str, str], list[ItemState]]:
    """ASINs of send_products items (given, or found by EAN/UPC); the unmatched in error."""
    items = [SendProductItem.model_validate(i.request) for i in state.items.values()]
    asins = {i.sku: i.asin for i in items if i.asin}
    marketplace = state.data.get("marketplace_id") or account.marketplace_ids[0]
    errors: list[ItemState] = []
    for kind in ("EAN", "UPC"):
        wanted = {
            (i.ean if kind == "EAN" else i.upc): i
            for i in items
            if i.sku not in asins and (i.ean if kind == "EAN" else i.upc)
        }
        codes = list(wanted)
        for start in range(0, len(codes), MAX_IDENTIFIERS):
            batch = codes[start : start + MAX_IDENTIFIERS]
            found = await under_token(
                tokens,
                QuotaClass.ASIN_LOOKUP,
                f"{state.job_id}:asin:{kind}:{start}",
                lambda b=batch, k=kind: client.search_catalog_items(b, k, marketplace),  # type: ignore[misc]
            )
            for item in found.value.items:
                for by_market in item.identifiers or []:
                    for ident in by_market.identifiers:
                        match = wanted.get(ident.identifier)
                        if match is not None and match.sku not in asins:
                            asins[match.sku] = item.asin
    for i in items:
        if i.sku not in asins:
            code = f"EAN {i.ean}" if i.ean else f"UPC {i.upc}"
            errors.append(
                state.items[i.sku].model_copy(
                    update={
                        "status": "error",
                        "messages": [f"no Amazon item found for {code} in {marketplace}"],
                    }
                )
            )
    return asins, errors


async def import_orders(
    client: SpApiClient,
    tokens: Tokens,
    account: AccountRegistered,
    state: JobState,
    publish_page: Callable[[list[OrderImported], str | None, int], Awaitable[None]],
) -> Outcome:
    """Pages of orders, each published (and the cursor checkpointed) as it arrives.

    Resumes at ``state.data["cursor"]`` after a crash: a page is published before its
    cursor is, so a repeat re-publishes at most one page (orders are keyed, so harmless).
    """
    params = OrdersImportParams.model_validate(state.data.get("params") or {})
    cursor: str | None = state.data.get("cursor")
    page_no = int(state.data.get("pages", 0))
    total = int(state.data.get("orders", 0))
    if page_no and cursor is None:
        return Finished({"orders": total, "pages": page_no})
    first = True
    while True:
        page = await under_token(
            tokens,
            QuotaClass.ORDERS_PAGE,
            f"{state.job_id}:page:{page_no}" if page_no else f"{state.job_id}:submit",
            lambda c=cursor: client.search_orders(  # type: ignore[misc]
                created_after=params.since,
                marketplace_ids=account.marketplace_ids,
                max_results_per_page=params.page_size,
                pagination_token=c,
                included_data=SEARCH_INCLUDED_DATA,
            ),
            have_token=first and page_no == 0,
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
                {"orders": total, "pages": page_no},
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


async def submit(
    client: SpApiClient,
    tokens: Tokens,
    account: AccountRegistered,
    state: JobState,
    publish_page: Callable[[list[OrderImported], str | None, int], Awaitable[None]],
) -> Outcome:
    """The job type's work at Amazon, from its granted token to a result to poll for."""
    match state.job_type:
        case JobType.SEND_PRODUCTS:
            asins, errors = await lookup_asins(client, tokens, account, state)
            if not asins:
                return Failed("no item of the job could be matched to an Amazon item", errors)
            outcome = await submit_listings(client, tokens, account, state, asins=asins)
            if isinstance(outcome, Submitted):
                outcome.data["asins"] = asins  # the applier lists each SKU on its ASIN
                outcome.items = errors
                if errors:
                    outcome.log.append(
                        LogLine(
                            level="warning", message=f"{len(errors)} item(s) not found at Amazon"
                        )
                    )
            return outcome
        case JobType.ORDERS_FULFILLMENT:
            return await submit_fulfillment(client, tokens, account, state)
        case JobType.INVENTORY_REPORT:
            return await request_report(client, tokens, account, state)
        case JobType.ORDERS_IMPORT:
            return await import_orders(client, tokens, account, state, publish_page)
        case _:
            return await submit_listings(client, tokens, account, state)
