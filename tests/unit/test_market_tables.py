"""The in-memory tables of the compacted listings and inventory topics."""

from __future__ import annotations

from decimal import Decimal

from services.applier.tables import inventory_table, listings_table
from shared.events import InventoryRow, ListingState
from shared.topics import listing_key
from tests.factories import listing_state, stock_changed


def _listing(account: str, sku: str, quantity: int) -> ListingState:
    return listing_state(
        sku, account_id=account, shop_id="s", quantity=quantity, price=Decimal("1"), currency=None
    )


def test_listings_by_account_latest_wins_and_tombstones_remove() -> None:
    table = listings_table()
    # An account id with a colon: keys are not split, tombstones still find their row.
    for account, sku, quantity in (
        ("a:1", "X", 1),
        ("a:1", "Y", 2),
        ("b", "X", 3),
        ("a:1", "X", 4),
    ):
        table.on_record(listing_key(account, sku), _listing(account, sku, quantity))
    assert {sku: s.quantity for sku, s in table.of_account("a:1").items()} == {"X": 4, "Y": 2}
    table.on_record(listing_key("a:1", "X"), None)
    assert set(table.of_account("a:1")) == {"Y"} and set(table.of_account("b")) == {"X"}
    table.on_record("stray", stock_changed("X", shop_id="s"))  # ignored
    table.on_record("unknown-key", None)  # a tombstone for nothing: nothing happens
    assert table.of_account("nobody") == {}


def test_inventory_keeps_only_skus_and_report_ids() -> None:
    table = inventory_table()
    row = InventoryRow(account_id="a", shop_id="s", sku="X", report_id="R1", job_id="j")
    table.on_record(listing_key("a", "X"), row)
    table.put(listing_key("a", "Y"), "a", "Y", "R2")  # the applier's own write
    assert dict(table.of_account("a")) == {"X": "R1", "Y": "R2"}
    table.drop(listing_key("a", "X"))
    assert dict(table.of_account("a")) == {"Y": "R2"}
