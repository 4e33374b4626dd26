"""Records of one account, marketplace and SKU (listings, inventory rows) read from their
compacted topics into memory, and what writing a new one must also remove.

A listing is per marketplace (a SKU active on amazon.de may be in error on amazon.fr),
keyed by ``shared.topics.listing_key``. Records written before that carry no marketplace
and sit under the old ``account:sku`` key: they stand for the account's first marketplace
(its *home*) until a record of that marketplace replaces them, and the writer of that
record tombstones the old key (``replacing``) so the two never linger side by side.
Pure apart from the dicts it keeps; every reader that follows the topic uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from shared.events import AccountRegistered, Event, InventoryRow, ListingState
from shared.topics import listing_key

V = TypeVar("V")
R = TypeVar("R", ListingState, InventoryRow)

# (account id, marketplace id or None for a record of before, SKU, value)
Kept = tuple[str, str | None, str, V]


def home_of(account: AccountRegistered) -> str:
    """The marketplace a record without one belongs to: the account's first."""
    return account.marketplace_ids[0]


def record_key(record: ListingState | InventoryRow) -> str:
    return listing_key(record.account_id, record.sku, record.marketplace_id)


def replacing(record: R, current: R | None) -> list[tuple[str, R | None]]:
    """The (key, value) records that set ``record``: its own, and a tombstone for the
    record of before it replaces (a ``current`` without a marketplace), which would
    otherwise stay beside it on the compacted topic and in the API's view."""
    records: list[tuple[str, R | None]] = [(record_key(record), record)]
    if current is not None and current.marketplace_id is None and record.marketplace_id:
        records.append((record_key(current), None))
    return records


class MarketTable(Generic[V]):
    def __init__(self, keep: Callable[[str, Event], Kept[V] | None]) -> None:
        """``keep`` turns a record (key, value) into (account, marketplace, sku, value),
        or None to ignore it."""
        self._keep = keep
        self._by_market: dict[tuple[str, str | None], dict[str, V]] = {}
        self._where: dict[str, tuple[str, str | None, str]] = {}  # topic key → its place

    def on_record(self, key: str, event: Event | None) -> None:
        """Handler for a ``TopicTail``; a tombstone (None) removes the key."""
        if event is None:
            where = self._where.pop(key, None)
            if where is not None:
                self._by_market.get(where[:2], {}).pop(where[2], None)
            return
        kept = self._keep(key, event)
        if kept is not None:
            self.put(key, *kept)

    def put(
        self, key: str, account_id: str, marketplace_id: str | None, sku: str, value: V
    ) -> None:
        self._by_market.setdefault((account_id, marketplace_id), {})[sku] = value
        self._where[key] = (account_id, marketplace_id, sku)

    def drop(self, key: str) -> None:
        self.on_record(key, None)

    def get(self, account_id: str, marketplace_id: str, sku: str, home: str) -> V | None:
        found = self._by_market.get((account_id, marketplace_id), {}).get(sku)
        if found is None and marketplace_id == home:
            found = self._by_market.get((account_id, None), {}).get(sku)
        return found

    def of_market(self, account_id: str, marketplace_id: str, home: str) -> dict[str, V]:
        """The account's records on one marketplace, by SKU (a copy)."""
        rows = dict(self._by_market.get((account_id, None), {})) if marketplace_id == home else {}
        rows.update(self._by_market.get((account_id, marketplace_id), {}))
        return rows


def listings_table() -> MarketTable[ListingState]:
    def keep(key: str, event: Event) -> Kept[ListingState] | None:
        if isinstance(event, ListingState):
            return event.account_id, event.marketplace_id, event.sku, event
        return None

    return MarketTable(keep)


def inventory_table() -> MarketTable[str]:
    """SKU → the key of its row: what a newer report tombstones (the rows themselves are
    not needed)."""

    def keep(key: str, event: Event) -> Kept[str] | None:
        if isinstance(event, InventoryRow):
            return event.account_id, event.marketplace_id, event.sku, key
        return None

    return MarketTable(keep)
