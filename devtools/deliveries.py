"""What a seller's feeds delivered to Amazon, as the sandbox tells it (pure).

The sandbox lists a seller's feeds with their processing reports' summaries
(``GET /_sandbox/sellers/{id}/feeds``). A SKU update is *delivered* when it is a message
Amazon accepted (``messagesAccepted``) in a ``JSON_LISTINGS_FEED`` whose ``createFeed``
fell in the measured window; a feed's messages are what Amazon processed of it
(``messagesProcessed``).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

LISTINGS_FEED = "JSON_LISTINGS_FEED"
FINISHED = frozenset({"DONE", "CANCELLED", "FATAL"})


@dataclass(frozen=True)
class Deliveries:
    feeds: int  # listings feeds created in the window
    unfinished: int  # of them, not yet processed (their messages are not counted)
    accepted: int  # messages accepted, over every finished feed of the window
    messages: list[int]  # messages processed, per finished feed, in creation order

    @property
    def median_messages(self) -> float:
        return statistics.median(self.messages) if self.messages else 0.0

    @property
    def min_messages(self) -> int:
        return min(self.messages, default=0)


def created_at(feed: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(feed["createdTime"]).replace("Z", "+00:00"))


def in_window(feeds: list[dict[str, Any]], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The listings feeds created from ``start`` up to ``end`` (both included)."""
    return [
        f for f in feeds if f.get("feedType") == LISTINGS_FEED and start <= created_at(f) <= end
    ]


def deliveries(feeds: list[dict[str, Any]], start: datetime, end: datetime) -> Deliveries:
    chosen = sorted(in_window(feeds, start, end), key=created_at)
    finished = [f for f in chosen if f.get("processingStatus") in FINISHED]
    summaries = [f.get("summary") or {} for f in finished]
    return Deliveries(
        feeds=len(chosen),
        unfinished=len(chosen) - len(finished),
        accepted=sum(int(s.get("messagesAccepted", 0)) for s in summaries),
        messages=[int(s.get("messagesProcessed", 0)) for s in summaries],
    )
