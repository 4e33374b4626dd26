"""``amazon-jobs listing-issues``: what the API answers for an account's listing issues
(``GET /v1/accounts/{id}/listing-issues``) and the table it is shown as. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import Field
from rich.table import Table
from rich.text import Text

from cli.models import ReadModel
from cli.render import NONE, when

SEVERITY_STYLES = {"error": "bold red", "warning": "yellow"}


class ListingIssue(ReadModel):
    severity: str
    code: str | None = None
    message: str
    attribute_names: list[str] = Field(default_factory=list)


class ListingIssues(ReadModel):
    """One listing (SKU on a marketplace) with the issues of Amazon's latest result."""

    sku: str
    marketplace_id: str | None = None
    asin: str | None = None
    status: str
    job_id: str | None = None
    reported_at: datetime | None = None
    issues: list[ListingIssue] = Field(default_factory=list)


def issues_table(account_id: str, rows: Sequence[ListingIssues]) -> Table:
    """A line per issue, the listing's most recently reported first."""
    table = Table(title=f"Listing issues of {account_id}", title_justify="left")
    table.add_column("SKU", no_wrap=True)
    table.add_column("Marketplace", no_wrap=True)
    table.add_column("Severity", no_wrap=True)
    table.add_column("Code", no_wrap=True)
    table.add_column("Issue")
    table.add_column("Job", no_wrap=True)
    table.add_column("Reported", no_wrap=True)
    for row in rows:
        for n, issue in enumerate(row.issues):
            first = n == 0  # the listing's columns once, on its first issue
            where = f" [{', '.join(issue.attribute_names)}]" if issue.attribute_names else ""
            table.add_row(
                row.sku if first else "",
                (row.marketplace_id or NONE) if first else "",
                Text(issue.severity, style=SEVERITY_STYLES.get(issue.severity, "")),
                issue.code or NONE,
                issue.message + where,
                (row.job_id or NONE) if first else "",
                when(row.reported_at) if first else "",
            )
    if not rows:
        table.caption = "no listing has issues"
    return table
