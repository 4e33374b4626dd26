"""The sync state of every listing on every marketplace, from the compacted
``amazon.listings`` topic (shared/market_tables.py)."""

from __future__ import annotations

from shared.events import AccountRegistered, Event, ListingState
from shared.listing_issues import kept
from shared.market_tables import home_of, listings_table, record_key

# Listings whose catalog changes are sent to Amazon; stopped and removed ones are not.
SYNCED = frozenset({"pending", "active", "error"})


class ListingStates:
    def __init__(self) -> None:
        self.table = listings_table()

    def on_record(self, key: str, event: Event | None) -> None:
        self.table.on_record(key, event)

    def get(self, account: AccountRegistered, marketplace_id: str, sku: str) -> ListingState | None:
        return self.table.get(account.account_id, marketplace_id, sku, home_of(account))

    def is_synced(self, account: AccountRegistered, marketplace_id: str, sku: str) -> bool:
        listing = self.get(account, marketplace_id, sku)
        return listing is not None and listing.status in SYNCED

    def with_issues_kept(self, account: AccountRegistered, listing: ListingState) -> ListingState:
        """``listing`` (a state put back, not a result) with the issues its current state
        carries (shared/listing_issues.py)."""
        if listing.marketplace_id is None:
            return listing
        current = self.get(account, listing.marketplace_id, listing.sku)
        return listing.model_copy(update=kept(current)) if current is not None else listing

    def remember(self, key: str, listing: ListingState | None) -> None:
        """Apply our own write at once, before it comes back through the topic."""
        self.table.on_record(key, listing)

    def remember_listing(self, listing: ListingState) -> None:
        self.remember(record_key(listing), listing)
