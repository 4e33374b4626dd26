"""What the page's charts draw: jobs per hour by status, and an account's quota buckets
over time (docs/design.md §24). Both read ranges of small indexed collections the
projector keeps (services/api/stats.py), never the jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.api import stats
from services.api.bodies import StrictJsonRoute
from services.api.deps import Caller, Db, visible_account
from services.api.models import ErrorBody
from services.api.stats_models import JobHours, QuotaHistory

router = APIRouter(prefix="/v1/stats", tags=["stats"], route_class=StrictJsonRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 422, 503)
}
# At most a day of minute samples of each of a seller's classes (11 x 1,440).
MAX_QUOTA_SAMPLES = 20_000


@router.get("/jobs", response_model=JobHours, responses=ERRORS)
async def jobs_per_hour(
    db: Db,
    who: Caller,
    account_id: Annotated[str | None, Query(min_length=1)] = None,
    hours: Annotated[int, Query(ge=1, le=stats.STATS_MAX_HOURS)] = 24,
) -> JobHours:
    """How many jobs reached each status in each of the last ``hours`` hours (the
    current one included), of one account or of every account the caller sees."""
    since = stats.hour_of(datetime.now(UTC)) - timedelta(hours=hours - 1)
    query: dict[str, Any] = {"hour": {"$gte": since}}
    if account_id is not None:
        await visible_account(db, who, account_id)
        query["account_id"] = account_id
    elif not who.is_admin:
        query["shop_id"] = who.shop_id
    docs = [d async for d in db.job_hours.find(query, {"hour": 1, "counts": 1})]
    return JobHours(account_id=account_id, hours=stats.hour_series(docs, since, hours))


@router.get("/quotas", response_model=QuotaHistory, responses=ERRORS)
async def quota_history(
    db: Db,
    who: Caller,
    account_id: Annotated[str, Query(min_length=1)],
    hours: Annotated[int, Query(ge=1, le=stats.QUOTA_HISTORY_HOURS)] = 24,
) -> QuotaHistory:
    """The tokens and queue of each quota bucket of the account's seller (shared by its
    accounts), one sample a minute while the bucket was in use."""
    account = await visible_account(db, who, account_id)
    since = datetime.now(UTC) - timedelta(hours=hours)
    query = {"seller_id": account["seller_id"], "region": account["region"], "at": {"$gte": since}}
    cursor = db.quota_history.find(query).sort("at", 1).limit(MAX_QUOTA_SAMPLES)
    docs = [d async for d in cursor]
    return QuotaHistory(
        account_id=account_id,
        seller_id=account["seller_id"],
        region=account["region"],
        series=stats.quota_series(docs),
    )
