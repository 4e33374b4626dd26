"""Every marketplace of an account: the pure decisions (intake's split, coalescing per
marketplace, listings per marketplace with the records of before)."""

from __future__ import annotations

from decimal import Decimal

from services.submitter.coalescing import changes_for, merge, open_auto_jobs, plan
from services.submitter.intake import Intake, accept
from shared.events import JobFailed, JobReserved, ListingState, PriceChanged
from shared.job_state import fold
from shared.jobs import JobType
from shared.kafka.partitions import partition_for
from shared.market_tables import listings_table, record_key, replacing
from shared.topics import JOB_EVENTS, listing_key
from tests.factories import account_registered, job_requested, listing_state, stock_changed

DE, FR, IT = "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4"
EU = account_registered("acc-eu", shop_id="shop1", marketplace_ids=[DE, FR, IT])


def _listing(sku: str, marketplace: str | None, status: str = "active") -> ListingState:
    return listing_state(
        sku, account_id="acc-eu", shop_id="shop1", marketplace_id=marketplace, status=status
    )


def test_a_request_without_a_marketplace_is_one_job_per_marketplace_of_the_account() -> None:
    before = {(FR, "A"): _listing("A", FR, "error")}
    request = job_requested(
        JobType.UPDATE_QTY,
        [{"sku": "A", "quantity": 3}],
        job_id="j-1",
        account_id="acc-eu",
        shop_id="shop1",
    )
    intake = accept(request, EU, lambda m, s: before.get((m, s)), partitions=12)
    assert isinstance(intake, Intake)
    de_id, fr_id, it_id = intake.job_ids
    assert de_id == "j-1"  # what the caller was told keeps its meaning
    assert fr_id.startswith(f"j-1@{FR}-") and it_id.startswith(f"j-1@{IT}-")
    # On the request's partition: the instance that owns it owns its jobs.
    assert {partition_for(j, JOB_EVENTS.partitions) for j in intake.job_ids} == {
        partition_for("j-1", JOB_EVENTS.partitions)
    }
    reserved = [e for e in intake.events if isinstance(e, JobReserved)]
    assert [(e.job_id, e.data.marketplace_id) for e in reserved] == [
        (de_id, DE),
        (fr_id, FR),
        (it_id, IT),
    ]
    assert all(fr_id in e.log[-1].message for e in reserved)  # each names its siblings
    # Each job marks its own marketplace's listing, and remembers that one's state.
    assert [(li.marketplace_id, li.last_job_id) for li in intake.listings] == [
        (DE, de_id),
        (FR, fr_id),
        (IT, it_id),
    ]
    fr_item = reserved[1].items[0] if reserved[1].items else None
    assert fr_item is not None and fr_item.before is not None
    assert fr_item.before["status"] == "error"
    assert reserved[0].items and reserved[0].items[0].before is None


def test_a_named_marketplace_is_one_job_and_one_the_account_lacks_is_refused() -> None:
    one = job_requested(
        JobType.UPDATE_PRICE,
        [{"sku": "A", "price": "9.90", "currency": "EUR"}],
        account_id="acc-eu",
        shop_id="shop1",
        marketplace_id=FR,
    )
    intake = accept(one, EU, lambda m, s: None, partitions=12)
    assert isinstance(intake, Intake) and intake.job_ids == [one.job_id]
    assert getattr(intake.events[0].data, "marketplace_id", None) == FR
    spain = one.model_copy(update={"marketplace_id": "A1RKKUPIHCS9HS"})
    refused = accept(spain, EU, lambda m, s: None, partitions=12)
    assert isinstance(refused, JobFailed)
    assert "'A1RKKUPIHCS9HS' is not a marketplace of account 'acc-eu'" in refused.log[0].message


def test_orders_jobs_are_for_the_account_and_long_ids_cannot_be_split() -> None:
    orders = job_requested(JobType.ORDERS_IMPORT, None, account_id="acc-eu", shop_id="shop1")
    intake = accept(orders, EU, lambda m, s: None, partitions=12)
    assert isinstance(intake, Intake) and intake.job_ids == [orders.job_id]
    report = job_requested(
        JobType.INVENTORY_REPORT, None, account_id="acc-eu", shop_id="shop1", job_id="r" * 120
    )
    refused = accept(report, EU, lambda m, s: None, partitions=12)
    assert isinstance(refused, JobFailed) and "name a marketplace" in refused.log[0].message
    named = report.model_copy(update={"marketplace_id": IT})
    assert isinstance(accept(named, EU, lambda m, s: None, partitions=12), Intake)


def test_a_catalog_change_goes_to_each_marketplace_where_the_listing_is_synced() -> None:
    synced = {(DE, "A"), (IT, "A"), (FR, "B")}
    events = [
        stock_changed("A", 4, shop_id="shop1"),
        stock_changed("B", 0, shop_id="shop1"),
        PriceChanged(shop_id="shop1", sku="A", price=Decimal("10.50"), currency="EUR"),
    ]
    changes = [
        c
        for e in events
        for c in changes_for(e, lambda shop: [EU], lambda a, m, s: (m, s) in synced)
    ]
    merged = merge(changes)
    assert set(merged) == {
        ("shop1", "acc-eu", DE, JobType.UPDATE_QTY, False),
        ("shop1", "acc-eu", IT, JobType.UPDATE_QTY, False),
        ("shop1", "acc-eu", FR, JobType.UPDATE_QTY, True),  # stock to 0: urgent, on .fr only
        ("shop1", "acc-eu", DE, JobType.UPDATE_PRICE, False),
        ("shop1", "acc-eu", IT, JobType.UPDATE_PRICE, False),
    }
    ids = iter(f"auto-{n}" for n in range(10))
    opened = plan(merged, {}, lambda key: next(ids), 25_000).open
    assert sorted((j.data.marketplace_id, j.job_type.value) for j in opened) == sorted(
        [
            (DE, "update_qty"),
            (IT, "update_qty"),
            (FR, "update_qty"),
            (DE, "update_price"),
            (IT, "update_price"),
        ]
    )
    # A later change on .de joins the open .de job, never the .it one.
    open_jobs = open_auto_jobs(fold(None, j) for j in opened)
    later = merge(
        changes_for(stock_changed("A", 2, shop_id="shop1"), lambda s: [EU], lambda a, m, s: m == DE)
    )
    result = plan(later, open_jobs, lambda key: "unused", 25_000)
    assert result.open == []
    [(joined, items)] = result.add
    assert joined.facts.marketplace_id == DE and [i.request["quantity"] for i in items] == [2]


def test_listings_per_marketplace_read_records_of_before_as_the_first_marketplace() -> None:
    table = listings_table()
    old = _listing("A", None)  # written before listings had a marketplace
    table.on_record(listing_key("acc-eu", "A"), old)
    assert table.get("acc-eu", DE, "A", home=DE) == old
    assert table.get("acc-eu", FR, "A", home=DE) is None  # not synced on .fr
    fr = _listing("A", FR, "error")
    table.on_record(record_key(fr), fr)
    assert table.get("acc-eu", FR, "A", home=DE) == fr
    assert table.of_market("acc-eu", DE, home=DE) == {"A": old}
    # Setting .de's state replaces the old record: its key is tombstoned beside it.
    de = _listing("A", DE, "pending")
    records = replacing(de, table.get("acc-eu", DE, "A", home=DE))
    assert records == [(listing_key("acc-eu", "A", DE), de), (listing_key("acc-eu", "A"), None)]
    for key, value in records:
        table.on_record(key, value)
    assert table.of_market("acc-eu", DE, home=DE) == {"A": de}
    assert replacing(de, de) == [(record_key(de), de)]  # nothing of before to remove
    assert listing_key("acc-eu", "A", DE) != listing_key("acc-eu", f"{DE}:A")  # never meet
