"""What a seller's feeds delivered, counted from the sandbox's list of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from devtools.deliveries import deliveries

START = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
END = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)


def feed(created: str, accepted: int | None, processed: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "feedType": "JSON_LISTINGS_FEED",
        "createdTime": created,
        "processingStatus": "DONE" if accepted is not None else "IN_QUEUE",
        "summary": None
        if accepted is None
        else {"messagesAccepted": accepted, "messagesProcessed": processed or accepted},
        **fields,
    }


def test_only_listings_feeds_created_in_the_window_count() -> None:
    feeds = [
        feed("2025-12-31T23:59:59.999Z", 25_000),  # before the window
        feed("2026-01-01T00:00:00.000Z", 24_000, 25_000),
        feed("2026-01-01T01:00:00.000Z", 25_000),
        feed("2026-01-01T02:00:00.000Z", 10_000),  # at its end: in
        feed("2026-01-01T02:00:00.001Z", 25_000),  # after it
        feed("2026-01-01T01:30:00.000Z", 7, feedType="POST_ORDER_FULFILLMENT_DATA"),
    ]
    found = deliveries(feeds, START, END)
    assert (found.feeds, found.unfinished, found.accepted) == (3, 0, 59_000)
    assert found.messages == [25_000, 25_000, 10_000]
    assert (found.median_messages, found.min_messages) == (25_000, 10_000)


def test_a_feed_not_processed_yet_is_said_and_not_counted() -> None:
    found = deliveries(
        [feed("2026-01-01T00:10:00Z", 25_000), feed("2026-01-01T01:50:00Z", None)], START, END
    )
    assert (found.feeds, found.unfinished, found.accepted, found.messages) == (
        2,
        1,
        25_000,
        [25_000],
    )


def test_no_feed_is_no_delivery() -> None:
    found = deliveries([], START, END)
    assert (found.feeds, found.accepted, found.median_messages, found.min_messages) == (0, 0, 0, 0)
