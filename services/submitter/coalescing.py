"""Catalog changes folded into automatic jobs (docs/design.md §4, "coalesced").

Automatic jobs are per (shop, account, marketplace, kind): a JSON_LISTINGS_FEED is for one
marketplace, and a stock or price change goes to every marketplace where the SKU's listing
is synced. While an automatic job of a kind is still ``reserved`` for a shop's account and
marketplace, new changes go into it and the newest value per key wins, so one feed
carries as many items as possible.
Urgent changes (stock to 0, services/submitter/routing.py) gather in an automatic job of
their own, so they never wait in the large job that waits for a scarce feed token; an
urgent change also replaces its SKU's older value in that large job, which would
otherwise send the older quantity again after it. Pure: the caller gives the open jobs
and which listings are synced.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from services.submitter.routing import is_urgent
from shared.events import (
    AccountRegistered,
    Event,
    ItemState,
    JobReserved,
    LogLine,
    OrderShipped,
    PriceChanged,
    StockChanged,
)
from shared.job_data import ReservedData
from shared.job_state import JobState
from shared.jobs import JobStatus, JobType

AutoKey = tuple[str, str, str, JobType, bool]  # shop, account, marketplace, job type, urgent


@dataclass(frozen=True)
class Change:
    key: AutoKey
    item_key: str
    request: dict[str, Any]


class NotSynced(ValueError):
    """A change that cannot go anywhere: the reason is for the dead letter."""


def changes_for(
    event: Event,
    accounts_of_shop: Callable[[str], list[AccountRegistered]],
    is_synced: Callable[[AccountRegistered, str, str], bool],
) -> list[Change]:
    """The job items one catalog event asks for, one per account and marketplace where
    the SKU's listing is synced (``is_synced(account, marketplace, sku)``); empty when
    nothing of it is."""
    if isinstance(event, StockChanged | PriceChanged):
        request: dict[str, Any]
        if isinstance(event, StockChanged):
            job_type = JobType.UPDATE_QTY
            request = {"sku": event.sku, "quantity": event.quantity}
        else:
            job_type = JobType.UPDATE_PRICE
            request = {"sku": event.sku, "price": str(event.price), "currency": event.currency}
        urgent = is_urgent(job_type, request)
        return [
            Change((event.shop_id, a.account_id, m, job_type, urgent), event.sku, request)
            for a in accounts_of_shop(event.shop_id)
            for m in a.marketplace_ids
            if is_synced(a, m, event.sku)
        ]
    if isinstance(event, OrderShipped):
        owners = {a.account_id: a for a in accounts_of_shop(event.shop_id)}
        if event.account_id not in owners:
            raise NotSynced(
                f"order {event.amazon_order_id}: account {event.account_id!r} is not an "
                f"account of shop {event.shop_id!r}"
            )
        request = event.model_dump(
            mode="json",
            include={"amazon_order_id", "carrier", "tracking_number", "shipped_at", "items"},
        )
        # Amazon finds an order by its id whatever the feed's marketplace: the first.
        home = owners[event.account_id].marketplace_ids[0]
        return [
            Change(
                (event.shop_id, event.account_id, home, JobType.ORDERS_FULFILLMENT, False),
                event.amazon_order_id,
                request,
            )
        ]
    raise NotSynced(f"{event.event_type} is not a catalog change")


def merge(changes: Iterable[Change]) -> dict[AutoKey, dict[str, dict[str, Any]]]:
    """Group by automatic job; the newest value per item wins, and it alone decides
    whether the item is urgent (a stock of 0 then 5 is 5, in the ordinary job)."""
    newest: dict[tuple[str, str, str, JobType, str], Change] = {}
    for change in changes:
        shop_id, account_id, marketplace_id, job_type, _ = change.key
        where = (shop_id, account_id, marketplace_id, job_type, change.item_key)
        newest.pop(where, None)  # re-inserted: the later change keeps the later place
        newest[where] = change
    merged: dict[AutoKey, dict[str, dict[str, Any]]] = {}
    for change in newest.values():
        merged.setdefault(change.key, {})[change.item_key] = change.request
    return merged


def open_auto_jobs(states: Iterable[JobState]) -> dict[AutoKey, JobState]:
    """The automatic jobs still taking changes (reserved), by shop, account, marketplace,
    kind and urgency (every automatic job names its marketplace)."""
    return {
        (s.shop_id, s.account_id, s.facts.marketplace_id or "", s.job_type, bool(s.facts.urgent)): s
        for s in states
        if s.status is JobStatus.RESERVED and s.facts.automatic
    }


@dataclass
class Plan:
    add: list[tuple[JobState, list[ItemState]]] = field(default_factory=list)
    open: list[JobReserved] = field(default_factory=list)


def plan(
    merged: dict[AutoKey, dict[str, dict[str, Any]]],
    open_jobs: dict[AutoKey, JobState],
    new_job_id: Callable[[AutoKey], str],
    max_items: int,
) -> Plan:
    """Where each change goes: into an open job while it has room, else a new job."""
    result = Plan()
    for key, requests in merged.items():
        items = [ItemState(key=k, request=r) for k, r in requests.items()]
        shop_id, account_id, marketplace_id, job_type, urgent = key
        ordinary = (
            open_jobs.get((shop_id, account_id, marketplace_id, job_type, False))
            if urgent
            else None
        )
        if ordinary is not None:
            # The ordinary job would send its older value after the urgent one.
            superseded = [i for i in items if i.key in ordinary.items]
            if superseded:
                result.add.append((ordinary, superseded))
        current = open_jobs.get(key)
        if current is not None:
            room = [i for i in items if i.key in current.items]  # updates take no room
            fresh = [i for i in items if i.key not in current.items]
            take = max(0, max_items - len(current.items))
            room += fresh[:take]
            items = fresh[take:]
            if room:
                result.add.append((current, room))
        while items:
            chunk, items = items[:max_items], items[max_items:]
            result.open.append(
                JobReserved(
                    job_id=new_job_id(key),
                    seq=1,
                    shop_id=shop_id,
                    account_id=account_id,
                    job_type=job_type,
                    status=JobStatus.RESERVED,
                    data=ReservedData(
                        automatic=True,
                        listings_marked=False,
                        marketplace_id=marketplace_id,
                        **({"urgent": True} if urgent else {}),
                    ),
                    items=chunk,
                    log=[
                        LogLine(
                            message=f"automatic job opened with {len(chunk)} "
                            f"{'urgent ' if urgent else ''}change(s); "
                            "more changes join it until its quota token comes"
                        )
                    ],
                )
            )
    return result
