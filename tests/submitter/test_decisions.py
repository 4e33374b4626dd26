"""The submitter's pure decisions: intake, cancel, coalescing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.submitter.cancel import Canceled, NotFound, Rejected, decide_cancel
from services.submitter.coalescing import (
    NotSynced,
    changes_for,
    merge,
    open_auto_jobs,
    plan,
)
from services.submitter.intake import Intake, ListingOf, accept
from shared.events import (
    CancelRequested,
    JobFailed,
    JobProcessing,
    JobRequested,
    ListingState,
    OrderShipped,
    PriceChanged,
    ShippedItem,
    next_job_event,
)
from shared.job_state import JobState, fold
from shared.jobs import JobStatus, JobType
from tests.factories import account_registered, job_requested, listing_state, stock_changed

ACCOUNT = account_registered("acc-de", shop_id="shop1", name="DE")
M = ACCOUNT.marketplace_ids[0]
BEFORE = listing_state("A", asin="B000000001", quantity=3, price=Decimal("9.99"))


def _listings(by_sku: dict[str, ListingState]) -> ListingOf:
    return lambda marketplace, sku: by_sku.get(sku)


def _request(**over: Any) -> JobRequested:
    items = over.pop("items", [{"sku": "A", "quantity": 7}, {"sku": "NEW", "quantity": 1}])
    return job_requested(JobType.UPDATE_QTY, items, job_id="j1", **over)


def _created() -> JobState:
    result = accept(_request(), ACCOUNT, _listings({"A": BEFORE}))
    assert isinstance(result, Intake)
    state = None
    for event in result.events:
        state = fold(state, event)
    assert state is not None
    return state


def test_accept_reserves_creates_and_marks_listings_pending() -> None:
    result = accept(_request(), ACCOUNT, _listings({"A": BEFORE}))
    assert isinstance(result, Intake)
    reserved, created = result.events
    assert (reserved.seq, reserved.status, created.seq, created.status) == (
        1,
        JobStatus.RESERVED,
        2,
        JobStatus.CREATED,
    )
    assert [i.key for i in reserved.items or []] == ["A", "NEW"]
    assert (reserved.items or [])[0].before == {
        "asin": "B000000001",
        "status": "active",
        "quantity": 3,
        "price": "9.99",
        "currency": "EUR",
        "last_job_id": None,
        "issues": [],
        "as_of": None,
    }
    assert [
        (listing.sku, listing.status, listing.quantity, listing.asin) for listing in result.listings
    ] == [("A", "pending", 7, "B000000001"), ("NEW", "pending", 1, None)]


def test_bad_requests_become_failed_jobs_with_the_reason() -> None:
    cases = [
        (_request(items=[{"sku": "A", "quantity": -2}]), "items.0.quantity"),
        (_request(account_id="acc-xx"), "account 'acc-xx' is not registered"),
        (_request(shop_id="shop2"), "does not belong to shop 'shop2'"),
    ]
    for request, reason in cases:
        failed = accept(request, ACCOUNT if request.account_id == "acc-de" else None, _listings({}))
        assert isinstance(failed, JobFailed)
        assert failed.status is JobStatus.ERROR and failed.seq == 1
        assert reason in failed.log[0].message


def test_cancel_in_created_restores_listings_and_cancels_items() -> None:
    decision = decide_cancel(_created(), CancelRequested(job_id="j1", shop_id="shop1"))
    assert isinstance(decision, Canceled)
    assert decision.event.seq == 3 and decision.event.status is JobStatus.CANCELED
    assert {i.status for i in decision.event.items or []} == {"canceled"}
    assert [(r.sku, r.status, r.quantity) for r in decision.restore] == [("A", "active", 3)]
    assert decision.tombstones == ["NEW"]  # it had no listing before the job


def test_cancel_after_processing_is_rejected_and_other_shops_learn_nothing() -> None:
    state = _created()
    processing = fold(state, next_job_event(JobProcessing, state))
    rejected = decide_cancel(processing, CancelRequested(job_id="j1", shop_id="shop1"))
    assert isinstance(rejected, Rejected)
    assert rejected.event.seq == processing.seq  # an annotation keeps the seq
    assert "can no longer be canceled" in rejected.event.log[0].message
    foreign = decide_cancel(state, CancelRequested(job_id="j1", shop_id="shop2"))
    assert isinstance(foreign, NotFound) and "does not own it" in foreign.reason
    assert isinstance(decide_cancel(None, CancelRequested(job_id="x", shop_id="s")), NotFound)


def test_coalescing_newest_wins_and_only_synced_listings() -> None:
    synced = {("acc-de", "A"), ("acc-de", "B")}
    events = [
        stock_changed("A", 5),
        stock_changed("B", 1),
        stock_changed("A", 4),
        stock_changed("STOPPED", 9),
        PriceChanged(shop_id="shop1", sku="A", price=Decimal("10.50"), currency="EUR"),
    ]
    changes = [
        c
        for e in events
        for c in changes_for(
            e,
            lambda shop: [ACCOUNT] if shop == "shop1" else [],
            lambda a, m, s: (a.account_id, s) in synced,
        )
    ]
    merged = merge(changes)
    qty = merged[("shop1", "acc-de", M, JobType.UPDATE_QTY, False)]
    assert qty == {"A": {"sku": "A", "quantity": 4}, "B": {"sku": "B", "quantity": 1}}
    assert merged[("shop1", "acc-de", M, JobType.UPDATE_PRICE, False)] == {
        "A": {"sku": "A", "price": "10.50", "currency": "EUR"}
    }

    ids = iter(["auto-1", "auto-2", "auto-3"])
    first = plan(merged, {}, lambda key: next(ids), max_items=1)
    # max_items=1: the two quantity changes need two jobs, the price change one.
    assert sorted(len(j.items or []) for j in first.open) == [1, 1, 1]
    state = fold(None, first.open[0])
    opened = open_auto_jobs([state])
    key = (state.shop_id, state.account_id, M, state.job_type, False)
    assert list(opened) == [key]
    again = plan(
        {key: {next(iter(state.items)): {"sku": "A", "quantity": 2}}},
        opened,
        lambda k: "n",
        1,
    )
    assert again.open == [] and len(again.add) == 1  # an update takes no room


def test_an_order_of_another_shops_account_is_refused() -> None:
    shipped = OrderShipped(
        shop_id="shop2",
        account_id="acc-de",
        amazon_order_id="028-1234567-1234567",
        carrier="DHL",
        tracking_number="1",
        shipped_at=datetime(2026, 11, 27, 10, tzinfo=UTC),
        items=[ShippedItem(order_item_id="1", quantity=1)],
    )
    try:
        changes_for(shipped, lambda shop: [], lambda a, m, s: True)
    except NotSynced as exc:
        assert "is not an account of shop 'shop2'" in str(exc)
    else:
        raise AssertionError("an order of another shop's account was accepted")
