"""Every event of ARCHITECTURE.md §4, defined once, with the common envelope.

Events are frozen pydantic models. On the wire each is one flat JSON object: the envelope
(`event_id`, `event_type`, `schema_version`, `occurred_at`) beside the event's fields.
`event_type` is a stable string, never a Python path; :data:`EVENT_TYPES` maps it back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.jobs import JobStatus, JobType


def utcnow() -> datetime:
    return datetime.now(UTC)


def next_job_event(cls: type[JE], state: Any, **fields: Any) -> JE:
    """The next event of a job from the state its owner folded: same identity, seq + 1."""
    return cls(
        job_id=state.job_id,
        seq=state.seq if cls.IS_ANNOTATION else state.seq + 1,
        shop_id=state.shop_id,
        account_id=state.account_id,
        job_type=state.job_type,
        status=cls.TARGET or state.status,
        **fields,
    )


class Event(BaseModel):
    """The envelope every event shares."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID = Field(default_factory=uuid4)
    event_type: str
    schema_version: int = 1
    occurred_at: AwareDatetime = Field(default_factory=utcnow)

    # The version this code writes; older versions are upcast before validation.
    SCHEMA_VERSION: ClassVar[int] = 1


EVENT_TYPES: dict[str, type[Event]] = {}

E = TypeVar("E", bound=type[Event])
JE = TypeVar("JE", bound="JobEvent")


def event(cls: E) -> E:
    """Register an event class under its wire name (the class name, which is the contract)."""
    name = cls.__name__
    if name in EVENT_TYPES:
        raise ValueError(f"event type {name} defined twice")
    field = cls.__pydantic_fields__["event_type"]
    if field.default != name:
        raise TypeError(f"{name}.event_type must default to {name!r}")
    EVENT_TYPES[name] = cls
    return cls


# ---------------------------------------------------------------- inbound: job requests


@event
class JobRequested(Event):
    event_type: Literal["JobRequested"] = "JobRequested"
    job_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")
    shop_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    job_type: JobType
    # Checked per job type by shared.job_items, so a request with bad items still becomes a
    # visible failed job rather than an anonymous dead letter.
    items: list[dict[str, Any]] | None = None
    params: dict[str, Any] | None = None
    priority: int | None = None


@event
class CancelRequested(Event):
    event_type: Literal["CancelRequested"] = "CancelRequested"
    job_id: str = Field(min_length=1)
    shop_id: str = Field(min_length=1)


# ---------------------------------------------------------------- inbound: catalog events


@event
class StockChanged(Event):
    event_type: Literal["StockChanged"] = "StockChanged"
    shop_id: str = Field(min_length=1)
    sku: str = Field(min_length=1, max_length=40)
    quantity: int = Field(ge=0, strict=True)


@event
class PriceChanged(Event):
    event_type: Literal["PriceChanged"] = "PriceChanged"
    shop_id: str = Field(min_length=1)
    sku: str = Field(min_length=1, max_length=40)
    price: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class ShippedItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    order_item_id: str = Field(min_length=1)
    quantity: int = Field(gt=0, strict=True)


@event
class OrderShipped(Event):
    event_type: Literal["OrderShipped"] = "OrderShipped"
    shop_id: str = Field(min_length=1)
    account_id: str = Field(min_length=1)
    amazon_order_id: str = Field(pattern=r"^\d{3}-\d{7}-\d{7}$")
    carrier: str = Field(min_length=1)
    tracking_number: str = Field(min_length=1)
    shipped_at: AwareDatetime
    items: list[ShippedItem] = Field(min_length=1)


# ---------------------------------------------------------------- outbound: job events


LogLevel = Literal["debug", "info", "warning", "error"]


class LogLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    level: LogLevel = "info"
    message: str
    at: AwareDatetime = Field(default_factory=utcnow)


ItemStatus = Literal["pending", "accepted", "warning", "error", "canceled"]


class ItemState(BaseModel):
    """One job item as the job sees it after an event: what was asked and how it went."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str  # SKU, or Amazon order id for fulfillment
    status: ItemStatus = "pending"
    request: dict[str, Any] = Field(default_factory=dict)  # the item as requested
    messages: list[str] = Field(default_factory=list)  # Amazon's issues, in its words
    # The listing's sync state before the job marked it pending (None: it had none), so a
    # cancel can put it back.
    before: dict[str, Any] | None = None


class JobEvent(Event):
    """A change of one job. ``seq`` numbers a job's events 1, 2, 3 … with no gaps."""

    job_id: str
    seq: int = Field(ge=1)
    shop_id: str
    account_id: str
    job_type: JobType
    status: JobStatus  # the status after this event
    data: dict[str, Any] = Field(default_factory=dict)
    log: list[LogLine] = Field(default_factory=list)
    # Present when item states change (first listing of the items, per-item outcomes).
    items: list[ItemState] | None = None

    # The status the event moves a job to; None for events that keep the status.
    TARGET: ClassVar[JobStatus | None] = None
    # Annotations add log lines or items but never change the status; they repeat the
    # newest seq instead of taking one (see shared/job_state.py).
    IS_ANNOTATION: ClassVar[bool] = False


@event
class JobReserved(JobEvent):
    event_type: Literal["JobReserved"] = "JobReserved"
    TARGET: ClassVar[JobStatus | None] = JobStatus.RESERVED


@event
class JobCreated(JobEvent):
    event_type: Literal["JobCreated"] = "JobCreated"
    TARGET: ClassVar[JobStatus | None] = JobStatus.CREATED


@event
class JobProcessing(JobEvent):
    event_type: Literal["JobProcessing"] = "JobProcessing"
    TARGET: ClassVar[JobStatus | None] = JobStatus.PROCESSING


@event
class JobSubmitted(JobEvent):
    event_type: Literal["JobSubmitted"] = "JobSubmitted"
    TARGET: ClassVar[JobStatus | None] = JobStatus.WAITING_FOR_RESULT


@event
class JobResultReady(JobEvent):
    """Amazon finished; the result document is named in ``data`` (still waiting to apply)."""

    event_type: Literal["JobResultReady"] = "JobResultReady"
    TARGET: ClassVar[JobStatus | None] = None


@event
class JobDone(JobEvent):
    event_type: Literal["JobDone"] = "JobDone"
    TARGET: ClassVar[JobStatus | None] = JobStatus.DONE


@event
class JobFailed(JobEvent):
    event_type: Literal["JobFailed"] = "JobFailed"
    TARGET: ClassVar[JobStatus | None] = JobStatus.ERROR


@event
class JobCanceled(JobEvent):
    event_type: Literal["JobCanceled"] = "JobCanceled"
    TARGET: ClassVar[JobStatus | None] = JobStatus.CANCELED


@event
class JobCancelRejected(JobEvent):
    event_type: Literal["JobCancelRejected"] = "JobCancelRejected"
    TARGET: ClassVar[JobStatus | None] = None
    IS_ANNOTATION: ClassVar[bool] = True


@event
class JobLogged(JobEvent):
    event_type: Literal["JobLogged"] = "JobLogged"
    TARGET: ClassVar[JobStatus | None] = None
    IS_ANNOTATION: ClassVar[bool] = True


# ---------------------------------------------------------------- outbound: state records

ListingStatus = Literal["pending", "active", "error", "stopped", "removed"]


@event
class ListingState(Event):
    """Sync state of one listing; compacted by ``account_id:sku``."""

    event_type: Literal["ListingState"] = "ListingState"
    account_id: str
    shop_id: str
    sku: str
    asin: str | None = None
    status: ListingStatus
    quantity: int | None = Field(default=None, ge=0)
    price: Decimal | None = None
    currency: str | None = None
    last_job_id: str | None = None
    issues: list[str] = Field(default_factory=list)


@event
class InventoryRow(Event):
    """One row of the latest inventory report; compacted by ``account_id:sku``."""

    event_type: Literal["InventoryRow"] = "InventoryRow"
    account_id: str
    shop_id: str
    sku: str
    asin: str | None = None
    title: str | None = None
    quantity: int | None = None
    price: Decimal | None = None
    status: str | None = None
    fulfillment_channel: str | None = None
    report_id: str
    job_id: str


class OrderLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    order_item_id: str
    sku: str | None = None
    asin: str | None = None
    quantity: int = 0


@event
class OrderImported(Event):
    """One imported Amazon order with its items; keyed ``account_id:amazon_order_id``."""

    event_type: Literal["OrderImported"] = "OrderImported"
    account_id: str
    shop_id: str
    amazon_order_id: str
    status: str
    purchased_at: AwareDatetime | None = None
    total: Decimal | None = None
    currency: str | None = None
    items: list[OrderLine] = Field(default_factory=list)
    job_id: str


class EncryptedCredentials(BaseModel):
    """LWA credentials sealed with AMAZON_JOBS_SECRET_KEY; only services decrypt them."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key_id: str
    ciphertext: str  # base64 of nonce + AES-GCM ciphertext of the JSON credentials


@event
class AccountRegistered(Event):
    """The registry entry of one seller account; compacted by ``account_id``."""

    event_type: Literal["AccountRegistered"] = "AccountRegistered"
    account_id: str = Field(min_length=1)
    shop_id: str = Field(min_length=1)
    name: str
    seller_id: str
    region: Literal["NA", "EU", "FE"]
    marketplace_ids: list[str] = Field(min_length=1)
    credentials: EncryptedCredentials


@event
class DeadLettered(Event):
    """A message that could not be processed, with why; keyed by its original key."""

    event_type: Literal["DeadLettered"] = "DeadLettered"
    original_topic: str
    partition: int
    offset: int
    key: str | None
    raw_value: str | None  # the original value, so it can be replayed once fixed
    raw_encoding: Literal["utf-8", "base64"] = "utf-8"  # base64 when not valid UTF-8
    error: str
    consumer_group: str


# ---------------------------------------------------------------- upcasting

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that turns version ``from_version`` of a payload into the next."""

    def register(fn: Upcaster) -> Upcaster:
        UPCASTERS[(event_type, from_version)] = fn
        return fn

    return register


def upcast(payload: dict[str, Any]) -> dict[str, Any]:
    """Bring an old payload up to the version this code reads, one step at a time."""
    cls = EVENT_TYPES[payload["event_type"]]
    version = payload.get("schema_version", 1)
    while isinstance(version, int) and version < cls.SCHEMA_VERSION:
        step = UPCASTERS.get((payload["event_type"], version))
        if step is None:
            raise ValueError(f"no upcaster for {payload['event_type']} v{version}")
        payload = step(dict(payload))
        version = payload["schema_version"] = version + 1
    return payload
