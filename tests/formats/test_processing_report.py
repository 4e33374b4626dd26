from __future__ import annotations

import json

import pytest

from shared.formats.processing_report import (
    MessageOutcome,
    ProcessingReportError,
    Severity,
    parse_processing_report,
)

SKUS = {1: "SKU-A", 2: "SKU-B", 3: "SKU-C", 4: "SKU-D"}

REPORT = {
    "header": {"sellerId": "A1SELLERTEST", "version": "2.0", "feedId": "50012345"},
    "issues": [
        {
            "messageId": 2,
            "sku": "SKU-B",
            "code": "90220",
            "severity": "ERROR",
            "message": "'[batteries_required]' is required but not supplied.",
        },
        {
            "messageId": 2,
            "sku": "SKU-B",
            "code": "99022",
            "severity": "ERROR",
            "message": "The field 'prices' does not have enough values.",
            "attributeName": "purchasable_offer.our_price",
        },
        {
            "messageId": 3,
            "sku": "SKU-C",
            "code": "18448",
            "severity": "WARNING",
            "message": "Attributes tagged as relevant_attributes are incomplete.",
        },
        {"sku": "SKU-D", "code": "8541", "severity": "ERROR", "message": "SKU mismatch"},
        {"messageId": 1, "code": "1", "severity": "INFO", "message": "FYI"},
    ],
    "summary": {
        "errors": 3,
        "warnings": 1,
        "messagesProcessed": 4,
        "messagesAccepted": 2,
        "messagesInvalid": 2,
    },
}


def test_every_item_gets_its_outcome_and_amazons_messages() -> None:
    report = parse_processing_report(json.dumps(REPORT).encode(), SKUS)

    assert report.feed_id == "50012345"
    assert report.seller_id == "A1SELLERTEST"
    assert report.summary.messages_accepted == 2
    assert report.items["SKU-A"].outcome is MessageOutcome.ACCEPTED  # INFO only
    b = report.items["SKU-B"]
    assert b.outcome is MessageOutcome.ERROR
    assert b.message_id == 2
    assert b.errors == [
        "90220: '[batteries_required]' is required but not supplied.",
        "99022: The field 'prices' does not have enough values. [purchasable_offer.our_price]",
    ]
    c = report.items["SKU-C"]
    assert c.outcome is MessageOutcome.WARNING
    assert c.warnings == ["18448: Attributes tagged as relevant_attributes are incomplete."]
    # no messageId: matched by sku
    assert report.items["SKU-D"].outcome is MessageOutcome.ERROR
    assert report.items["SKU-D"].errors == ["8541: SKU mismatch"]
    assert [i.sku for i in report.by_outcome(MessageOutcome.ERROR)] == ["SKU-B", "SKU-D"]
    assert report.unmatched_issues == ()
    assert report.problems == ()


def test_missing_issues_means_all_accepted() -> None:
    report = parse_processing_report(
        {"header": {"feedId": "1"}, "summary": {"messagesAccepted": 4}}, SKUS
    )
    assert {i.outcome for i in report.items.values()} == {MessageOutcome.ACCEPTED}
    assert len(report.items) == 4


def test_unknown_message_ids_and_skus_are_kept_aside() -> None:
    data = {
        "header": {},
        "issues": [
            {"messageId": 99, "severity": "ERROR", "message": "who?"},
            {"messageId": 98, "sku": "SKU-A", "severity": "ERROR", "message": "by sku"},
            {"sku": "NOT-OURS", "severity": "WARNING", "message": "stranger"},
        ],
        "summary": {"messagesAccepted": 3},
    }
    report = parse_processing_report(data, SKUS)

    assert report.items["SKU-A"].errors == ["by sku"]
    assert [i.message for i in report.unmatched_issues] == ["who?", "stranger"]
    assert report.items["SKU-B"].outcome is MessageOutcome.ACCEPTED


def test_a_feed_level_error_with_nothing_accepted_fails_every_item() -> None:
    data = {
        "header": {"feedId": "7"},
        "issues": [{"code": "4000003", "severity": "ERROR", "message": "Feed is not valid JSON"}],
        "summary": {"errors": 1, "messagesProcessed": 0, "messagesAccepted": 0},
    }
    report = parse_processing_report(data, SKUS)

    assert {i.outcome for i in report.items.values()} == {MessageOutcome.ERROR}
    assert report.items["SKU-C"].errors == ["4000003: Feed is not valid JSON"]
    assert [i.severity for i in report.feed_issues] == [Severity.ERROR]


def test_a_feed_level_error_with_accepted_messages_does_not_fail_them() -> None:
    data = {
        "issues": [{"severity": "ERROR", "message": "something about the feed"}],
        "summary": {"messagesAccepted": 4},
    }
    report = parse_processing_report(data, SKUS)
    assert {i.outcome for i in report.items.values()} == {MessageOutcome.ACCEPTED}
    assert len(report.feed_issues) == 1


def test_unreadable_entries_are_reported_not_fatal() -> None:
    data = {
        "issues": [
            "not an object",
            {"messageId": 1, "severity": "CATASTROPHIC", "message": "?"},
            {"messageId": "2", "severity": "error", "message": "string id, lower-case severity"},
        ],
        "summary": "garbage",
    }
    report = parse_processing_report(data, SKUS)

    assert len(report.problems) == 2
    assert report.items["SKU-B"].outcome is MessageOutcome.ERROR
    assert report.summary.messages_accepted is None


def test_issues_that_are_not_a_list_are_a_problem() -> None:
    report = parse_processing_report({"issues": {"oops": 1}}, SKUS)
    assert report.problems == ("issues is not a list",)


def test_not_json_is_an_error() -> None:
    with pytest.raises(ProcessingReportError):
        parse_processing_report(b"<html>", SKUS)
    with pytest.raises(ProcessingReportError):
        parse_processing_report(b"[1, 2]", SKUS)


def test_bom_is_tolerated() -> None:
    report = parse_processing_report("\ufeff{}".encode(), {1: "A"})
    assert report.items["A"].outcome is MessageOutcome.ACCEPTED
