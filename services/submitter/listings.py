"""The sync state of every listing, from the compacted ``amazon.listings`` topic."""

from __future__ import annotations

from shared.events import Event, ListingState

# Listings whose catalog changes are sent to Amazon; stopped and removed ones are not.
SYNCED = frozenset({"pending", "active", "error"})


class ListingStates:
    def __init__(self) -> None:
        self.listings: dict[tuple[str, str], ListingState] = {}

    def on_record(self, key: str, event: Event | None) -> None:
        account_id, _, sku = key.partition(":")
        if event is None:
            self.listings.pop((account_id, sku), None)
        elif isinstance(event, ListingState):
            self.listings[(event.account_id, event.sku)] = event

    def get(self, account_id: str, sku: str) -> ListingState | None:
        return self.listings.get((account_id, sku))

    def is_synced(self, account_id: str, sku: str) -> bool:
        listing = self.listings.get((account_id, sku))
        return listing is not None and listing.status in SYNCED

    def remember(self, listing: ListingState) -> None:
        """Apply our own write at once, before it comes back through the topic."""
        self.listings[(listing.account_id, listing.sku)] = listing
