"""A listings feed's processing report → item outcomes and listing states, per job type."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from services.applier.applied import ResultError
from services.applier.listings import NOT_IN_FEED, apply_listings_report, stuck_listings
from shared.events import ItemState, ListingState, ListingStatus
from shared.jobs import JobType
from tests.applier.jobs import ready_job
from tests.factories import item_state, listing_state

BEFORE = {
    "asin": "B000000001",
    "status": "active",
    "quantity": 3,
    "price": "9.99",
    "currency": "EUR",
    "last_job_id": "job-0",
    "issues": [],
}


def _report(issues: list[dict[str, Any]], *, processed: int, accepted: int) -> bytes:
    return json.dumps(
        {
            "header": {"sellerId": "S1", "version": "2.0", "feedId": "F1"},
            "issues": issues,
            "summary": {
                "errors": sum(1 for i in issues if i["severity"] == "ERROR"),
                "warnings": sum(1 for i in issues if i["severity"] == "WARNING"),
                "messagesProcessed": processed,
                "messagesAccepted": accepted,
                "messagesInvalid": processed - accepted,
            },
        }
    ).encode()


def _feed(messages: dict[str, str]) -> dict[str, Any]:
    return {
        "feed_id": "F1",
        "feed_type": "JSON_LISTINGS_FEED",
        "marketplace_id": "A1PA6795UKMFR9",
        "messages": messages,
        "submitted_at": "2026-11-27T10:00:00+00:00",
    }


SKU_NOT_FOUND = {
    "messageId": 2,
    "sku": "BAD",
    "code": "99020",
    "severity": "ERROR",
    "message": "The SKU 'BAD' does not match any listing of this seller.",
}
WARNING = {
    "messageId": 3,
    "sku": "WARN",
    "code": "18448",
    "severity": "WARNING",
    "message": "Attributes tagged as relevant_attributes are incomplete.",
}


def _qty_job(**kwargs: Any) -> Any:
    items = [item_state(sku, q, before=BEFORE) for sku, q in (("GOOD", 7), ("BAD", 1), ("WARN", 0))]
    return ready_job(
        JobType.UPDATE_QTY, items, _feed({"1": "GOOD", "2": "BAD", "3": "WARN"}), **kwargs
    )


def _held(
    sku: str,
    status: ListingStatus,
    *,
    quantity: int,
    job: str,
    asin: str | None = None,
    price: str = "9.99",
) -> ListingState:
    """A listing as amazon.listings holds it now."""
    return listing_state(
        sku,
        account_id="acc1",
        asin=asin,
        status=status,
        quantity=quantity,
        price=Decimal(price),
        last_job_id=job,
    )


def _by_sku(listings: list[ListingState]) -> dict[str, ListingState]:
    return {listing.sku: listing for listing in listings}


def test_update_qty_outcomes_per_item_and_listing() -> None:
    state = _qty_job()
    applied = apply_listings_report(
        state, _report([SKU_NOT_FOUND, WARNING], processed=3, accepted=2), {}
    )
    items = {i.key: i for i in applied.items}
    assert items["GOOD"].status == "accepted" and items["GOOD"].messages == []
    assert items["BAD"].status == "error"
    assert items["BAD"].messages == [
        "99020: The SKU 'BAD' does not match any listing of this seller."
    ]
    assert items["WARN"].status == "warning"
    assert items["GOOD"].request == {"sku": "GOOD", "quantity": 7}  # the request is kept
    assert applied.counts == {"processed": 3, "accepted": 2, "errors": 1, "warnings": 1}

    listings = _by_sku(applied.listings)
    good = listings["GOOD"]
    assert (good.status, good.quantity, good.price, good.currency, good.asin) == (
        "active",
        7,
        Decimal("9.99"),  # the price the job did not change, from before the job
        "EUR",
        "B000000001",
    )
    assert good.last_job_id == "job-1" and good.issues == []
    bad = listings["BAD"]
    assert (bad.status, bad.quantity) == ("error", 3)  # Amazon kept what it had
    assert bad.issues == items["BAD"].messages
    assert listings["WARN"].status == "active" and listings["WARN"].quantity == 0
    assert listings["WARN"].issues == [
        "18448: Attributes tagged as relevant_attributes are incomplete."
    ]
    assert "3 item(s), 2 accepted (1 with warnings), 1 in error" in applied.log[0].message
    assert any("BAD: 99020" in line.message for line in applied.log)


def test_update_price_and_both() -> None:
    price_items = [
        ItemState(key="P", request={"sku": "P", "price": "12.50", "currency": "EUR"}, before=BEFORE)
    ]
    state = ready_job(JobType.UPDATE_PRICE, price_items, _feed({"1": "P"}))
    listing = apply_listings_report(state, _report([], processed=1, accepted=1), {}).listings[0]
    assert (listing.status, listing.quantity, listing.price) == ("active", 3, Decimal("12.50"))

    both = [
        ItemState(
            key="Q",
            request={"sku": "Q", "quantity": 5, "price": "20", "currency": "GBP"},
            before=None,  # a listing the system did not know before
        )
    ]
    state = ready_job(JobType.UPDATE_QTY_PRICE, both, _feed({"1": "Q"}))
    listing = apply_listings_report(state, _report([], processed=1, accepted=1), {}).listings[0]
    assert (listing.quantity, listing.price, listing.currency, listing.asin) == (
        5,
        Decimal("20"),
        "GBP",
        None,
    )


@pytest.mark.parametrize(
    ("job_type", "status"),
    [(JobType.STOP_PRODUCTS, "stopped"), (JobType.STOP_REMOVE_PRODUCTS, "removed")],
)
def test_stop_jobs_end_with_nothing_to_sell(job_type: JobType, status: str) -> None:
    items = [ItemState(key=s, request={"sku": s}, before=BEFORE) for s in ("S1", "S2")]
    state = ready_job(job_type, items, _feed({"1": "S1", "2": "S2"}))
    error = {**SKU_NOT_FOUND, "messageId": 2, "sku": "S2"}
    listings = _by_sku(
        apply_listings_report(state, _report([error], processed=2, accepted=1), {}).listings
    )
    assert (listings["S1"].status, listings["S1"].quantity) == (status, 0)
    assert (listings["S2"].status, listings["S2"].quantity) == ("error", 3)


def test_send_products_lists_with_the_asin_and_keeps_earlier_errors() -> None:
    items = [
        ItemState(
            key="NEW",
            request={
                "sku": "NEW",
                "ean": "4006381333931",
                "quantity": 2,
                "price": "5",
                "currency": "EUR",
            },
        ),
        ItemState(
            key="NOMATCH",
            status="error",
            request={
                "sku": "NOMATCH",
                "ean": "1234567890128",
                "quantity": 1,
                "price": "5",
                "currency": "EUR",
            },
            messages=["no Amazon item found for EAN 1234567890128 in A1PA6795UKMFR9"],
        ),
    ]
    submitted = _feed({"1": "NEW"}) | {"asins": {"NEW": "B0NEWASIN1"}}
    state = ready_job(JobType.SEND_PRODUCTS, items, submitted)
    applied = apply_listings_report(state, _report([], processed=1, accepted=1), {})
    assert [(i.key, i.status) for i in applied.items] == [("NEW", "accepted"), ("NOMATCH", "error")]
    assert applied.items[1].messages == items[1].messages
    (listing,) = applied.listings  # only the item the feed carried
    assert (listing.status, listing.asin, listing.quantity, listing.price) == (
        "active",
        "B0NEWASIN1",
        2,
        Decimal("5"),
    )
    assert applied.counts["errors"] == 1


def test_automatic_jobs_keep_the_current_listing_values() -> None:
    # Coalesced jobs do not mark listings pending: the current listing is the base.
    state = ready_job(
        JobType.UPDATE_QTY,
        [item_state("A", 4)],
        _feed({"1": "A"}),
        listings_marked=False,
    )
    current = _held("A", "active", quantity=9, job="job-0", asin="B0CURRENT1", price="15")
    (listing,) = apply_listings_report(
        state, _report([], processed=1, accepted=1), {"A": current}
    ).listings
    assert (listing.asin, listing.quantity, listing.price) == ("B0CURRENT1", 4, Decimal("15"))


def test_a_pending_mark_of_this_job_does_not_count_as_the_old_value() -> None:
    state = _qty_job()
    pending = _held("BAD", "pending", quantity=1, job="job-1", asin="B000000001")
    applied = apply_listings_report(
        state, _report([SKU_NOT_FOUND], processed=3, accepted=2), {"BAD": pending}
    )
    assert _by_sku(applied.listings)["BAD"].quantity == 3  # before the job, not the request


def test_an_item_the_feed_did_not_carry_is_an_error() -> None:
    state = _qty_job()
    state_without_warn = ready_job(
        JobType.UPDATE_QTY, list(state.items.values()), _feed({"1": "GOOD", "2": "BAD"})
    )
    applied = apply_listings_report(
        state_without_warn, _report([SKU_NOT_FOUND], processed=2, accepted=1), {}
    )
    warn = next(i for i in applied.items if i.key == "WARN")
    assert (warn.status, warn.messages) == ("error", [NOT_IN_FEED])


def test_a_feed_level_error_with_nothing_accepted_fails_every_item() -> None:
    fatal = {
        "code": "4002006",
        "severity": "ERROR",
        "message": "The attribute 'sellerId' does not match.",
    }
    applied = apply_listings_report(_qty_job(), _report([fatal], processed=0, accepted=0), {})
    assert {i.status for i in applied.items} == {"error"}
    assert all("sellerId" in i.messages[0] for i in applied.items)
    assert any("feed as a whole" in line.message for line in applied.log)


def test_issue_found_by_sku_when_the_message_id_is_missing() -> None:
    issue = {k: v for k, v in SKU_NOT_FOUND.items() if k != "messageId"}
    applied = apply_listings_report(_qty_job(), _report([issue], processed=3, accepted=2), {})
    assert next(i for i in applied.items if i.key == "BAD").status == "error"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"<html>503</html>", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"foo": 1}', "not a processing report"),
        (b"\xff\xfe", "not JSON"),
        (
            json.dumps({"header": {"feedId": "F999"}, "issues": []}).encode(),
            "of feed F999, not of feed F1",
        ),
    ],
)
def test_malformed_documents_are_refused_with_a_reason(document: bytes, reason: str) -> None:
    with pytest.raises(ResultError, match=reason):
        apply_listings_report(_qty_job(), document, {})


def test_a_report_cannot_be_matched_to_a_job_whose_feed_carried_none_of_its_items() -> None:
    # A legacy submission with an empty message map, and a send_products job none of whose
    # items was matched to an ASIN: there is nothing to read the report back with.
    items = [item_state("A", 1)]
    legacy = ready_job(
        JobType.UPDATE_QTY,
        items,
        {"feed_id": "F1", "feed_type": "JSON_LISTINGS_FEED", "messages": {}},
    )
    with pytest.raises(ResultError, match="no messages"):
        apply_listings_report(legacy, _report([], processed=1, accepted=1), {})
    unmatched = [
        ItemState(
            key="A",
            request={
                "sku": "A",
                "ean": "4006381333931",
                "quantity": 1,
                "price": "9.99",
                "currency": "EUR",
            },
        )
    ]
    send = ready_job(JobType.SEND_PRODUCTS, unmatched, {"feed_id": "F1"})
    with pytest.raises(ResultError, match="no items"):
        apply_listings_report(send, _report([], processed=1, accepted=1), {})


def test_messages_are_read_back_by_the_items_ordinals() -> None:
    items = [item_state(k, 1) for k in ("A", "B", "C")]
    state = ready_job(JobType.UPDATE_QTY, items, {"feed_id": "F1"})
    report = json.dumps(
        {
            "header": {"sellerId": "S", "version": "2.0", "feedId": "F1"},
            "issues": [{"messageId": 2, "code": "8541", "severity": "ERROR", "message": "bad B"}],
            "summary": {
                "errors": 1,
                "warnings": 0,
                "messagesProcessed": 3,
                "messagesAccepted": 2,
                "messagesInvalid": 0,
            },
        }
    ).encode()
    applied = apply_listings_report(state, report, {})
    assert {i.key: i.status for i in applied.items} == {
        "A": "accepted",
        "B": "error",
        "C": "accepted",
    }


def test_stuck_listings_of_a_failed_job_go_to_error_once() -> None:
    state = _qty_job()
    reason = "Amazon aborted feed F1"
    failed = replace(state, facts=state.facts.model_copy(update={"error": reason}))
    current = {
        "GOOD": _held("GOOD", "pending", quantity=7, job="job-1"),
        "BAD": _held(
            "BAD", "pending", quantity=7, job="job-2"
        ),  # a later job marked it since: not ours to touch
        # WARN: no listing at all
    }
    (listing,) = stuck_listings(failed, current)
    assert (listing.sku, listing.status, listing.quantity) == ("GOOD", "error", 3)
    assert listing.issues == ["Amazon aborted feed F1"]
    assert stuck_listings(failed, {"GOOD": listing}) == []  # repeat: nothing left to do
    automatic = replace(failed, facts=failed.facts.model_copy(update={"listings_marked": False}))
    assert stuck_listings(automatic, current) == []


def test_an_older_jobs_result_leaves_a_newer_listing_alone() -> None:
    items = [item_state(k, 5) for k in ("A", "B")]
    state = ready_job(
        JobType.UPDATE_QTY,
        items,
        {"feed_id": "F1", "submitted_at": "2026-11-27T10:00:00+00:00"},
        listings_marked=False,
    )
    newer = listing_state(
        "A",
        account_id="acc1",
        quantity=9,
        last_job_id="job-later",
        as_of="2026-11-27T10:05:00+00:00",
    )
    older = newer.model_copy(update={"sku": "B", "as_of": None, "quantity": 1})
    report = json.dumps(
        {
            "header": {"feedId": "F1"},
            "issues": [],
            "summary": {
                "errors": 0,
                "warnings": 0,
                "messagesProcessed": 2,
                "messagesAccepted": 2,
                "messagesInvalid": 0,
            },
        }
    ).encode()
    applied = apply_listings_report(state, report, {"A": newer, "B": older})
    assert {i.key: i.status for i in applied.items} == {"A": "accepted", "B": "accepted"}
    assert [(li.sku, li.quantity) for li in applied.listings] == [("B", 5)]
    assert applied.listings[0].as_of is not None
    assert any("left as they are" in line.message for line in applied.log)
