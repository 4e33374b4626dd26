"""getFeeds instead of one getFeed per feed: when, over what, and how its answer is read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.poller.batching import CREATED_MARGIN, FeedsQuery, batch_query, read_answer
from services.poller.decision import RemoteStatus, Submission
from shared.spapi.models.feeds import Feed, ProcessingStatus

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
LISTINGS = "JSON_LISTINGS_FEED"
FULFILLMENT = "POST_ORDER_FULFILLMENT_DATA"


def _feed(n: int, feed_type: str = LISTINGS, minutes: int = 0) -> Submission:
    return Submission(
        f"job{n}", "acc1", "feed", f"F{n}", feed_type, T0 + timedelta(minutes=minutes)
    )


def _report(n: int) -> Submission:
    return Submission(f"rjob{n}", "acc1", "report", f"R{n}", "GET_MERCHANT_LISTINGS_ALL_DATA", T0)


def _amazon(feed_id: str, status: str, document: str | None = None) -> Feed:
    body: dict[str, object] = {
        "feedId": feed_id,
        "feedType": LISTINGS,
        "createdTime": "2026-11-27T10:00:00Z",
        "processingStatus": status,
    }
    if document:
        body["resultFeedDocumentId"] = document
    return Feed.model_validate(body)


def test_one_due_feed_is_asked_about_alone() -> None:
    assert batch_query([_feed(1)], [_feed(1), _feed(2)], min_feeds=2, allowed=True) is None


def test_several_due_feeds_share_one_call_with_every_waiting_feed() -> None:
    due = [_feed(1, minutes=5), _feed(2, FULFILLMENT, minutes=1)]
    waiting = [*due, _feed(3, minutes=9), _report(1)]
    query = batch_query(due, waiting, min_feeds=2, allowed=True)
    assert query == FeedsQuery(
        feed_types=(LISTINGS, FULFILLMENT),
        created_since=T0 + timedelta(minutes=1) - CREATED_MARGIN,
        feed_ids=frozenset({"F1", "F2", "F3"}),  # reports have no getFeeds
    )


def test_no_batch_while_the_last_get_feeds_is_too_recent() -> None:
    due = [_feed(1), _feed(2)]
    assert batch_query(due, due, min_feeds=2, allowed=False) is None


def test_reports_and_untyped_feeds_do_not_count_towards_a_batch() -> None:
    untyped = Submission("job9", "acc1", "feed", "F9", "", T0)
    due = [_feed(1), _report(1), untyped]
    assert batch_query(due, due, min_feeds=2, allowed=True) is None


def test_answer_splits_finished_from_still_waiting() -> None:
    query = FeedsQuery((LISTINGS,), T0, frozenset({"F1", "F2", "F3"}))
    page = [
        _amazon("F1", "DONE", "D1"),
        _amazon("F2", "FATAL"),
        _amazon("F77", "DONE", "D77"),  # another feed of the seller
        _amazon("F3", "IN_PROGRESS"),  # Amazon ignoring the filter: not taken as finished
    ]
    answer = read_answer(query, page, has_more=False)
    assert answer.finished == {
        "F1": RemoteStatus(ProcessingStatus.DONE, "D1"),
        "F2": RemoteStatus(ProcessingStatus.FATAL),
    }
    assert answer.still_waiting == {"F3"} and answer.unknown == frozenset()


def test_answer_with_more_pages_cannot_tell_about_unlisted_feeds() -> None:
    query = FeedsQuery((LISTINGS,), T0, frozenset({"F1", "F2"}))
    answer = read_answer(query, [_amazon("F1", "DONE", "D1")], has_more=True)
    assert set(answer.finished) == {"F1"}
    assert answer.unknown == {"F2"} and answer.still_waiting == frozenset()
