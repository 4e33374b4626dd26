"""Public models of the HTTP API: what callers send and what they get back.

Write models (requests), stored documents (the projection) and these read models are
separate classes, so a field added to the store never leaks out by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from shared.jobs import JobStatus, JobType
from shared.limits import MAX_ITEMS, Identifier, JobId, Name, Priority, Secret
from shared.schedules import MAX_INTERVAL_S, MIN_INTERVAL_S

T = TypeVar("T")
# How many jobs one bulk action may act on (docs/design.md §6): each is a read and a
# message, and the answer lists every one.
MAX_BULK_JOBS = 1_000


def _iso_only(value: object) -> object:
    """Dates as ISO-8601 text only: pydantic would read "0.5" in a query, or 0.5 in a
    JSON body, as a Unix time."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value
    raise ValueError("expected an ISO-8601 date-time such as 2026-11-27T10:00:00Z")


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_only)]


def example(value: dict[str, Any]) -> ConfigDict:
    """A model's example, shown in /openapi.json (and tested to fit the model's schema)."""
    return ConfigDict(json_schema_extra={"examples": [value]})


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end.",
        examples=["WyIyMDI2LTExLTI3VDEwOjAwOjAwKzAwOjAwIiwgInBzLXNob3AxLTAwMDEyMyJd", None],
    )


class ErrorDetail(BaseModel):
    model_config = example({"code": "not_found", "message": "job 'ps-shop1-000123' not found"})

    code: str
    message: str


class ErrorBody(BaseModel):
    model_config = example(
        {
            "error": {
                "code": "invalid",
                "message": "status: Input should be 'reserved', 'created', …",
            }
        }
    )

    error: ErrorDetail


class AccountRef(BaseModel):
    model_config = example({"id": "acc-de", "name": "Shop DE"})

    id: str
    name: str | None


class ItemCounts(BaseModel):
    model_config = example(
        {"total": 3, "pending": 0, "accepted": 2, "warning": 0, "error": 1, "canceled": 0}
    )

    total: int = 0
    pending: int = 0
    accepted: int = 0
    warning: int = 0
    error: int = 0
    canceled: int = 0


JOB_ROW_EXAMPLE: dict[str, Any] = {
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


class JobRow(BaseModel):
    """One row of the Amazon Jobs table (the manual's columns)."""

    model_config = example(JOB_ROW_EXAMPLE)

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
    """A row of the table, plus what the job's events recorded (``data``) and how many
    status changes it has been through (``seq``)."""

    model_config = example(
        {
            **JOB_ROW_EXAMPLE,
            "data": {"feed_id": "50012345", "processing_status": "DONE", "accepted": 1},
            "seq": 5,
            "retry_of": None,
            "retried_by": ["api-shop1-4f1c2a9b7e01"],
        }
    )

    data: dict[str, Any]
    seq: int
    retry_of: str | None = Field(
        default=None, description="The job this one retries (POST /v1/jobs/{id}/retry)."
    )
    retried_by: list[str] = Field(
        default_factory=list, description="The jobs that retry this one, oldest first."
    )


class JobItemRow(BaseModel):
    model_config = example(
        {
            "key": "TSHIRT-RED-M",
            "status": "error",
            "request": {"sku": "TSHIRT-RED-M", "quantity": 7},
            "messages": ["99022: The SKU does not match any listing of this seller"],
            "updated_at": "2026-11-27T10:03:12Z",
        }
    )

    key: str
    status: Literal["pending", "accepted", "warning", "error", "canceled"]
    request: dict[str, Any]
    messages: list[str]
    updated_at: datetime


class LogRow(BaseModel):
    model_config = example(
        {
            "at": "2026-11-27T10:02:00Z",
            "level": "info",
            "message": "feed 50012345 submitted with 1 message",
            "event_type": "JobSubmitted",
        }
    )

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

    job_id: JobId | None = Field(
        default=None, description="Yours to choose, so that a retry is not a second job."
    )
    shop_id: Identifier | None = Field(
        default=None, description="Defaults to the key's shop; admin keys must give it."
    )
    account_id: Identifier
    job_type: JobType
    # Checked per job type (shared.job_items) for the message that names the field.
    items: list[dict[str, Any]] | None = Field(
        default=None,
        max_length=MAX_ITEMS,
        description=f"At most {MAX_ITEMS} (Amazon's maximum per feed); above it a 422.",
    )
    params: dict[str, Any] | None = None
    priority: Priority | None = None
    marketplace_id: Identifier | None = Field(
        default=None,
        description="One marketplace of the account (e.g. A13V1IB3VIYZZH for amazon.fr); a "
        "marketplace the account does not have is a 422. Without it, a listings job or an "
        "inventory report is for every marketplace of the account: one job per marketplace "
        "(a JSON_LISTINGS_FEED and a report are for one), the first keeping job_id and "
        "each other named <job_id>@<marketplace>-<n>. Orders jobs are for the account.",
    )


class Accepted(BaseModel):
    model_config = example({"job_id": "ps-shop1-000123", "status": "requested"})

    job_id: str
    status: Literal["requested", "cancel_requested"]


class RetryCreate(BaseModel):
    """The optional body of ``POST /v1/jobs/{id}/retry``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"job_id": "r1"}]})

    job_id: JobId | None = Field(
        default=None,
        description="The new job's id, yours to choose so that a repeat of the call is not "
        "a second retry; by default a new one.",
    )


class RetryAccepted(BaseModel):
    model_config = example(
        {"job_id": "api-shop1-4f1c2a9b7e01", "retry_of": "ps-shop1-000123", "status": "requested"}
    )

    job_id: str = Field(description="The new job.")
    retry_of: str
    status: Literal["requested"]


class BulkFilter(BaseModel):
    """The filters of ``GET /v1/jobs``: every job they match (at most 1,000)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "account_id": "acc-de",
                    "job_type": "update_qty",
                    "status": "created",
                    "created_from": "2026-11-27T00:00:00Z",
                    "created_to": "2026-11-28T00:00:00Z",
                }
            ]
        },
    )

    account_id: Identifier | None = None
    job_type: JobType | None = None
    status: JobStatus | None = None
    created_from: IsoDateTime | None = None
    created_to: IsoDateTime | None = None


class BulkAction(BaseModel):
    """The body of ``POST /v1/jobs/bulk/cancel`` and ``/bulk/retry``: jobs by id, or every
    job the list's filters match; at most 1,000 either way."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"job_ids": ["ps-shop1-000123", "ps-shop1-000124"]},
                {"filter": {"account_id": "acc-de", "status": "created"}},
                {"filter": {"status": "error"}, "request_id": "retry-errors-2026-12-02"},
            ]
        },
    )

    job_ids: list[JobId] | None = Field(default=None, min_length=1, max_length=MAX_BULK_JOBS)
    filter: BulkFilter | None = None
    # The caller's id for this call (bulk retry): the new jobs' ids are made from it, so
    # sending the same call again (after a timeout, a 503) retries nothing twice.
    request_id: Identifier | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if (self.job_ids is None) == (self.filter is None):
            raise ValueError("give either job_ids or filter")
        return self


class BulkResult(BaseModel):
    model_config = example(
        {
            "job_id": "ps-shop1-000123",
            "outcome": "requested",
            "new_job_id": "api-shop1-4f1c2a9b7e01",
        }
    )

    job_id: str
    outcome: Literal["requested", "refused"]
    new_job_id: str | None = Field(default=None, description="A retry's new job.")
    reason: str | None = Field(default=None, description="Why it was refused.")


class BulkResults(BaseModel):
    model_config = example(
        {
            "matched": 2,
            "results": [
                {"job_id": "ps-shop1-000123", "outcome": "requested"},
                {
                    "job_id": "ps-shop1-000124",
                    "outcome": "refused",
                    "reason": "the job is already done",
                },
            ],
        }
    )

    matched: int = Field(description="How many jobs the ids or the filter named.")
    results: list[BulkResult]


class LwaSecrets(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "client_id": "amzn1.application-oa2-client.x",
                    "client_secret": "amzn1.oa2-cs.v1.x",
                    "refresh_token": "Atzr|x",
                }
            ]
        },
    )
    client_id: Secret
    client_secret: Secret = Field(repr=False)
    refresh_token: Secret = Field(repr=False)


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
                        "client_secret": "amzn1.oa2-cs.v1.x",
                        "refresh_token": "Atzr|x",
                    },
                }
            ]
        },
    )

    # The same bounds as AccountRegistered: what passes here makes a valid event.
    account_id: Identifier
    shop_id: Identifier
    name: Name
    seller_id: Identifier
    region: Literal["NA", "EU", "FE"]
    marketplace_ids: list[Identifier] = Field(min_length=1, max_length=50)
    lwa: LwaSecrets


class AccountRow(BaseModel):
    model_config = example(
        {
            "id": "acc-de",
            "shop_id": "shop1",
            "name": "Shop DE",
            "seller_id": "A2EUQ1WTGCTBG2",
            "region": "EU",
            "marketplace_ids": ["A1PA6795UKMFR9"],
            "registered_at": "2026-11-27T09:00:00Z",
        }
    )

    id: str
    shop_id: str
    name: str
    seller_id: str
    region: str
    marketplace_ids: list[str]
    registered_at: datetime | None = None


class ListingRow(BaseModel):
    model_config = example(
        {
            "sku": "TSHIRT-RED-M",
            "asin": "B0CX23V2ZK",
            "status": "active",
            "quantity": 7,
            "price": "19.99",
            "currency": "EUR",
            "last_job_id": "ps-shop1-000123",
            "issues": [],
            "updated_at": "2026-11-27T10:03:12Z",
            "marketplace_id": "A1PA6795UKMFR9",
        }
    )

    sku: str
    marketplace_id: str | None = Field(
        default=None, description="The marketplace of this row: a SKU has one per marketplace."
    )
    asin: str | None
    status: str
    quantity: int | None
    price: str | None
    currency: str | None
    last_job_id: str | None
    issues: list[str]
    updated_at: datetime | None = None


class InventoryRowOut(BaseModel):
    model_config = example(
        {
            "sku": "TSHIRT-RED-M",
            "asin": "B0CX23V2ZK",
            "title": "T-shirt red M",
            "quantity": 7,
            "price": "19.99",
            "status": "Active",
            "fulfillment_channel": "DEFAULT",
            "report_id": "50012345",
            "job_id": "ps-shop1-000124",
            "marketplace_id": "A1PA6795UKMFR9",
        }
    )

    sku: str
    marketplace_id: str | None = Field(
        default=None, description="The marketplace whose report listed the row."
    )
    asin: str | None
    title: str | None
    quantity: int | None
    price: str | None
    status: str | None
    fulfillment_channel: str | None
    report_id: str
    job_id: str


class OrderLineOut(BaseModel):
    model_config = example(
        {
            "order_item_id": "12345678901234",
            "sku": "TSHIRT-RED-M",
            "asin": "B0CX23V2ZK",
            "quantity": 1,
        }
    )

    order_item_id: str
    sku: str | None
    asin: str | None
    quantity: int


class OrderRow(BaseModel):
    model_config = example(
        {
            "amazon_order_id": "028-1234567-1234567",
            "status": "Unshipped",
            "purchased_at": "2026-11-27T08:15:00Z",
            "total": "19.99",
            "currency": "EUR",
            "items": [
                {
                    "order_item_id": "12345678901234",
                    "sku": "TSHIRT-RED-M",
                    "asin": "B0CX23V2ZK",
                    "quantity": 1,
                }
            ],
            "job_id": "ps-shop1-000125",
        }
    )

    amazon_order_id: str
    status: str
    purchased_at: datetime | None
    total: str | None
    currency: str | None
    items: list[OrderLineOut]
    job_id: str


class QuotaRow(BaseModel):
    model_config = example(
        {
            "seller_id": "A2EUQ1WTGCTBG2",
            "region": "EU",
            "quota_class": "report_request",
            "tokens": 0.25,
            "burst": 15,
            "rate_per_s": 0.016667,
            "hourly_cap": 60,
            "used_last_hour": 60,
            "queue_depth": 2,
            "next_grant_at": "2026-11-27T10:45:00Z",
            "drained_until": "2026-11-27T10:04:30Z",
            "updated_at": "2026-11-27T10:03:59Z",
        }
    )

    seller_id: str  # Amazon counts per selling partner: every account of it shares the row
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

    model_config = example(
        {
            "id": "4f1c2a9e-6b1d-4c55-9d3e-0c7b1f2a3d4e",
            "at": "2026-11-27T11:00:00Z",
            "topic": "prestashop.catalog-events",
            "partition": 3,
            "offset": 1043,
        }
    )

    id: str
    at: datetime
    topic: str
    partition: int
    offset: int


class DeadLetterRow(BaseModel):
    """A message that could not be processed. Its original value is copied in
    ``raw_value`` when it is small (``raw_stored`` "copy"); a larger one is only referred
    to ("reference": ``raw_size``, ``raw_sha256`` and its first bytes in ``raw_head``) and a
    replay reads it back from its topic; "none" is a tombstone (no value)."""

    model_config = example(
        {
            "id": "9a1e5f0c-2b7d-4e8f-a1c3-5d6e7f8a9b0c",
            "original_topic": "prestashop.catalog-events",
            "partition": 3,
            "offset": 1021,
            "key": "shop1",
            "raw_value": '{"event_type": ',
            "raw_encoding": "utf-8",
            "raw_stored": "copy",
            "raw_size": 15,
            "raw_sha256": "cc75c8d8a4468691bc6ea5eafe8732470a779d69bf0a4b2deffd65e5648b2ab0",
            "raw_head": None,
            "error": "malformed JSON: Expecting value at line 1 column 16",
            "consumer_group": "amazon-jobs-submitter",
            "occurred_at": "2026-11-27T10:30:00Z",
            "replays": [],
            "last_replayed_at": None,
        }
    )

    id: str
    original_topic: str
    partition: int
    offset: int
    key: str | None
    raw_value: str | None = Field(description="The original value, when copied.")
    raw_encoding: str = Field(
        description="How raw_value (or raw_head) is written: utf-8 or base64."
    )
    raw_stored: Literal["copy", "reference", "none"] = Field(
        default="copy", description="How the original value is kept: copy, reference, none."
    )
    raw_size: int | None = Field(default=None, description="Bytes of the original value.")
    raw_sha256: str | None = Field(default=None, description="SHA-256 of the original value.")
    raw_head: str | None = Field(
        default=None, description="The first 2 KiB of a referenced original (raw_encoding)."
    )
    error: str
    consumer_group: str
    occurred_at: datetime
    replays: list[ReplayRow] = Field(default_factory=list)
    last_replayed_at: datetime | None = None


class Replayed(BaseModel):
    """Where the original bytes were sent; the replay shows on the letter shortly."""

    model_config = example(
        {
            "id": "9a1e5f0c-2b7d-4e8f-a1c3-5d6e7f8a9b0c",
            "topic": "prestashop.catalog-events",
            "partition": 3,
            "offset": 1043,
            "raw_stored": "reference",
            "size": 1000000,
        }
    )

    id: str
    topic: str
    partition: int
    offset: int
    raw_stored: Literal["copy", "reference", "none"] = Field(
        description="Where the bytes came from: the letter's copy, or its topic (reference)."
    )
    size: int | None = Field(description="Bytes sent again (null: a tombstone).")


class Health(BaseModel):
    model_config = example({"status": "ok", "checks": {"mongodb": "ok", "kafka": "ok"}})

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


# The schema carries the bounds common to every scheduled type (the route checks the
# type's own minimum); strict, so that "900" or 0.0 is refused, not read as 900 or False.
IntervalS = Annotated[int, Field(ge=min(MIN_INTERVAL_S.values()), le=MAX_INTERVAL_S, strict=True)]


class ScheduleCreate(BaseModel):
    """The body of ``POST /v1/schedules``: a recurring orders import or inventory report."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"account_id": "acc-de", "job_type": "orders_import", "interval_s": 900},
                {
                    "account_id": "acc-de",
                    "job_type": "inventory_report",
                    "interval_s": 3600,
                    "params": {"report_type": "GET_MERCHANT_LISTINGS_ALL_DATA"},
                },
            ]
        },
    )

    account_id: Identifier
    job_type: Literal["orders_import", "inventory_report"]
    interval_s: IntervalS = Field(
        description="Seconds between runs; at least 900 for orders_import and for "
        "inventory_report (what the seller's quota allows), at most 31 days."
    )
    params: dict[str, Any] | None = Field(
        default=None,
        description="The job's params: `report_type` of a report, `page_size` of an "
        "import (whose `since` each run sets: orders updated since the run before).",
    )
    paused: StrictBool = False


class SchedulePatch(BaseModel):
    """The body of ``PATCH /v1/schedules/{id}``: pause, resume, a new interval or new job
    params; what is left out stays as it is."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"paused": True},
                {"interval_s": 1800},
                {"params": {"report_type": "GET_FLAT_FILE_OPEN_LISTINGS_DATA"}},
            ]
        },
    )

    paused: StrictBool | None = None
    interval_s: IntervalS | None = Field(
        default=None, description="A new interval counts its runs afresh from now."
    )
    params: dict[str, Any] | None = Field(
        default=None,
        description="The jobs' params from the next run on (as in the schedule's creation); "
        "null clears them.",
    )


class ScheduleRow(BaseModel):
    model_config = example(
        {
            "id": "sch-4f1c2a9be0d3",
            "shop_id": "shop1",
            "account_id": "acc-de",
            "job_type": "orders_import",
            "interval_s": 900,
            "paused": False,
            "params": None,
            "anchor": "2026-11-27T09:00:00Z",
            "revision": 1,
            "created_at": "2026-11-27T09:00:00Z",
            "updated_at": "2026-11-27T09:00:00Z",
        }
    )

    id: str
    shop_id: str
    account_id: str
    job_type: str
    interval_s: int
    paused: bool
    params: dict[str, Any] | None = None
    anchor: datetime = Field(description="Runs fall at anchor + n * interval_s.")
    revision: int = Field(description="Grows with each new interval; in the jobs' ids.")
    created_at: datetime
    updated_at: datetime | None = None
