"""Items and params of a ``JobRequested``, per job type (docs/design.md §4).

``JobRequested`` carries items as plain objects so that a request with bad items still
decodes and can be turned into a visible failed job; :func:`parse_request_payload` is the
one place that checks them.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from shared.jobs import JobType
from shared.limits import (
    MAX_ITEMS,
    MAX_PRIORITY,
    MAX_QUANTITY,
    MIN_PRIORITY,
    Quantity,
    ShortText,
    Sku,
)

# At most 10 digits before the point: what Amazon's price fields and a BSON double keep.
Price = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


def _zoned(value: datetime, info: ValidationInfo) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{info.field_name} needs a time zone (e.g. 2026-11-27T10:00:00Z)")
    return value


# A point in time: one without a zone would be read in whatever zone the reader is in.
ZonedDatetime = Annotated[datetime, AfterValidator(_zoned)]


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SendProductItem(_Item):
    sku: Sku
    ean: str | None = Field(default=None, pattern=r"^\d{8,14}$")
    upc: str | None = Field(default=None, pattern=r"^\d{12}$")
    asin: str | None = Field(default=None, pattern=r"^[A-Z0-9]{10}$")
    quantity: Quantity
    price: Price
    currency: Currency
    condition: ShortText | None = None
    product_type: ShortText | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> SendProductItem:
        if not (self.ean or self.upc or self.asin):
            raise ValueError("one of ean, upc or asin is needed to find the Amazon item")
        return self


class QtyItem(_Item):
    sku: Sku
    quantity: Quantity


class PriceItem(_Item):
    sku: Sku
    price: Price
    currency: Currency


class QtyPriceItem(_Item):
    sku: Sku
    quantity: Quantity
    price: Price
    currency: Currency


class SkuItem(_Item):
    sku: Sku


class ShippedLine(_Item):
    order_item_id: ShortText
    quantity: Annotated[int, Field(gt=0, le=MAX_QUANTITY, strict=True)]


class FulfillmentItem(_Item):
    amazon_order_id: str = Field(pattern=r"^\d{3}-\d{7}-\d{7}$")
    carrier: ShortText
    tracking_number: ShortText
    shipped_at: ZonedDatetime
    items: list[ShippedLine] = Field(min_length=1, max_length=1_000)


class InventoryReportParams(_Item):
    report_type: Literal["GET_MERCHANT_LISTINGS_ALL_DATA", "GET_FLAT_FILE_OPEN_LISTINGS_DATA"] = (
        "GET_MERCHANT_LISTINGS_ALL_DATA"
    )


class OrdersImportParams(_Item):
    since: ZonedDatetime
    # "last_update" (or absent): orders changed since — new ones, a new status, a
    # cancellation — so an import misses nothing; "created": only orders created since.
    # Absent reads as "last_update", a superset of what "created" finds (an order created
    # since was also last updated since), so imports from before the field stay complete.
    by: Literal["created", "last_update"] | None = Field(
        default=None, exclude_if=lambda v: v is None
    )
    page_size: Annotated[int, Field(ge=1, le=100)] = 100


JobItem = SendProductItem | QtyItem | PriceItem | QtyPriceItem | SkuItem | FulfillmentItem
JobParams = InventoryReportParams | OrdersImportParams

ITEM_MODEL: dict[JobType, type[_Item]] = {
    JobType.SEND_PRODUCTS: SendProductItem,
    JobType.UPDATE_QTY: QtyItem,
    JobType.UPDATE_PRICE: PriceItem,
    JobType.UPDATE_QTY_PRICE: QtyPriceItem,
    JobType.STOP_PRODUCTS: SkuItem,
    JobType.STOP_REMOVE_PRODUCTS: SkuItem,
    JobType.ORDERS_FULFILLMENT: FulfillmentItem,
}
PARAMS_MODEL: dict[JobType, type[_Item]] = {
    JobType.INVENTORY_REPORT: InventoryReportParams,
    JobType.ORDERS_IMPORT: OrdersImportParams,
}


class InvalidJobPayload(ValueError):
    """The items or params do not fit the job type; the message says which and why."""


def item_key(item: JobItem) -> str:
    """What identifies an item within its job: the SKU, or the Amazon order id."""
    return item.amazon_order_id if isinstance(item, FulfillmentItem) else item.sku


def _describe(error: ValidationError, prefix: str) -> str:
    parts = []
    for err in error.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{prefix}{'.' + loc if loc else ''}: {err['msg']}")
    more = error.error_count() - 5
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def check_priority(priority: object) -> None:
    """A caller's priority is an integer within the job types' span; raise otherwise."""
    if priority is None:
        return
    if type(priority) is not int or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidJobPayload(
            f"priority: must be an integer from {MIN_PRIORITY} to {MAX_PRIORITY}"
        )


def parse_request_payload(
    job_type: JobType,
    items: list[dict[str, Any]] | None,
    params: dict[str, Any] | None,
    priority: object = None,
) -> tuple[list[JobItem], JobParams | None]:
    """Validate a request's items/params (and priority) for its job type; raise
    InvalidJobPayload saying which and why."""
    check_priority(priority)
    item_model = ITEM_MODEL.get(job_type)
    if item_model is not None:
        if params:
            # Nobody would read them: refused rather than carried unchecked.
            raise InvalidJobPayload(f"params: {job_type.value} takes items, not params")
        if not items:
            raise InvalidJobPayload(f"{job_type.value} needs at least one item")
        # Amazon's feed limit: a request above it would be split by nobody and half-sent.
        if len(items) > MAX_ITEMS:
            raise InvalidJobPayload(f"{len(items)} items exceed the limit of {MAX_ITEMS} per job")
        adapter: TypeAdapter[list[Any]] = TypeAdapter(list[item_model])  # type: ignore[valid-type]
        try:
            parsed: list[JobItem] = adapter.validate_python(items)
        except ValidationError as exc:
            raise InvalidJobPayload(_describe(exc, "items")) from exc
        counts = Counter(item_key(i) for i in parsed)
        dupes = sorted(k for k, n in counts.items() if n > 1)
        if dupes:
            raise InvalidJobPayload(f"items repeat {', '.join(dupes[:5])}: one entry per item")
        return parsed, None
    params_model = PARAMS_MODEL[job_type]
    if items:
        raise InvalidJobPayload(f"{job_type.value} takes params, not items")
    try:
        return [], params_model.model_validate(params or {})  # type: ignore[return-value]
    except ValidationError as exc:
        raise InvalidJobPayload(_describe(exc, "params")) from exc
