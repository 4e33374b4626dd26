"""The read models of the charts' routes (routes/stats.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.api.models import example


class HourCount(BaseModel):
    model_config = example(
        {"hour": "2026-12-03T10:00:00Z", "counts": {"created": 12, "done": 9, "error": 1}}
    )

    hour: datetime = Field(description="The hour's start (UTC).")
    counts: dict[str, int] = Field(
        description="Jobs that reached each status in the hour (statuses without any "
        "are left out).",
        examples=[{"created": 12, "done": 9, "error": 1}],
    )


class JobHours(BaseModel):
    model_config = example(
        {
            "account_id": "acc-de",
            "hours": [
                {"hour": "2026-12-03T10:00:00Z", "counts": {"created": 12, "done": 9, "error": 1}}
            ],
        }
    )

    account_id: str | None = Field(description="The account, or null: every account shown.")
    hours: list[HourCount] = Field(description="Every hour of the range, oldest first.")


class QuotaPoint(BaseModel):
    model_config = example({"at": "2026-12-03T10:41:00Z", "tokens": 3.5, "queue_depth": 2})

    at: datetime = Field(description="The sample's minute (UTC): the bucket then.")
    tokens: float
    queue_depth: int


class QuotaSeries(BaseModel):
    model_config = example(
        {
            "quota_class": "feed_submit",
            "burst": 15,
            "points": [{"at": "2026-12-03T10:41:00Z", "tokens": 3.5, "queue_depth": 2}],
        }
    )

    quota_class: str
    burst: int = Field(description="The bucket's size in the latest sample.")
    points: list[QuotaPoint] = Field(description="One a minute while in use, oldest first.")


class QuotaHistory(BaseModel):
    model_config = example(
        {
            "account_id": "acc-de",
            "seller_id": "A2EUQ1WTGCTBG2",
            "region": "EU",
            "series": [
                {
                    "quota_class": "feed_submit",
                    "burst": 15,
                    "points": [{"at": "2026-12-03T10:41:00Z", "tokens": 3.5, "queue_depth": 2}],
                }
            ],
        }
    )

    account_id: str
    seller_id: str = Field(description="Every account of the seller shares these buckets.")
    region: str
    series: list[QuotaSeries]
