"""A listing's current issues: the errors and warnings of the latest result Amazon gave
for it, so a merchant can fix the product without opening the job (issue 15).

"Current" is one rule: each result for a listing (a feed's processing report, a patch's
answer) replaces the listing's issues with its own, and a clean result leaves none. What
is not a result keeps them: a job marking the listing pending, a cancel putting it back,
a job that failed as a whole before Amazon said anything about the listing.
Pure; ``shared.listing_sync`` and the submitter build listing states with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.events import ItemState, ListingIssue, ListingState
from shared.formats.processing_report import Issue, Severity

_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning"}


def from_report(issues: Iterable[Issue]) -> list[ListingIssue]:
    """A processing report's issues for one item (INFO is not something to fix)."""
    return [
        ListingIssue(
            severity=_SEVERITY[issue.severity],
            code=issue.code,
            message=issue.message,
            attribute_names=[issue.attribute_name] if issue.attribute_name else [],
        )
        for issue in issues
        if issue.severity in _SEVERITY
    ]


def from_item(item: ItemState) -> list[ListingIssue]:
    """The item's messages as issues when no structured ones are at hand (a patch's
    answer, an item the feed did not carry): an item in error or with warnings is never
    shown without a reason."""
    if item.status not in ("error", "warning"):
        return []
    return [ListingIssue(severity=item.status, message=text) for text in item.messages]


def reported(issues: list[ListingIssue], job_id: str, at: datetime) -> dict[str, Any]:
    """ListingState fields of a result: its issues, and which job read them, when."""
    if not issues:
        return {"reported_issues": [], "issues_job_id": None, "issues_at": None}
    return {"reported_issues": issues, "issues_job_id": job_id, "issues_at": at}


def kept(listing: ListingState | None) -> dict[str, Any]:
    """ListingState fields that carry ``listing``'s issues over to a state that is not a
    result (pending, restored, stuck)."""
    if listing is None:
        return {}
    return {
        "reported_issues": listing.reported_issues,
        "issues_job_id": listing.issues_job_id,
        "issues_at": listing.issues_at,
    }
