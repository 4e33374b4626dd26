"""A listing's current issues: set by each result, cleared by a clean one, kept by what is
not a result (pure)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from services.applier.listings import NOT_IN_FEED, apply_listings_report, stuck_listings
from services.submitter import patching
from services.submitter.intake import pending_listing
from services.submitter.listings import ListingStates
from shared.events import ListingIssue, ListingState
from shared.spapi.models.listings import ListingsItemSubmissionResponse, SubmissionStatus
from tests.applier.jobs import ready_job
from tests.applier.test_listings import BEFORE, SKU_NOT_FOUND, WARNING, _feed, _qty_job, _report
from tests.factories import account_registered, item_state, listing_state

INFO = {"messageId": 1, "sku": "GOOD", "code": "1", "severity": "INFO", "message": "fyi"}


def test_a_result_sets_each_listings_errors_and_warnings_with_the_job() -> None:
    report = _report(
        [INFO, SKU_NOT_FOUND, {**WARNING, "attributeName": "item_name"}], processed=3, accepted=2
    )
    applied = apply_listings_report(_qty_job(), report, {})
    by_sku = {listing.sku: listing for listing in applied.listings}

    assert by_sku["GOOD"].reported_issues == []  # INFO is nothing to fix
    assert (by_sku["GOOD"].issues_job_id, by_sku["GOOD"].issues_at) == (None, None)
    assert by_sku["BAD"].reported_issues == [
        ListingIssue(severity="error", code="99020", message=SKU_NOT_FOUND["message"])
    ]
    assert by_sku["WARN"].reported_issues == [
        ListingIssue(
            severity="warning",
            code="18448",
            message=WARNING["message"],
            attribute_names=["item_name"],
        )
    ]
    for sku in ("BAD", "WARN"):
        assert by_sku[sku].issues_job_id == "job-1"
        assert by_sku[sku].issues_at == by_sku[sku].occurred_at


def test_a_clean_result_clears_the_issues_and_an_item_not_in_the_feed_says_so() -> None:
    earlier = listing_state("GOOD", account_id="acc1", status="error", last_job_id="job-0")
    earlier = earlier.model_copy(
        update={
            "reported_issues": [ListingIssue(severity="error", message="bad")],
            "issues_job_id": "job-0",
            "issues_at": earlier.occurred_at,
        }
    )
    state = ready_job(
        _qty_job().job_type,
        [item_state("GOOD", 1, before=BEFORE), item_state("GONE", 1, before=BEFORE)],
        {**_feed({"1": "GOOD"}), "messages": {"1": "GOOD"}},
        listings_marked=False,
    )
    applied = apply_listings_report(state, _report([], processed=1, accepted=1), {"GOOD": earlier})
    by_sku = {listing.sku: listing for listing in applied.listings}

    assert by_sku["GOOD"].status == "active" and by_sku["GOOD"].reported_issues == []
    assert by_sku["GOOD"].issues_job_id is None
    assert by_sku["GONE"].reported_issues == [ListingIssue(severity="error", message=NOT_IN_FEED)]


def _with_issues(listing: ListingState, job_id: str) -> ListingState:
    return listing.model_copy(
        update={
            "reported_issues": [ListingIssue(severity="warning", code="7", message="check")],
            "issues_job_id": job_id,
            "issues_at": listing.occurred_at,
        }
    )


def test_pending_and_a_job_failed_as_a_whole_keep_the_latest_results_issues() -> None:
    before = _with_issues(
        listing_state("A", account_id="acc1", status="active", price=Decimal("2")), "job-0"
    )
    pending = pending_listing("job-1", "shop1", "acc1", "M", item_state("A", 5), before)
    assert pending.status == "pending"
    assert (pending.reported_issues, pending.issues_job_id, pending.issues_at) == (
        before.reported_issues,
        "job-0",
        before.issues_at,
    )

    state = ready_job(_qty_job().job_type, [item_state("A", 5, before=BEFORE)], _feed({"1": "A"}))
    failed = replace(state, facts=state.facts.model_copy(update={"error": "aborted"}))
    [stuck] = stuck_listings(failed, {"A": pending.model_copy(update={"last_job_id": "job-1"})})
    assert stuck.status == "error"
    assert (stuck.reported_issues, stuck.issues_job_id) == (before.reported_issues, "job-0")


def test_old_records_without_issues_read_as_none() -> None:
    old = {
        "event_type": "ListingState",
        "account_id": "acc1",
        "shop_id": "shop1",
        "sku": "A",
        "status": "error",
        "issues": ["99020: gone"],
    }
    record = ListingState.model_validate(old)
    assert (record.reported_issues, record.issues_job_id, record.issues_at) == ([], None, None)


def test_a_listing_keeps_at_most_20_issues_of_bounded_size() -> None:
    many = [{"severity": "error", "message": "x" * 5_000, "code": "c" * 500}] * 30
    record = ListingState(
        account_id="a", shop_id="s", sku="A", status="error", reported_issues=many
    )
    assert len(record.reported_issues) == 20
    assert len(record.reported_issues[0].message) <= 1_000
    assert len(record.reported_issues[0].code or "") <= 64


def test_a_patch_answer_sets_the_issues_with_amazons_codes_and_attributes() -> None:
    warned = ListingsItemSubmissionResponse.model_validate(
        {
            "sku": "A",
            "status": "ACCEPTED",
            "submissionId": "s1",
            "issues": [
                {"code": "1", "message": "fyi", "severity": "INFO"},
                {
                    "code": "99040",
                    "message": "far off",
                    "severity": "WARNING",
                    "attributeNames": ["purchasable_offer"],
                },
            ],
        }
    )
    assert patching.listing_issues(warned) == [
        ListingIssue(
            severity="warning",
            code="99040",
            message="far off",
            attribute_names=["purchasable_offer"],
        )
    ]
    clean = warned.model_copy(update={"issues": []})
    assert patching.listing_issues(clean) == []
    # Refused without a word: the item's own message stands for the issue.
    silent = clean.model_copy(update={"status": SubmissionStatus.INVALID})
    assert patching.listing_issues(silent) is None


def test_a_cancels_restored_listing_keeps_the_issues_of_the_listing_it_replaces() -> None:
    account = account_registered()
    table = ListingStates()
    pending = _with_issues(
        listing_state("A", account_id=account.account_id, marketplace_id="M", status="pending"),
        "job-0",
    )
    table.remember_listing(pending)
    restored = listing_state("A", account_id=account.account_id, marketplace_id="M")
    kept = table.with_issues_kept(account, restored)
    assert (kept.status, kept.reported_issues, kept.issues_job_id) == (
        "active",
        pending.reported_issues,
        "job-0",
    )
    other = listing_state("B", account_id=account.account_id, marketplace_id="M")
    assert table.with_issues_kept(account, other) == other  # nothing held: as it is
