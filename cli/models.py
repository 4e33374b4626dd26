"""What the HTTP API answers (docs/design.md §6), as the CLI reads it.

Read models only: they ignore fields they do not know, so a newer API does not break an
older CLI. Job types and statuses stay plain strings here (an unknown one still shows, by
its wire name); their labels come from :mod:`shared.jobs`, where they are declared once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from shared.jobs import JobStatus

T = TypeVar("T")

IN_FLIGHT = frozenset({JobStatus.CREATED, JobStatus.PROCESSING, JobStatus.WAITING_FOR_RESULT})


class ReadModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Page(ReadModel, Generic[T]):
    """Every list endpoint: ``{"data": [...], "next_cursor": "…" or null}``."""

    data: list[T]
    next_cursor: str | None = None


class AccountRef(ReadModel):
    id: str = Field(validation_alias=AliasChoices("id", "account_id"))
    name: str | None = None


class ItemCounts(ReadModel):
    """How a job's items stand; ``total`` defaults to the sum of the others."""

    total: int = 0
    pending: int = 0
    accepted: int = 0
    warning: int = 0
    error: int = 0
    canceled: int = 0

    @model_validator(mode="before")
    @classmethod
    def _total(cls, value: Any) -> Any:
        if isinstance(value, dict) and "total" not in value:
            value = {**value, "total": sum(v for v in value.values() if isinstance(v, int))}
        return value

    @property
    def processed(self) -> int:
        """Items Amazon has answered for, whichever way."""
        return max(self.total - self.pending, 0)


class JobRow(ReadModel):
    """One row of the jobs table: the manual's columns plus item counts."""

    id: str = Field(validation_alias=AliasChoices("id", "job_id"))
    account: AccountRef
    job_type: str
    status: str
    created_at: datetime
    updated_at: datetime
    items: ItemCounts = Field(
        default_factory=ItemCounts, validation_alias=AliasChoices("item_counts", "items")
    )
    shop_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _flat_account(cls, value: Any) -> Any:
        """Accept ``account: {id, name}``, ``account: "id"`` or flat ``account_id``/``_name``."""
        if not isinstance(value, dict):
            return value
        value = dict(value)
        account = value.get("account")
        if isinstance(account, str):
            value["account"] = {"id": account, "name": value.get("account_name")}
        elif account is None and "account_id" in value:
            value["account"] = {"id": value["account_id"], "name": value.get("account_name")}
        if "item_counts" not in value and isinstance(value.get("items"), list):
            counts: dict[str, int] = {}
            for item in value.pop("items"):
                status = item.get("status", "pending") if isinstance(item, dict) else "pending"
                counts[status] = counts.get(status, 0) + 1
            value["item_counts"] = counts
        return value

    @property
    def in_flight(self) -> bool:
        return self.status in IN_FLIGHT


class JobDetail(JobRow):
    data: dict[str, Any] = Field(default_factory=dict)
    retry_of: str | None = None  # the job this one retries
    retried_by: list[str] = Field(default_factory=list)  # the jobs that retry this one


class JobItem(ReadModel):
    key: str = Field(validation_alias=AliasChoices("key", "sku", "amazon_order_id"))
    status: str = "pending"
    request: dict[str, Any] = Field(default_factory=dict)
    messages: list[str] = Field(default_factory=list)


class LogEntry(ReadModel):
    at: datetime | None = Field(default=None, validation_alias=AliasChoices("at", "occurred_at"))
    level: str = "info"
    message: str


class JobAccepted(ReadModel):
    """202 of ``POST /v1/jobs``."""

    job_id: str = Field(validation_alias=AliasChoices("job_id", "id"))


class RetryAccepted(ReadModel):
    """202 of ``POST /v1/jobs/{id}/retry``."""

    job_id: str
    retry_of: str


class BulkResult(ReadModel):
    job_id: str
    outcome: str  # requested | refused
    new_job_id: str | None = None
    reason: str | None = None


class BulkResults(ReadModel):
    """200 of ``POST /v1/jobs/bulk/cancel`` and ``/bulk/retry``."""

    matched: int
    results: list[BulkResult]


class QuotaKey(ReadModel):
    seller_id: str
    region: str
    quota_class: str

    @classmethod
    def parse(cls, value: Any) -> Any:
        """``"A2SELLER|EU|feed_submit"`` (shared.topics.quota_key) or the object itself."""
        if isinstance(value, str) and value.count("|") == 2:
            seller_id, region, quota_class = value.split("|")
            return {"seller_id": seller_id, "region": region, "quota_class": quota_class}
        return value


class Bucket(ReadModel):
    """One quota key's bucket, as the throttle last reported it."""

    quota_key: QuotaKey
    tokens: float
    burst: int
    rate_per_s: float = Field(validation_alias=AliasChoices("rate_per_s", "restore_rate"))
    hourly_cap: int | None = None
    used_last_hour: int | None = None
    queue_depth: int = 0
    next_grant_at: datetime | None = None
    drained_until: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _key(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if "quota_key" in value:
                value = {**value, "quota_key": QuotaKey.parse(value["quota_key"])}
            else:
                value = {**value, "quota_key": value}
        return value


class DeadLetter(ReadModel):
    id: str = Field(validation_alias=AliasChoices("id", "dead_letter_id", "event_id"))
    original_topic: str
    partition: int
    offset: int
    key: str | None = None
    error: str
    consumer_group: str | None = None
    occurred_at: datetime | None = None
    replayed_at: datetime | None = None
    # How the original value is kept: "copy" (raw_value), "reference" (only its size,
    # SHA-256 and first bytes here; a replay reads it back from its topic), "none".
    raw_stored: str = "copy"
    raw_value: str | None = None
    raw_encoding: str = "utf-8"
    raw_size: int | None = None
    raw_sha256: str | None = None
    raw_head: str | None = None


class DeadLetterReplayed(ReadModel):
    """202 of ``POST /v1/dead-letters/{id}/replay``: where the original went."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    raw_stored: str | None = None
    size: int | None = None


class Account(ReadModel):
    account_id: str = Field(validation_alias=AliasChoices("account_id", "id"))
    shop_id: str
    name: str
    seller_id: str | None = None
    region: str | None = None
    marketplace_ids: list[str] = Field(default_factory=list)


class Schedule(ReadModel):
    schedule_id: str = Field(validation_alias=AliasChoices("schedule_id", "id"))
    shop_id: str
    account_id: str
    job_type: str
    interval_s: int
    paused: bool = False
    params: dict[str, Any] | None = None
    anchor: datetime | None = None
    created_at: datetime | None = None


class Webhook(ReadModel):
    webhook_id: str = Field(validation_alias=AliasChoices("webhook_id", "id"))
    shop_id: str
    url: str
    events: list[str]
    job_types: list[str] | None = None
    created_at: datetime | None = None
    secret: str | None = None  # only in the answer that creates it


class DeliveryAttempt(ReadModel):
    delivery_id: str
    job_id: str
    event: str
    attempt: int
    at: datetime
    status_code: int | None = None
    error: str | None = None
    outcome: str
    next_attempt_at: datetime | None = None


class LwaCredentials(BaseModel):
    """Secrets: sent once to the API, never printed (``repr`` hides them too)."""

    model_config = ConfigDict(frozen=True)
    client_id: str
    client_secret: str = Field(repr=False)
    refresh_token: str = Field(repr=False)


class NewAccount(BaseModel):
    """Body of ``POST /v1/accounts``."""

    model_config = ConfigDict(frozen=True)
    account_id: str
    shop_id: str
    name: str
    seller_id: str
    region: str
    marketplace_ids: list[str]
    lwa: LwaCredentials
