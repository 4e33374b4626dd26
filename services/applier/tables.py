"""The compacted ``account_id:sku`` topics the applier reads back, in memory by account.

``amazon.listings`` gives each listing's current state (what a job did not change stays
as it is); ``amazon.inventory`` gives the SKUs of each account's latest inventory report
(what the next report no longer lists is removed). Every instance follows both topics in
full with a ``TopicTail``, and records its own writes at once (``put`` / ``drop``), before
they come back through the topic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from shared.events import Event, InventoryRow, ListingState

V = TypeVar("V")


class AccountTable(Generic[V]):
    def __init__(self, keep: Callable[[Event], tuple[str, str, V] | None]) -> None:
        """``keep`` turns a record into (account_id, sku, value), or None to ignore it."""
        self._keep = keep
        self._by_account: defaultdict[str, dict[str, V]] = defaultdict(dict)
        self._where: dict[str, tuple[str, str]] = {}  # topic key → (account, sku)

    def on_record(self, key: str, event: Event | None) -> None:
        """Handler for a ``TopicTail``; a tombstone (None) removes the key."""
        if event is None:
            where = self._where.pop(key, None)
            if where is not None:
                self._by_account[where[0]].pop(where[1], None)
            return
        kept = self._keep(event)
        if kept is not None:
            account_id, sku, value = kept
            self.put(key, account_id, sku, value)

    def put(self, key: str, account_id: str, sku: str, value: V) -> None:
        self._by_account[account_id][sku] = value
        self._where[key] = (account_id, sku)

    def drop(self, key: str) -> None:
        self.on_record(key, None)

    def of_account(self, account_id: str) -> Mapping[str, V]:
        return self._by_account.get(account_id, {})


def listings_table() -> AccountTable[ListingState]:
    def keep(event: Event) -> tuple[str, str, ListingState] | None:
        if isinstance(event, ListingState):
            return event.account_id, event.sku, event
        return None

    return AccountTable(keep)


def inventory_table() -> AccountTable[str]:
    """SKU → the report id of its row (the rows themselves are not needed here)."""

    def keep(event: Event) -> tuple[str, str, str] | None:
        if isinstance(event, InventoryRow):
            return event.account_id, event.sku, event.report_id
        return None

    return AccountTable(keep)
