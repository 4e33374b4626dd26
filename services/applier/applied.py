"""What applying one result document comes to: item outcomes, records to publish, counts.

Plain data, built by the pure modules ``listings``, ``fulfillment`` and ``inventory`` and
turned into Kafka messages and a ``JobDone`` by the service shell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from shared.events import InventoryRow, ItemState, ItemStatus, ListingState, LogLine
from shared.job_state import JobState
from shared.jobs import JobType


class ResultError(ValueError):
    """The result cannot be applied (malformed document, missing submission data); the
    job fails with this message, which is written for the merchant."""


@dataclass(frozen=True)
class Applied:
    items: list[ItemState]  # the final state of every item the job carries
    counts: dict[str, int]  # JobDone.data (DoneData): processed, accepted, errors, warnings…
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


def message_map(state: JobState, what: str) -> dict[int, str]:
    """The feed's messageId → item key. A feed numbers its messages by the items' ordinals
    in the job (docs/design.md §11); a send_products feed carries only the items matched to
    an ASIN. Jobs submitted before that carry the map in ``data.messages``."""
    raw = state.facts.messages
    if raw is None:
        matched_only = state.job_type is JobType.SEND_PRODUCTS
        mapping = {
            n: key
            for n, (key, item) in enumerate(state.items.items(), start=1)
            if not matched_only or item.asin is not None
        }
        if not mapping:
            raise ResultError(
                f"the job has no items its {what} carried, so Amazon's report cannot be "
                "matched to them"
            )
        return mapping
    if not raw:
        raise ResultError(
            f"the submission names no messages for its {what}, so Amazon's report cannot be "
            "matched to the items"
        )
    legacy: dict[int, str] = {}
    for message_id, key in raw.items():
        try:
            legacy[int(message_id)] = str(key)
        except (TypeError, ValueError):
            raise ResultError(
                f"the submission's message id {message_id!r} is not a number"
            ) from None
    return legacy


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


def decide_items(
    state: JobState,
    outcome_of: Mapping[str, tuple[ItemStatus, list[str]]],
    missing: str,
) -> tuple[list[ItemState], list[ItemState]]:
    """Every item's final state, and those this result decided.

    ``outcome_of`` maps an item key to its status and Amazon's messages; a pending item it
    does not name was not in the feed (``missing`` says so). Items decided before Amazon
    saw the feed (e.g. no ASIN found) keep their state.
    """
    final: list[ItemState] = []
    decided: list[ItemState] = []
    for item in state.items.values():
        if item.status != "pending":
            final.append(item)
            continue
        status, messages = outcome_of.get(item.key, ("error", [missing]))
        item = item.model_copy(update={"status": status, "messages": messages})
        final.append(item)
        decided.append(item)
    return final, decided


def warning_lines(*parts: tuple[str, list[str]]) -> list[LogLine]:
    """One warning line per non-empty part: its title, then its first few entries."""
    return [
        LogLine(level="warning", message=f"{title}: " + "; ".join(capped(entries)))
        for title, entries in parts
        if entries
    ]


def errors_of(items: Iterable[ItemState]) -> list[str]:
    """The items in error with Amazon's words, for a log line."""
    return [f"{i.key}: {' | '.join(i.messages)}" for i in items if i.status == "error"]


def capped(lines: list[str], limit: int = 5) -> list[str]:
    """The first ``limit`` lines, and how many more there were."""
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"… and {len(lines) - limit} more"]
