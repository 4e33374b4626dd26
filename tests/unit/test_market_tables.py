"""The in-memory tables of the compacted listings and inventory topics."""

from __future__ import annotations

from decimal import Decimal

from shared.events import InventoryRow, ListingState
from shared.market_tables import inventory_table, listings_table
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

    def skus(account: str) -> dict[str, int | None]:
        return {sku: s.quantity for sku, s in table.of_market(account, "M", home="M").items()}

    assert skus("a:1") == {"X": 4, "Y": 2}
    table.on_record(listing_key("a:1", "X"), None)
    assert set(skus("a:1")) == {"Y"} and set(skus("b")) == {"X"}
    table.on_record("stray", stock_changed("X", shop_id="s"))  # ignored
    table.on_record("unknown-key", None)  # a tombstone for nothing: nothing happens
    assert skus("nobody") == {}


def test_inventory_keeps_only_skus_and_the_keys_of_their_rows() -> None:
    table = inventory_table()
    old = InventoryRow(account_id="a", shop_id="s", sku="X", report_id="R1", job_id="j")
    table.on_record(listing_key("a", "X"), old)
    fr = InventoryRow(
        account_id="a", shop_id="s", sku="Y", marketplace_id="FR", report_id="R2", job_id="j"
    )
    table.on_record(listing_key("a", "Y", "FR"), fr)
    # A row of before is the first marketplace's; each marketplace has its own rows.
    assert table.of_market("a", "DE", home="DE") == {"X": listing_key("a", "X")}
    assert table.of_market("a", "FR", home="DE") == {"Y": listing_key("a", "Y", "FR")}
    table.drop(listing_key("a", "X"))
    assert table.of_market("a", "DE", home="DE") == {}
