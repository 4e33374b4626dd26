"""What applying one result document comes to: item outcomes, records to publish, counts.

Plain data, built by the pure modules ``listings``, ``fulfillment`` and ``inventory`` and
turned into Kafka messages and a ``JobDone`` by the service shell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.events import InventoryRow, ItemState, ListingState, LogLine


class ResultError(ValueError):
    """The result cannot be applied (malformed document, missing submission data); the
    job fails with this message, which is written for the merchant."""


@dataclass(frozen=True)
class Applied:
    items: list[ItemState]  # the final state of every item the job carries
    counts: dict[str, int]  # JobDone.data: processed, accepted, errors, warnings (+ rows)
    log: list[LogLine]
    listings: list[ListingState] = field(default_factory=list)  # to amazon.listings
    inventory: list[InventoryRow] = field(default_factory=list)  # to amazon.inventory
    # SKUs of the account's inventory that the latest report no longer lists (tombstoned).
    removed_inventory: list[str] = field(default_factory=list)


def item_counts(items: Iterable[ItemState]) -> dict[str, int]:
    """Counts over a job's final items. ``accepted`` counts every item Amazon applied,
    those with warnings included (as Amazon's messagesAccepted does)."""
    statuses = [item.status for item in items]
    return {
        "processed": len(statuses),
        "accepted": sum(1 for s in statuses if s in ("accepted", "warning")),
        "errors": sum(1 for s in statuses if s == "error"),
        "warnings": sum(1 for s in statuses if s == "warning"),
    }


def message_map(data: Mapping[str, Any], what: str) -> dict[int, str]:
    """``data["messages"]`` of the submission: messageId (JSON keys are strings) → item key."""
    raw = data.get("messages")
    if not isinstance(raw, Mapping) or not raw:
        raise ResultError(
            f"the submission names no messages for its {what}, so Amazon's report cannot be "
            "matched to the items"
        )
    mapping: dict[int, str] = {}
    for message_id, key in raw.items():
        try:
            mapping[int(message_id)] = str(key)
        except (TypeError, ValueError):
            raise ResultError(
                f"the submission's message id {message_id!r} is not a number"
            ) from None
    return mapping


def summary_line(what: str, counts: Mapping[str, int]) -> LogLine:
    warned = f" ({counts['warnings']} with warnings)" if counts["warnings"] else ""
    level = "warning" if counts["errors"] else "info"
    return LogLine(
        level=level,
        message=(
            f"{what}: {counts['processed']} item(s), {counts['accepted']} accepted{warned}, "
            f"{counts['errors']} in error"
        ),
    )


def errors_line(items: Iterable[ItemState], what: str) -> LogLine | None:
    """One log line naming the items in error with Amazon's words, or None."""
    errors = [f"{i.key}: {' | '.join(i.messages)}" for i in items if i.status == "error"]
    if not errors:
        return None
    return LogLine(level="warning", message=f"{what}: " + "; ".join(capped(errors)))


def capped(lines: list[str], limit: int = 5) -> list[str]:
    """The first ``limit`` lines, and how many more there were."""
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"… and {len(lines) - limit} more"]
