"""Every event of docs/design.md §4, defined once, with the common envelope.

Events are frozen pydantic models. On the wire each is one flat JSON object: the envelope
(`event_id`, `event_type`, `schema_version`, `occurred_at`) beside the event's fields.
`event_type` is a stable string, never a Python path; :data:`EVENT_TYPES` maps it back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, TypeVar
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from shared.job_data import (
    CancelRejectedData,
    DoneData,
    FailedData,
    JobData,
    LoggedData,
    NoData,
    ReservedData,
    ResultReadyData,
    SubmittedData,
)
from shared.jobs import JobStatus, JobType
from shared.limits import (
    MAX_ITEM_MESSAGE,
    MAX_ITEM_MESSAGES,
    MAX_ITEMS,
    MAX_QUANTITY,
    MAX_REQUEST_PARTS,
    ErrorText,
    Identifier,
    IssueText,
    IssueWord,
    JobId,
    LogText,
    Name,
    Quantity,
    ShortText,
    Sku,
    clip,
)


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
    """A job asked for. A request of many items comes in ``parts`` messages (same job id,
    key and fields, ``part`` 1 … ``parts``, each with its share of the items), so that no
    message exceeds the bound (shared.chunking.request_parts builds them)."""

    event_type: Literal["JobRequested"] = "JobRequested"
    job_id: JobId
    shop_id: Identifier
    account_id: Identifier
    job_type: JobType
    # Checked per job type by shared.job_items, so a request with bad items still becomes a
    # visible failed job rather than an anonymous dead letter.
    items: list[dict[str, Any]] | None = Field(default=None, max_length=MAX_ITEMS)
    params: dict[str, Any] | None = None
    # Checked against the allowed range by shared.job_items too (a visible failure).
    priority: int | None = None
    part: int = Field(default=1, ge=1, le=MAX_REQUEST_PARTS)
    parts: int = Field(default=1, ge=1, le=MAX_REQUEST_PARTS)
    # A retry of this job (POST /v1/jobs/{id}/retry): the new job records it, and the
    # original's document lists the new job (docs/design.md §6).
    retry_of: JobId | None = None
    # The schedule that asked for the job (shared/schedules.py), said in its log.
    schedule_id: Identifier | None = None
    # The one marketplace of the account the job is for; None: every marketplace of the
    # account (the submitter splits the job, one per marketplace; docs/design.md §2).
    marketplace_id: Identifier | None = None


@event
class CancelRequested(Event):
    event_type: Literal["CancelRequested"] = "CancelRequested"
    job_id: JobId
    shop_id: Identifier


# ---------------------------------------------------------------- inbound: catalog events


@event
class StockChanged(Event):
    event_type: Literal["StockChanged"] = "StockChanged"
    shop_id: Identifier
    sku: Sku
    quantity: Quantity


@event
class PriceChanged(Event):
    event_type: Literal["PriceChanged"] = "PriceChanged"
    shop_id: Identifier
    sku: Sku
    price: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class ShippedItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    order_item_id: ShortText
    quantity: int = Field(gt=0, le=MAX_QUANTITY, strict=True)


@event
class OrderShipped(Event):
    event_type: Literal["OrderShipped"] = "OrderShipped"
    shop_id: Identifier
    account_id: Identifier
    amazon_order_id: str = Field(pattern=r"^\d{3}-\d{7}-\d{7}$")
    carrier: ShortText
    tracking_number: ShortText
    shipped_at: AwareDatetime
    items: list[ShippedItem] = Field(min_length=1, max_length=1_000)


# ---------------------------------------------------------------- outbound: job events


LogLevel = Literal["debug", "info", "warning", "error"]


def _clip_messages(value: Any) -> Any:
    """Amazon's issues for one item: the first MAX_ITEM_MESSAGES, each of bounded length."""
    if not isinstance(value, list):
        return value
    kept = [clip(m, MAX_ITEM_MESSAGE) if isinstance(m, str) else m for m in value]
    if len(kept) > MAX_ITEM_MESSAGES:
        more = len(kept) - MAX_ITEM_MESSAGES + 1
        kept = [*kept[: MAX_ITEM_MESSAGES - 1], f"(and {more} more issues)"]
    return kept


class LogLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    level: LogLevel = "info"
    message: LogText
    at: AwareDatetime = Field(default_factory=utcnow)


ItemStatus = Literal["pending", "accepted", "warning", "error", "canceled"]


class ItemState(BaseModel):
    """One job item as the job sees it after an event: what was asked and how it went."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    key: str  # SKU, or Amazon order id for fulfillment
    status: ItemStatus = "pending"
    request: dict[str, Any] = Field(default_factory=dict)  # the item as requested
    # Amazon's issues, in its words (bounded: see shared.limits).
    messages: Annotated[list[str], BeforeValidator(_clip_messages)] = Field(default_factory=list)
    # The listing's sync state before the job marked it pending (None: it had none), so a
    # cancel can put it back.
    before: dict[str, Any] | None = None
    # The Amazon item a send_products item was matched to (by its EAN/UPC or given ASIN).
    asin: str | None = None


class JobEvent(Event):
    """A change of one job. ``seq`` numbers a job's events 1, 2, 3 … with no gaps.

    ``data`` is the event kind's own payload (shared.job_data), redeclared by each kind."""

    job_id: str
    seq: int = Field(ge=1)
    shop_id: str
    account_id: str
    job_type: JobType
    status: JobStatus  # the status after this event
    data: JobData = Field(default_factory=NoData)
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
    data: ReservedData = Field(default_factory=ReservedData)
    TARGET: ClassVar[JobStatus | None] = JobStatus.RESERVED


@event
class JobCreated(JobEvent):
    event_type: Literal["JobCreated"] = "JobCreated"
    data: NoData = Field(default_factory=NoData)
    TARGET: ClassVar[JobStatus | None] = JobStatus.CREATED


@event
class JobProcessing(JobEvent):
    event_type: Literal["JobProcessing"] = "JobProcessing"
    data: NoData = Field(default_factory=NoData)
    TARGET: ClassVar[JobStatus | None] = JobStatus.PROCESSING


@event
class JobSubmitted(JobEvent):
    event_type: Literal["JobSubmitted"] = "JobSubmitted"
    data: SubmittedData = Field(default_factory=SubmittedData)
    TARGET: ClassVar[JobStatus | None] = JobStatus.WAITING_FOR_RESULT


@event
class JobResultReady(JobEvent):
    """Amazon finished; the result document is named in ``data`` (still waiting to apply)."""

    event_type: Literal["JobResultReady"] = "JobResultReady"
    data: ResultReadyData = Field(default_factory=ResultReadyData)
    TARGET: ClassVar[JobStatus | None] = None


@event
class JobDone(JobEvent):
    event_type: Literal["JobDone"] = "JobDone"
    data: DoneData = Field(default_factory=DoneData)
    TARGET: ClassVar[JobStatus | None] = JobStatus.DONE


@event
class JobFailed(JobEvent):
    event_type: Literal["JobFailed"] = "JobFailed"
    data: FailedData = Field(default_factory=FailedData)
    TARGET: ClassVar[JobStatus | None] = JobStatus.ERROR


@event
class JobCanceled(JobEvent):
    event_type: Literal["JobCanceled"] = "JobCanceled"
    data: NoData = Field(default_factory=NoData)
    TARGET: ClassVar[JobStatus | None] = JobStatus.CANCELED


@event
class JobCancelRejected(JobEvent):
    event_type: Literal["JobCancelRejected"] = "JobCancelRejected"
    data: CancelRejectedData = Field(default_factory=CancelRejectedData)
    TARGET: ClassVar[JobStatus | None] = None
    IS_ANNOTATION: ClassVar[bool] = True


@event
class JobLogged(JobEvent):
    event_type: Literal["JobLogged"] = "JobLogged"
    data: LoggedData = Field(default_factory=LoggedData)
    TARGET: ClassVar[JobStatus | None] = None
    IS_ANNOTATION: ClassVar[bool] = True


@event
class JobItemsRecorded(JobEvent):
    """A chunk of a job's item states, so that no event of a large job exceeds the bound.

    Written beside a status event whose items do not fit in it (shared.chunking): after a
    job's first event, before any other; ``status`` is the job's status while it is folded."""

    event_type: Literal["JobItemsRecorded"] = "JobItemsRecorded"
    data: NoData = Field(default_factory=NoData)
    TARGET: ClassVar[JobStatus | None] = None
    IS_ANNOTATION: ClassVar[bool] = True


# ---------------------------------------------------------------- outbound: state records

ListingStatus = Literal["pending", "active", "error", "stopped", "removed"]
IssueSeverity = Literal["error", "warning"]

_ISSUE_ATTRIBUTES = 10  # attribute names kept per issue (Amazon names one or two)


def _clip_issues(value: Any) -> Any:
    """The first MAX_ITEM_MESSAGES of a listing's reported issues (the rest are dropped:
    the job's items hold them all, and a listing record must stay small)."""
    return value[:MAX_ITEM_MESSAGES] if isinstance(value, list) else value


def _clip_attributes(value: Any) -> Any:
    return value[:_ISSUE_ATTRIBUTES] if isinstance(value, list) else value


class ListingIssue(BaseModel):
    """One error or warning Amazon reported for a listing, as the merchant must read it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    severity: IssueSeverity
    code: IssueWord | None = None
    message: IssueText
    attribute_names: Annotated[list[IssueWord], BeforeValidator(_clip_attributes)] = Field(
        default_factory=list
    )


@event
class ListingState(Event):
    """Sync state of one listing on one marketplace; compacted by
    ``shared.topics.listing_key``."""

    event_type: Literal["ListingState"] = "ListingState"
    account_id: str
    shop_id: str
    sku: str
    # None in records written before listings were per marketplace: the account's first.
    marketplace_id: str | None = None
    asin: str | None = None
    status: ListingStatus
    quantity: int | None = Field(default=None, ge=0)
    price: Decimal | None = None
    currency: str | None = None
    last_job_id: str | None = None
    issues: Annotated[list[str], BeforeValidator(_clip_messages)] = Field(default_factory=list)
    # When Amazon received the values this state reflects (the submission time of the feed
    # whose result set them): an older job's result never overwrites a newer one's.
    as_of: AwareDatetime | None = None
    # The errors and warnings of the latest result Amazon gave for this listing (a
    # processing report, a patch's answer), with the job that had it and when it was read:
    # kept while later jobs are pending, replaced by the next result (empty when clean).
    # Records written before these fields have none (shared.listing_issues).
    reported_issues: Annotated[list[ListingIssue], BeforeValidator(_clip_issues)] = Field(
        default_factory=list
    )
    issues_job_id: str | None = None
    issues_at: AwareDatetime | None = None


@event
class InventoryRow(Event):
    """One row of the latest inventory report of a marketplace; compacted by
    ``shared.topics.listing_key``."""

    event_type: Literal["InventoryRow"] = "InventoryRow"
    account_id: str
    shop_id: str
    sku: str
    # None in rows written before reports were per marketplace: the account's first.
    marketplace_id: str | None = None
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
    account_id: Identifier
    shop_id: Identifier
    name: Name
    seller_id: Identifier
    region: Literal["NA", "EU", "FE"]
    marketplace_ids: list[Identifier] = Field(min_length=1, max_length=50)
    credentials: EncryptedCredentials


@event
class DeadLettered(Event):
    """A message that could not be processed, with why; keyed by its original key.

    The original value is copied (``raw_stored="copy"``) when it is small enough, else
    only referred to (``"reference"``): its topic, partition and offset, size, SHA-256 and
    first bytes, so the letter itself always fits the message bound; a replay then reads
    the original back from its topic while the topic retains it."""

    event_type: Literal["DeadLettered"] = "DeadLettered"
    original_topic: str
    partition: int
    offset: int
    key: str | None = Field(max_length=1_024)
    raw_value: str | None  # the original value (stored "copy"), so it can be replayed
    raw_encoding: Literal["utf-8", "base64"] = "utf-8"  # base64 when not valid UTF-8
    raw_stored: Literal["copy", "reference", "none"] = "copy"  # "none": a tombstone
    raw_size: int | None = None  # bytes of the original value
    raw_sha256: str | None = None  # of the original value, to check a replay's bytes
    raw_head: str | None = None  # its first bytes (with raw_encoding), for a reference
    error: ErrorText
    consumer_group: str
    # The original's `amazon-jobs-signature` header (docs/design.md §22), so a replay
    # carries the shop's own signature: the system never signs a letter again, which
    # would turn a forgery into the shop's event.
    signature: str | None = Field(default=None, max_length=200)


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
