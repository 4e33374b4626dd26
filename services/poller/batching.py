"""One getFeeds call instead of one getFeed per feed, where that saves calls.

When several feeds of one account are due, one ``getFeeds`` listing the account's
*finished* feeds (processingStatuses DONE, CANCELLED, FATAL; pageSize 100) created since
the oldest of them answers for all of them at once: a listed feed is finished (with its
result document), an unlisted one is still queued or in progress. Every waiting feed of
the account rides along for free, due or not.

If the page is not the last one (``nextToken``), an unlisted feed may be on a later page:
those the poller needed are asked about one by one instead (a later page would cost a
getFeeds call too, and getFeeds is the scarcer operation at Amazon).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.poller.decision import RemoteStatus, Submission
from shared.spapi.models.feeds import Feed, ProcessingStatus

PAGE_SIZE = 100  # getFeeds' maximum
FINISHED = (ProcessingStatus.DONE, ProcessingStatus.CANCELLED, ProcessingStatus.FATAL)
# Amazon stamps createdTime before the submitter stamps submitted_at; the margin also
# absorbs clock skew between Amazon and this host.
CREATED_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class FeedsQuery:
    feed_types: tuple[str, ...]
    created_since: datetime
    feed_ids: frozenset[str]  # the feeds the answer is read for


@dataclass(frozen=True, slots=True)
class FeedsAnswer:
    finished: dict[str, RemoteStatus]  # feed id → status, for listed feeds
    still_waiting: frozenset[str]  # not listed on a complete answer: queued or in progress
    unknown: frozenset[str]  # not listed, but the answer had more pages


def batch_query(
    due: Sequence[Submission],
    waiting: Sequence[Submission],
    *,
    min_feeds: int,
    allowed: bool,
) -> FeedsQuery | None:
    """The getFeeds query for one account's feeds, or None when single calls are better.

    ``due`` are the account's feeds to poll now; ``waiting`` every feed of the account
    that waits (the due ones included). ``allowed`` is False while the account's last
    getFeeds is too recent for Amazon's getFeeds rate.
    """
    due_feeds = [s for s in due if _listable(s)]
    if not allowed or len(due_feeds) < min_feeds:
        return None
    riders = {s.remote_id: s for s in [*waiting, *due_feeds] if _listable(s)}
    members = list(riders.values())
    return FeedsQuery(
        feed_types=tuple(sorted({s.remote_type for s in members})),
        created_since=min(s.submitted_at for s in members) - CREATED_MARGIN,
        feed_ids=frozenset(riders),
    )


def read_answer(query: FeedsQuery, feeds: Sequence[Feed], has_more: bool) -> FeedsAnswer:
    finished = {
        f.feed_id: RemoteStatus.of_feed(f)
        for f in feeds
        if f.feed_id in query.feed_ids and f.processing_status in FINISHED
    }
    unlisted = query.feed_ids - finished.keys()
    if has_more:
        return FeedsAnswer(finished, frozenset(), frozenset(unlisted))
    return FeedsAnswer(finished, frozenset(unlisted), frozenset())


def _listable(submission: Submission) -> bool:
    """getFeeds filters by feed type, so a feed of unknown type cannot ride along."""
    return submission.kind == "feed" and bool(submission.remote_type)
