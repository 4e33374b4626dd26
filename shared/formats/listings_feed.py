"""JSON_LISTINGS_FEED documents (schema v2) for every item-bearing listings job type.

Input items are the job item models of ``shared.job_items`` (one definition, validated at
the door); output documents carry both the JSON dict and its exact UTF-8 bytes, plus the
``messageId → sku`` mapping the processing report is read back with. Documents are split
so none exceeds 25,000 messages or ~10 MiB (Amazon's limit and its size advice).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shared.job_items import PriceItem, QtyItem, QtyPriceItem, SendProductItem, SkuItem
from shared.jobs import JobType

FEED_TYPE = "JSON_LISTINGS_FEED"
CONTENT_TYPE = "application/json; charset=UTF-8"  # give the same to createFeedDocument
VERSION = "2.0"
DEFAULT_ISSUE_LOCALE = "en_US"
MAX_MESSAGES = 25_000  # per feed since May 2025
MAX_BYTES = 10 * 1024 * 1024  # Amazon's advice: feeds under 10 MiB

# The generic product type Amazon accepts for offer-only data on an existing catalog item:
# quantity and price patches do not depend on the item's real product type.
OFFER_PRODUCT_TYPE = "PRODUCT"
FULFILLMENT_CHANNEL = "DEFAULT"  # merchant-fulfilled stock
AUDIENCE = "ALL"  # the ordinary (B2C) offer

QTY_PATH = "/attributes/fulfillment_availability"
PRICE_PATH = "/attributes/purchasable_offer"

# Shop condition words → Amazon condition_type. PrestaShop knows only new/used/refurbished;
# "used" has no grade there, so the middle grade is assumed. Amazon values pass unchanged.
CONDITIONS = {
    "new": "new_new",
    "used": "used_good",
    "refurbished": "refurbished_refurbished",
}
DEFAULT_CONDITION = "new_new"

ListingItem = QtyItem | PriceItem | QtyPriceItem | SkuItem | SendProductItem


class OperationType(StrEnum):
    UPDATE = "UPDATE"  # full attribute set (offer-only with requirements LISTING_OFFER_ONLY)
    PARTIAL_UPDATE = "PARTIAL_UPDATE"
    PATCH = "PATCH"  # JSON Patch of named attributes
    DELETE = "DELETE"  # removes the listing (the SKU) from the seller's account


# Which item model each listings job type takes.
ITEM_TYPE: dict[JobType, type[ListingItem]] = {
    JobType.UPDATE_QTY: QtyItem,
    JobType.UPDATE_PRICE: PriceItem,
    JobType.UPDATE_QTY_PRICE: QtyPriceItem,
    JobType.STOP_PRODUCTS: SkuItem,
    JobType.STOP_REMOVE_PRODUCTS: SkuItem,
    JobType.SEND_PRODUCTS: SendProductItem,
}


@dataclass(frozen=True, slots=True)
class ListingsFeedDocument:
    document: dict[str, Any]  # {"header": …, "messages": […]}
    body: bytes  # the exact bytes to upload (compact JSON, UTF-8)
    message_skus: dict[int, str]  # messageId → sku, to read the processing report back

    @property
    def message_count(self) -> int:
        return len(self.message_skus)


def quantity_patch(quantity: int) -> dict[str, Any]:
    return {
        "op": "replace",
        "path": QTY_PATH,
        "value": [{"fulfillment_channel_code": FULFILLMENT_CHANNEL, "quantity": quantity}],
    }


def price_patch(price: Decimal, currency: str, marketplace_id: str) -> dict[str, Any]:
    return {
        "op": "replace",
        "path": PRICE_PATH,
        "value": [_purchasable_offer(price, currency, marketplace_id)],
    }


def listing_message(
    job_type: JobType, item: ListingItem, marketplace_id: str, message_id: int
) -> dict[str, Any]:
    """One feed message for one job item (messageId assigned by the caller)."""
    expected = ITEM_TYPE.get(job_type)
    if expected is None:
        raise ValueError(f"{job_type.value} is not a listings feed job")
    if not isinstance(item, expected):
        raise TypeError(f"{job_type.value} takes {expected.__name__}, not {type(item).__name__}")
    head: dict[str, Any] = {"messageId": message_id, "sku": item.sku}
    if isinstance(item, SendProductItem):
        return head | _offer_update(item, marketplace_id)
    patches: list[dict[str, Any]]
    if isinstance(item, QtyItem):
        patches = [quantity_patch(item.quantity)]
    elif isinstance(item, PriceItem):
        patches = [price_patch(item.price, item.currency, marketplace_id)]
    elif isinstance(item, QtyPriceItem):
        patches = [
            quantity_patch(item.quantity),
            price_patch(item.price, item.currency, marketplace_id),
        ]
    else:  # stop / stop & remove: the offer stays, with nothing to sell
        patches = [quantity_patch(0)]
    return head | {
        "operationType": OperationType.PATCH.value,
        "productType": OFFER_PRODUCT_TYPE,
        "patches": patches,
    }


def delete_message(sku: str, message_id: int) -> dict[str, Any]:
    """Deletes the listing at Amazon (DELETE takes no productType, attributes or patches)."""
    return {"messageId": message_id, "sku": sku, "operationType": OperationType.DELETE.value}


def build_listings_feeds(
    seller_id: str,
    marketplace_id: str,
    job_type: JobType,
    items: Sequence[ListingItem],
    *,
    issue_locale: str = DEFAULT_ISSUE_LOCALE,
    max_messages: int = MAX_MESSAGES,
    max_bytes: int = MAX_BYTES,
) -> list[ListingsFeedDocument]:
    """The feed documents for one job: one message per item, split when too big.

    One marketplace per document (JSON listings feeds apply to one marketplace). Should an
    SKU repeat, its last item wins, as when catalog changes are coalesced.
    """
    # Built with a placeholder id: _pack numbers the messages of each document from 1.
    messages = (
        (item.sku, listing_message(job_type, item, marketplace_id, 0))
        for item in _last_per_sku(items)
    )
    return _pack(seller_id, issue_locale, messages, max_messages, max_bytes)


def build_listings_feed(
    seller_id: str,
    marketplace_id: str,
    job_type: JobType,
    numbered: Sequence[tuple[int, ListingItem]],
    *,
    issue_locale: str = DEFAULT_ISSUE_LOCALE,
) -> ListingsFeedDocument:
    """One feed document for one job, each item's messageId given (its ordinal in the job,
    docs/design.md §11), so the report is read back without a map. Up to Amazon's 25,000
    messages; its size is not capped here (the caller notes one above Amazon's 10 MiB
    advice: splitting a job would make it several feeds Amazon processes apart)."""
    if not numbered:
        raise ValueError("a listings feed needs at least one item")
    if len(numbered) > MAX_MESSAGES:
        raise ValueError(f"{len(numbered)} messages exceed Amazon's {MAX_MESSAGES} per feed")
    ids = [message_id for message_id, _ in numbered]
    if len(set(ids)) != len(ids) or min(ids) < 1:
        raise ValueError("message ids must be unique and positive")
    header = {"sellerId": seller_id, "version": VERSION, "issueLocale": issue_locale}
    messages = [
        listing_message(job_type, item, marketplace_id, message_id) for message_id, item in numbered
    ]
    body = (
        b'{"header":'
        + _dumps(header)
        + b',"messages":['
        + b",".join(_dumps(m) for m in messages)
        + b"]}"
    )
    skus = {message_id: item.sku for message_id, item in numbered}
    return ListingsFeedDocument({"header": header, "messages": messages}, body, skus)


def build_delete_feeds(
    seller_id: str,
    skus: Sequence[str],
    *,
    issue_locale: str = DEFAULT_ISSUE_LOCALE,
    max_messages: int = MAX_MESSAGES,
    max_bytes: int = MAX_BYTES,
) -> list[ListingsFeedDocument]:
    """DELETE messages: removes these listings from the seller's Amazon account."""
    messages = ((sku, delete_message(sku, 0)) for sku in dict.fromkeys(skus))
    return _pack(seller_id, issue_locale, messages, max_messages, max_bytes)


def _offer_update(item: SendProductItem, marketplace_id: str) -> dict[str, Any]:
    """Offer-only listing of an existing ASIN: condition, quantity and price."""
    if not item.asin:
        raise ValueError(f"send_products item {item.sku} has no ASIN yet: look it up first")
    condition = CONDITIONS.get((item.condition or "").strip().lower(), item.condition)
    return {
        "operationType": OperationType.UPDATE.value,
        "productType": item.product_type or OFFER_PRODUCT_TYPE,
        "requirements": "LISTING_OFFER_ONLY",
        "attributes": {
            "merchant_suggested_asin": [{"value": item.asin, "marketplace_id": marketplace_id}],
            "condition_type": [
                {"value": condition or DEFAULT_CONDITION, "marketplace_id": marketplace_id}
            ],
            "fulfillment_availability": [
                {"fulfillment_channel_code": FULFILLMENT_CHANNEL, "quantity": item.quantity}
            ],
            "purchasable_offer": [_purchasable_offer(item.price, item.currency, marketplace_id)],
        },
    }


def _purchasable_offer(price: Decimal, currency: str, marketplace_id: str) -> dict[str, Any]:
    if price <= 0:
        raise ValueError("a price must be above zero")
    return {
        "marketplace_id": marketplace_id,
        "currency": currency,
        "audience": AUDIENCE,
        "our_price": [{"schedule": [{"value_with_tax": _number(price)}]}],
    }


def _number(value: Decimal) -> int | float:
    """A JSON number for a price. Shortest float repr keeps 19.99 as 19.99."""
    return int(value) if value == value.to_integral_value() else float(value)


def _last_per_sku(items: Sequence[ListingItem]) -> list[ListingItem]:
    by_sku: dict[str, ListingItem] = {}
    for item in items:
        by_sku.pop(item.sku, None)  # re-insert: the later item also takes the later slot
        by_sku[item.sku] = item
    return list(by_sku.values())


def _dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _pack(
    seller_id: str,
    issue_locale: str,
    messages: Iterable[tuple[str, dict[str, Any]]],
    max_messages: int,
    max_bytes: int,
) -> list[ListingsFeedDocument]:
    """Greedy split of the messages into documents within both limits.

    Sizes are exact: the body is assembled from the same bytes that were measured.
    Message ids start at 1 in every document (they only need be unique within a feed).
    """
    if not 1 <= max_messages <= MAX_MESSAGES:
        raise ValueError(f"max_messages must be between 1 and {MAX_MESSAGES}")
    header = {"sellerId": seller_id, "version": VERSION, "issueLocale": issue_locale}
    prefix = b'{"header":' + _dumps(header) + b',"messages":['
    suffix = b"]}"
    documents: list[ListingsFeedDocument] = []
    chunk: list[bytes] = []
    parsed: list[dict[str, Any]] = []
    skus: dict[int, str] = {}
    size = len(prefix) + len(suffix)

    def flush() -> None:
        nonlocal chunk, parsed, skus, size
        body = prefix + b",".join(chunk) + suffix
        documents.append(ListingsFeedDocument({"header": header, "messages": parsed}, body, skus))
        chunk, parsed, skus = [], [], {}
        size = len(prefix) + len(suffix)

    for sku, message in messages:
        message_id = len(chunk) + 1
        message["messageId"] = message_id
        encoded = _dumps(message)
        separator = 1 if chunk else 0
        if chunk and (len(chunk) >= max_messages or size + separator + len(encoded) > max_bytes):
            flush()
            message_id = message["messageId"] = 1
            encoded = _dumps(message)
            separator = 0
        if size + len(encoded) > max_bytes:
            raise ValueError(f"the message for {sku} alone exceeds {max_bytes} bytes")
        chunk.append(encoded)
        parsed.append(message)
        skus[message_id] = sku
        size += separator + len(encoded)
    if chunk:
        flush()
    return documents
