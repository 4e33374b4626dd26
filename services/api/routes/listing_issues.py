"""An account's listing issues: the listings whose latest result from Amazon carried
errors or warnings, with them, newest first (issue 15; shared/listing_issues.py).

One row per listing (SKU and marketplace) rather than per issue: the issues of a listing
come and go together, with the result that reported them. The read is a range of the
``account_issues_newest`` index (account, issues_at descending, _id): a listing without
issues has ``issues_at`` null and lies outside it, so an account of a million clean
listings costs nothing here. Severity, marketplace and SKU narrow the rows of that range.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.api.bodies import StrictJsonRoute
from services.api.deps import Caller, Db, visible_account
from services.api.models import ErrorBody, Page, example
from services.api.pagination import Keyset, read_page

router = APIRouter(prefix="/v1/accounts", tags=["accounts"], route_class=StrictJsonRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 422, 503)
}
NEWEST_ISSUES_FIRST = Keyset(
    (("issues_at", datetime), ("_id", str)), descending=True, fixed=("account_id",)
)


class IssueOut(BaseModel):
    model_config = example(
        {
            "severity": "warning",
            "code": "99040",
            "message": "The price 250.00 is far from the listing's last price 25.00.",
            "attribute_names": ["purchasable_offer"],
        }
    )

    severity: Literal["error", "warning"]
    code: str | None = Field(description="Amazon's code for the issue, when it gave one.")
    message: str
    attribute_names: list[str] = Field(description="The listing attributes it is about.")


class ListingIssuesRow(BaseModel):
    model_config = example(
        {
            "sku": "TSHIRT-RED-M",
            "marketplace_id": "A1PA6795UKMFR9",
            "asin": "B0CX23V2ZK",
            "status": "error",
            "job_id": "ps-shop1-000123",
            "reported_at": "2026-11-27T10:03:12Z",
            "issues": [
                {
                    "severity": "error",
                    "code": "90220",
                    "message": "'[merchant_suggested_asin]' is required but not supplied.",
                    "attribute_names": ["merchant_suggested_asin"],
                }
            ],
        }
    )

    sku: str
    marketplace_id: str | None
    asin: str | None
    status: str = Field(description="The listing's sync state now (it may be pending again).")
    job_id: str | None = Field(description="The job whose result reported these issues.")
    reported_at: datetime = Field(description="When that result was read.")
    issues: list[IssueOut]


def _row(doc: dict[str, Any], home: str | None) -> ListingIssuesRow:
    return ListingIssuesRow(
        sku=doc["sku"],
        marketplace_id=doc.get("marketplace_id") or home,
        asin=doc.get("asin"),
        status=doc["status"],
        job_id=doc.get("issues_job_id"),
        reported_at=doc["issues_at"],
        issues=[IssueOut(**issue) for issue in doc.get("reported_issues") or []],
    )


@router.get("/{account_id}/listing-issues", response_model=Page[ListingIssuesRow], responses=ERRORS)
async def list_listing_issues(
    account_id: str,
    db: Db,
    who: Caller,
    severity: Annotated[
        Literal["error", "warning"] | None,
        Query(description="Only listings with at least one issue of this severity."),
    ] = None,
    marketplace_id: Annotated[
        str | None, Query(description="Only the listings of this marketplace.")
    ] = None,
    sku: Annotated[str | None, Query(description="Only this SKU's listings.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: str | None = None,
) -> Page[ListingIssuesRow]:
    """The account's listings with errors or warnings in Amazon's latest result for them,
    the most recently reported first. A later clean result takes a listing off the list."""
    account = await visible_account(db, who, account_id)
    home = (account.get("marketplace_ids") or [None])[0]
    query: dict[str, Any] = {"account_id": account_id, "issues_at": {"$ne": None}}
    if severity is not None:
        query["issue_severities"] = severity
    if marketplace_id is not None:
        # A row of before listings had a marketplace stands for the account's first.
        query["marketplace_id"] = (
            {"$in": [marketplace_id, None]} if marketplace_id == home else marketplace_id
        )
    if sku is not None:
        query["sku"] = sku
    docs, next_cursor = await read_page(db.listings, query, NEWEST_ISSUES_FIRST, limit, cursor)
    return Page[ListingIssuesRow](data=[_row(d, home) for d in docs], next_cursor=next_cursor)
