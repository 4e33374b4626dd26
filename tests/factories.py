"""Valid events and states for tests: defaults that say nothing, keywords for what a test
is about.

Each factory builds through the real models, so what it returns passes the same checks as
what the services write; a job's later events come from ``next_job_event`` and ``fold``,
so their ``seq`` and status follow the state machine (docs/design.md §2). Job ids are
unique per call unless given, so tests against shared topics never see each other's jobs.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from devtools.world import MARKETPLACE, Seller, ean, order_id
from shared.events import (
    AccountRegistered,
    ItemState,
    JobEvent,
    JobRequested,
    JobReserved,
    ListingState,
    StockChanged,
    next_job_event,
)
from shared.job_items import ITEM_MODEL
from shared.job_state import JobState, fold
from shared.jobs import JobStatus, JobType

SHOP = "shop1"
ACCOUNT = "acc-de"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sku(n: int) -> str:
    return f"SKU-{n:06d}"


def request_item(job_type: JobType, n: int, **over: Any) -> dict[str, Any]:
    """The n-th item of a request of this type, valid as ``shared.job_items`` reads it."""
    fields: dict[str, Any]
    if job_type is JobType.ORDERS_FULFILLMENT:
        fields = {
            "amazon_order_id": order_id(n),
            "carrier": "DHL",
            "tracking_number": f"TRACK{n:06d}",
            "shipped_at": datetime(2026, 11, 27, 10, tzinfo=UTC).isoformat(),
            "items": [{"order_item_id": f"{n:014d}", "quantity": 1}],
        }
    else:
        fields = {"sku": sku(n)}
        model_fields = ITEM_MODEL[job_type].model_fields
        if "quantity" in model_fields:
            fields["quantity"] = n
        if "price" in model_fields:
            fields |= {"price": "9.99", "currency": "EUR"}
        if job_type is JobType.SEND_PRODUCTS:
            fields["ean"] = ean(n)
    return fields | over


def request_items(job_type: JobType, items: int | Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``n`` valid items of the type, or the ones given."""
    if isinstance(items, int):
        return [request_item(job_type, n) for n in range(items)]
    return list(items)


def _key(item: dict[str, Any]) -> str:
    return str(item.get("sku") or item["amazon_order_id"])


def item_state(
    key: str = "A", quantity: int = 1, *, request: dict[str, Any] | None = None, **over: Any
) -> ItemState:
    """One item of a job; its request is an ``update_qty`` of the key unless given."""
    if request is None:
        request = {"sku": key, "quantity": quantity}
    return ItemState(key=key, request=request, **over)


Items = int | Sequence[dict[str, Any]] | Sequence[ItemState]


def item_states(job_type: JobType = JobType.UPDATE_QTY, items: Items = 1) -> list[ItemState]:
    """The items of a job as the submitter records them: ``n`` valid ones of the type, or
    these requests keyed, or these states as they are."""
    if isinstance(items, int):
        return item_states(job_type, request_items(job_type, items))
    return [i if isinstance(i, ItemState) else ItemState(key=_key(i), request=i) for i in items]


def job_requested(
    job_type: JobType = JobType.UPDATE_QTY,
    items: int | Sequence[dict[str, Any]] | None = None,
    *,
    job_id: str | None = None,
    shop_id: str = SHOP,
    account_id: str = ACCOUNT,
    **over: Any,
) -> JobRequested:
    """A request a shop sends: one valid item (or params) for its type unless given."""
    if items is None and job_type.carries_items and "params" not in over:
        items = 1
    if job_type is JobType.ORDERS_IMPORT and items is None:
        over.setdefault("params", {"since": "2026-11-01T00:00:00Z"})
    return JobRequested(
        job_id=job_id or unique(job_type.value),
        shop_id=shop_id,
        account_id=account_id,
        job_type=job_type,
        items=None if items is None else request_items(job_type, items),
        **over,
    )


def job_event(
    cls: type[JobEvent] = JobReserved,
    *,
    job_id: str | None = None,
    seq: int = 1,
    shop_id: str = SHOP,
    account_id: str = ACCOUNT,
    job_type: JobType = JobType.UPDATE_QTY,
    status: JobStatus | None = None,
    **over: Any,
) -> JobEvent:
    """One event of a job as written, with the status its class moves to (an annotation's
    defaults to reserved)."""
    return cls(
        job_id=job_id or unique("job"),
        seq=seq,
        shop_id=shop_id,
        account_id=account_id,
        job_type=job_type,
        status=status or cls.TARGET or JobStatus.RESERVED,
        **over,
    )


def reserved(
    job_id: str | None = None,
    items: Items | None = 1,
    *,
    job_type: JobType = JobType.UPDATE_QTY,
    **over: Any,
) -> JobReserved:
    """A job's first event, with ``items`` valid items of its type (None: no items)."""
    states = None if items is None else item_states(job_type, items)
    over.setdefault("items", states)
    event = job_event(JobReserved, job_id=job_id, job_type=job_type, **over)
    assert isinstance(event, JobReserved)
    return event


def job_events(first: JobEvent, *then: type[JobEvent]) -> tuple[list[JobEvent], JobState]:
    """``first`` and an event of each class after it, each from the state before it (so
    seq and status are what the owners would write), and the state they fold to."""
    events = [first]
    state = fold(None, first)
    for cls in then:
        events.append(event := next_job_event(cls, state))
        state = fold(state, event)
    return events, state


def job_state(first: JobEvent, *then: type[JobEvent]) -> JobState:
    """The state of a job after ``first`` and an event of each class."""
    return job_events(first, *then)[1]


def stock_changed(
    sku: str = "A", quantity: int = 1, *, shop_id: str = SHOP, **over: Any
) -> StockChanged:
    return StockChanged(shop_id=shop_id, sku=sku, quantity=quantity, **over)


def listing_state(
    sku: str = "A",
    *,
    account_id: str = ACCOUNT,
    shop_id: str = SHOP,
    status: str = "active",
    **over: Any,
) -> ListingState:
    """A listing as the applier last saw it; active and with nothing else known unless given."""
    if "price" in over and "currency" not in over:
        over["currency"] = "EUR"
    if isinstance(over.get("price"), str):
        over["price"] = Decimal(over["price"])
    return ListingState(account_id=account_id, shop_id=shop_id, sku=sku, status=status, **over)


def account_registered(
    account_id: str | None = None, *, shop_id: str = SHOP, **over: Any
) -> AccountRegistered:
    """A registered account whose credentials are sealed with the stack's key for it, as
    ``devtools.world.Seller`` registers one; ``account_id`` is ``acc-<name>``."""
    name = account_id.removeprefix("acc-") if account_id else unique("seller")
    seller = Seller(name, shop_id=shop_id)
    # What the credentials seal too: given here, sealed alike.
    seller.seller_id = over.pop("seller_id", seller.seller_id)
    seller.refresh_token = over.pop("refresh_token", seller.refresh_token)
    if account_id is not None and seller.account_id != account_id:
        raise ValueError(f"account ids here read acc-<name>, not {account_id!r}")
    account = seller.account()
    if not over:
        return account
    return AccountRegistered.model_validate(account.model_dump() | over)


__all__ = [
    "ACCOUNT",
    "MARKETPLACE",
    "SHOP",
    "account_registered",
    "item_state",
    "item_states",
    "job_event",
    "job_events",
    "job_requested",
    "job_state",
    "listing_state",
    "request_item",
    "request_items",
    "reserved",
    "sku",
    "stock_changed",
    "unique",
]
