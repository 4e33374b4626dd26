"""The read models of the charts' routes (routes/stats.py)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class HourCount(BaseModel):
    hour: datetime = Field(description="The hour's start (UTC).")
    counts: dict[str, int] = Field(
        description="Jobs that reached each status in the hour (statuses without any "
        "are left out).",
        examples=[{"created": 12, "done": 9, "error": 1}],
    )


class JobHours(BaseModel):
    account_id: str | None = Field(description="The account, or null: every account shown.")
    hours: list[HourCount] = Field(description="Every hour of the range, oldest first.")


class QuotaPoint(BaseModel):
    at: datetime = Field(description="The sample's minute (UTC): the bucket then.")
    tokens: float
    queue_depth: int


class QuotaSeries(BaseModel):
    quota_class: str
    burst: int = Field(description="The bucket's size in the latest sample.")
    points: list[QuotaPoint] = Field(description="One a minute while in use, oldest first.")


class QuotaHistory(BaseModel):
    account_id: str
    seller_id: str = Field(description="Every account of the seller shares these buckets.")
    region: str
    series: list[QuotaSeries]
