"""The urgent path's pure decisions: which jobs go by patchListingsItem, the urgent
automatic job, and what an answer makes of an item and its listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.submitter import patching
from services.submitter.coalescing import changes_for, merge, open_auto_jobs, plan
from services.submitter.intake import Intake, accept
from services.submitter.routing import (
    URGENT_PRIORITY,
    Route,
    first_class,
    is_urgent,
    priority_of,
    route,
)
from services.submitter.settings import SubmitterSettings
from shared.events import Event, ItemState, JobEvent, JobLogged, next_job_event
from shared.job_state import JobState, fold
from shared.jobs import JobType
from shared.quotas import DEFAULT_QUOTAS, QuotaClass
from shared.spapi.models.listings import ListingsItemSubmissionResponse
from tests.factories import account_registered, job_requested, listing_state, stock_changed

ACCOUNT = account_registered("acc-rt", shop_id="shop1")
MAX = SubmitterSettings.model_fields["patch_max_items"].default


def items(*requests: dict[str, Any]) -> list[ItemState]:
    return [ItemState(key=str(r.get("sku")), request=r) for r in requests]


def zeros(n: int) -> list[ItemState]:
    return items(*({"sku": f"S{i}", "quantity": 0} for i in range(n)))


def test_the_default_is_one_burst_of_patch_calls() -> None:
    assert MAX == DEFAULT_QUOTAS[QuotaClass.LISTING_PATCH].burst == 5


@pytest.mark.parametrize(
    ("job_type", "request_", "urgent"),
    [
        (JobType.UPDATE_QTY, {"sku": "A", "quantity": 0}, True),
        (JobType.UPDATE_QTY, {"sku": "A", "quantity": 1}, False),
        (JobType.UPDATE_QTY, {"sku": "A", "quantity": False}, False),
        (JobType.STOP_PRODUCTS, {"sku": "A"}, True),
        (JobType.UPDATE_QTY_PRICE, {"sku": "A", "quantity": 0, "price": "1"}, False),
        (JobType.STOP_REMOVE_PRODUCTS, {"sku": "A"}, False),  # a removal goes by feed
    ],
)
def test_what_is_urgent(job_type: JobType, request_: dict[str, Any], urgent: bool) -> None:
    assert is_urgent(job_type, request_) is urgent


def test_small_all_urgent_jobs_go_by_patch_and_the_rest_by_feed() -> None:
    assert route(JobType.UPDATE_QTY, zeros(1), MAX) is Route.PATCH
    assert route(JobType.UPDATE_QTY, zeros(MAX), MAX) is Route.PATCH
    assert route(JobType.UPDATE_QTY, zeros(MAX + 1), MAX) is Route.FEED  # too many
    mixed = zeros(2) + items({"sku": "B", "quantity": 3})
    assert route(JobType.UPDATE_QTY, mixed, MAX) is Route.FEED  # one not urgent
    assert route(JobType.STOP_PRODUCTS, items({"sku": "A"}), MAX) is Route.PATCH
    assert route(JobType.UPDATE_QTY, zeros(1), 0) is Route.FEED  # 0 turns the path off
    assert route(JobType.UPDATE_QTY, [], MAX) is Route.FEED
    assert first_class(JobType.UPDATE_QTY, zeros(1), MAX) is QuotaClass.LISTING_PATCH
    assert first_class(JobType.UPDATE_QTY, mixed, MAX) is QuotaClass.FEED_SUBMIT
    assert first_class(JobType.ORDERS_IMPORT, [], MAX) is QuotaClass.ORDERS_PAGE


def test_an_explicit_urgent_job_says_it_waits_for_a_listing_patch_token() -> None:
    request = job_requested(JobType.STOP_PRODUCTS, [{"sku": "A"}], account_id="acc-rt")
    intake = accept(request, ACCOUNT, lambda m, s: None, MAX)
    assert isinstance(intake, Intake)
    assert intake.events[1].log[0].message == "queued for a listing_patch quota token"
    by_feed = accept(request, ACCOUNT, lambda m, s: None, 0)
    assert isinstance(by_feed, Intake)
    assert by_feed.events[1].log[0].message == "queued for a feed_submit quota token"


def _folded(events: list[Event]) -> JobState:
    state = None
    for event in events:
        assert isinstance(event, JobEvent)
        state = fold(state, event)
    assert state is not None
    return state


def _plan(events: list[Event], open_jobs: dict[Any, JobState]) -> Any:
    changes = [c for e in events for c in changes_for(e, lambda s: [ACCOUNT], lambda a, m, s: True)]
    ids = iter(f"auto-{n}" for n in range(10))
    return plan(merge(changes), open_jobs, lambda key: next(ids), 25_000)


def test_stock_to_zero_opens_its_own_urgent_job_served_first() -> None:
    result = _plan([stock_changed("A", 4), stock_changed("B", 0), stock_changed("C", 7)], {})

    by_urgency = {bool(j.data.urgent): j for j in result.open}
    assert [i.key for i in by_urgency[True].items or []] == ["B"]
    assert [i.key for i in by_urgency[False].items or []] == ["A", "C"]
    urgent = _folded([by_urgency[True]])
    ordinary = _folded([by_urgency[False]])
    assert priority_of(urgent) == URGENT_PRIORITY > priority_of(ordinary)
    assert "urgent" not in by_urgency[False].data.model_dump()  # the wire is unchanged

    # Later changes find their own lane's open job.
    opened = open_auto_jobs([urgent, ordinary])
    later = _plan([stock_changed("D", 0), stock_changed("E", 2)], opened)
    assert result.open and later.open == []
    joined = {state.job_id: [i.key for i in added] for state, added in later.add}
    assert joined == {urgent.job_id: ["D"], ordinary.job_id: ["E"]}


def test_an_urgent_change_replaces_the_older_value_in_the_ordinary_job() -> None:
    """Otherwise the big feed would later set the SKU back to the quantity it had."""
    ordinary = _folded(list(_plan([stock_changed("A", 4), stock_changed("B", 5)], {}).open))
    result = _plan([stock_changed("A", 0)], open_auto_jobs([ordinary]))

    [urgent_job] = result.open
    assert urgent_job.data.urgent and [i.key for i in urgent_job.items or []] == ["A"]
    [(state, added)] = result.add
    assert state.job_id == ordinary.job_id
    assert [(i.key, i.request["quantity"]) for i in added] == [("A", 0)]


def test_the_newest_change_of_a_sku_decides_its_lane() -> None:
    back_in_stock = _plan([stock_changed("A", 0), stock_changed("A", 3)], {})
    [job] = back_in_stock.open
    assert not job.data.urgent
    assert [(i.key, i.request["quantity"]) for i in job.items or []] == [("A", 3)]
    sold_out = _plan([stock_changed("A", 3), stock_changed("A", 0)], {})
    [job] = sold_out.open
    assert job.data.urgent


def test_the_patch_body_is_the_feed_messages_patch() -> None:
    qty = patching.patch_request(JobType.UPDATE_QTY, items({"sku": "A", "quantity": 0})[0], "M")
    stop = patching.patch_request(JobType.STOP_PRODUCTS, items({"sku": "B"})[0], "M")
    quantity_zero = {
        "op": "replace",
        "path": "/attributes/fulfillment_availability",
        "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
    }
    assert (qty.sku, qty.product_type, qty.patches) == ("A", "PRODUCT", [quantity_zero])
    assert (stop.sku, stop.patches) == ("B", [quantity_zero])


def answer(status: str, *issues: dict[str, Any]) -> ListingsItemSubmissionResponse:
    return ListingsItemSubmissionResponse.model_validate(
        {"sku": "A", "status": status, "submissionId": "s", "issues": list(issues)}
    )


def issue(severity: str, code: str = "99010") -> dict[str, Any]:
    return {"code": code, "message": "m", "severity": severity, "categories": []}


def test_answers_become_item_outcomes_with_amazons_issues() -> None:
    [item] = items({"sku": "A", "quantity": 0})
    accepted = patching.item_after(item, answer("ACCEPTED", issue("INFO")))
    warned = patching.item_after(item, answer("ACCEPTED", issue("WARNING", "18")))
    invalid = patching.item_after(item, answer("INVALID", issue("ERROR", "99020")))
    silent = patching.item_after(item, answer("INVALID"))
    refused = patching.item_refused(item, "Amazon refused patchListingsItem (HTTP 400)")

    assert (accepted.status, accepted.messages) == ("accepted", [])
    assert (warned.status, warned.messages) == ("warning", ["18: m"])
    assert (invalid.status, invalid.messages) == ("error", ["99020: m"])
    assert silent.status == "error" and "INVALID" in silent.messages[0]
    assert refused.status == "error"
    done = patching.done_data([accepted, warned, invalid])
    assert (done.processed, done.accepted, done.errors, done.warnings) == (3, 2, 1, 1)


def _processing_auto_job() -> JobState:
    [opened] = _plan([stock_changed("A", 0)], {}).open
    return _folded([opened])


def test_the_listing_is_set_as_the_applier_would_and_never_over_a_newer_one() -> None:
    state = _processing_auto_job()
    item = state.items["A"]
    at = datetime(2026, 12, 1, 12, tzinfo=UTC)
    current = listing_state(
        "A", account_id="acc-rt", shop_id="shop1", quantity=4, asin="B000000001"
    )

    ok = patching.listing_of(state, item.model_copy(update={"status": "accepted"}), current, at)
    bad = patching.listing_of(
        state, item.model_copy(update={"status": "error", "messages": ["x"]}), current, at
    )
    newer = current.model_copy(update={"as_of": at + timedelta(seconds=1)})
    stale = patching.listing_of(state, item.model_copy(update={"status": "accepted"}), newer, at)

    assert ok is not None and (ok.status, ok.quantity, ok.asin, ok.as_of) == (
        "active",
        0,
        "B000000001",
        at,
    )
    assert ok.last_job_id == state.job_id
    assert bad is not None and (bad.status, bad.quantity, bad.issues) == ("error", 4, ["x"])
    assert stale is None  # a later change is at Amazon already (docs/design.md §18)


def test_checkpointed_items_are_not_pending_after_a_fold() -> None:
    """What a resumed driver skips: the items a JobLogged recorded."""
    state = _processing_auto_job()
    done = state.items["A"].model_copy(update={"status": "accepted"})
    after = fold(state, next_job_event(JobLogged, state, items=[done]))
    assert [i.key for i in after.items.values() if i.status == "pending"] == []
