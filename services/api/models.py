"""Public models of the HTTP API: what callers send and what they get back.

Write models (requests), stored documents (the projection) and these read models are
separate classes, so a field added to the store never leaks out by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from shared.jobs import JobStatus, JobType

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class AccountRef(BaseModel):
    id: str
    name: str | None


class ItemCounts(BaseModel):
    total: int = 0
    pending: int = 0
    accepted: int = 0
    warning: int = 0
    error: int = 0
    canceled: int = 0


class JobRow(BaseModel):
    """One row of the Amazon Jobs table (the manual's columns)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "ps-shop1-000123",
                    "shop_id": "shop1",
                    "account": {"id": "acc-de", "name": "Shop DE"},
                    "job_type": "update_qty",
                    "job_type_label": "Update Products QTY",
                    "status": "done",
                    "status_label": "Done",
                    "created_at": "2026-11-27T10:00:00Z",
                    "updated_at": "2026-11-27T10:03:12Z",
                    "items": {
                        "total": 1,
                        "pending": 0,
                        "accepted": 1,
                        "warning": 0,
                        "error": 0,
                        "canceled": 0,
                    },
                    "cancelable": False,
                }
            ]
        }
    )

    id: str
    shop_id: str
    account: AccountRef
    job_type: JobType
    job_type_label: str
    status: JobStatus
    status_label: str
    created_at: datetime
    updated_at: datetime
    items: ItemCounts
    cancelable: bool


class JobDetail(JobRow):
    data: dict[str, Any]
    seq: int


class JobItemRow(BaseModel):
    key: str
    status: Literal["pending", "accepted", "warning", "error", "canceled"]
    request: dict[str, Any]
    messages: list[str]
    updated_at: datetime


class LogRow(BaseModel):
    at: datetime
    level: Literal["debug", "info", "warning", "error"]
    message: str
    event_type: str


class JobCreate(BaseModel):
    """The body of ``POST /v1/jobs``: a ``JobRequested`` without its envelope."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "job_id": "ps-shop1-000123",
                    "shop_id": "shop1",
                    "account_id": "acc-de",
                    "job_type": "update_qty",
                    "items": [{"sku": "TSHIRT-RED-M", "quantity": 7}],
                }
            ]
        },
    )

    job_id: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$"
    )
    shop_id: str | None = Field(
        default=None,
        min_length=1,
        description="Defaults to the key's shop; admin keys must give it.",
    )
    account_id: str = Field(min_length=1)
    job_type: JobType
    items: list[dict[str, Any]] | None = None
    params: dict[str, Any] | None = None
    priority: int | None = None


class Accepted(BaseModel):
    job_id: str
    status: Literal["requested", "cancel_requested"]


class LwaSecrets(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1, repr=False)
    refresh_token: str = Field(min_length=1, repr=False)


class AccountCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "account_id": "acc-de",
                    "shop_id": "shop1",
                    "name": "Shop DE",
                    "seller_id": "A2EUQ1WTGCTBG2",
                    "region": "EU",
                    "marketplace_ids": ["A1PA6795UKMFR9"],
                    "lwa": {
                        "client_id": "amzn1.application-oa2-client.x",
                        "client_secret": "…",
                        "refresh_token": "Atzr|…",
                    },
                }
            ]
        },
    )

    account_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    shop_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1)
    seller_id: str = Field(min_length=1)
    region: Literal["NA", "EU", "FE"]
    marketplace_ids: list[str] = Field(min_length=1)
    lwa: LwaSecrets


class AccountRow(BaseModel):
    id: str
    shop_id: str
    name: str
    seller_id: str
    region: str
    marketplace_ids: list[str]
    registered_at: datetime | None = None


class ListingRow(BaseModel):
    sku: str
    asin: str | None
    status: str
    quantity: int | None
    price: str | None
    currency: str | None
    last_job_id: str | None
    issues: list[str]
    updated_at: datetime | None = None


class InventoryRowOut(BaseModel):
    sku: str
    asin: str | None
    title: str | None
    quantity: int | None
    price: str | None
    status: str | None
    fulfillment_channel: str | None
    report_id: str
    job_id: str


class OrderLineOut(BaseModel):
    order_item_id: str
    sku: str | None
    asin: str | None
    quantity: int


class OrderRow(BaseModel):
    amazon_order_id: str
    status: str
    purchased_at: datetime | None
    total: str | None
    currency: str | None
    items: list[OrderLineOut]
    job_id: str


class QuotaRow(BaseModel):
    account_id: str
    region: str
    quota_class: str
    tokens: float
    burst: int
    rate_per_s: float
    hourly_cap: int | None
    used_last_hour: int | None
    queue_depth: int
    next_grant_at: datetime | None
    drained_until: datetime | None
    updated_at: datetime


class ReplayRow(BaseModel):
    """One time the letter was sent again, and where the bytes went."""

    id: str
    at: datetime
    topic: str
    partition: int
    offset: int


class DeadLetterRow(BaseModel):
    id: str
    original_topic: str
    partition: int
    offset: int
    key: str | None
    raw_value: str | None
    raw_encoding: str
    error: str
    consumer_group: str
    occurred_at: datetime
    replays: list[ReplayRow] = Field(default_factory=list)
    last_replayed_at: datetime | None = None


class Replayed(BaseModel):
    """Where the original bytes were sent; the replay shows on the letter shortly."""

    id: str
    topic: str
    partition: int
    offset: int


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
