"""JSON_LISTINGS_FEED: validation, application to a seller's listings, processing report.

Pure: ``process_listings_feed`` takes the uploaded bytes and the seller's listings and
returns the new listings plus the processing report (listings-feed-processing-report
schema v2: header {sellerId, version, feedId}, issues[], summary{...}). ``patch_listing``
is one PATCH message on its own, for the Listings Items API's ``patchListingsItem``: the
same checks and the same application, so both ways of changing a SKU agree.

What Amazon does and the sandbox copies:
- a document that is not JSON, or whose header is wrong (sellerId of another seller,
  version other than "2.0", no messages or more than 25,000), ends the feed FATAL;
- every other problem is an issue of one message, which is then not applied
  (``messagesInvalid``); the valid messages are applied in order (``messagesAccepted``).

Where the sandbox is stricter than Amazon, on purpose: Amazon accepts an offer-only PATCH
for a SKU it has never seen (it creates an incomplete offer), which hides mistakes; the
sandbox reports such a PATCH as an ERROR so the system's handling of per-item errors can
be exercised. DELETE of an unknown SKU is accepted (Amazon is idempotent there, and the
system relies on re-sent feeds being harmless).

Issue codes: 4002008 (message fails the message schema) and 4002006 (header value does
not match) are the codes Amazon uses; 90220 is Amazon's "required but not supplied".
The 99xxx codes are the sandbox's own, for checks Amazon reports asynchronously or not at
all; clients should key on severity and attributeName, not on these numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.amazon_sandbox.listings import Catalog, CatalogItem, Listing

MAX_MESSAGES = 25_000  # since May 2025 (10,000 before)
MAX_MESSAGE_ID = 2_147_483_647

OPERATION_TYPES = frozenset({"UPDATE", "PARTIAL_UPDATE", "PATCH", "DELETE"})
PATCH_OPS = frozenset({"add", "replace", "merge", "delete"})
REQUIREMENTS = frozenset({"LISTING", "LISTING_PRODUCT_ONLY", "LISTING_OFFER_ONLY"})

QUANTITY_ATTRIBUTE = "fulfillment_availability"
OFFER_ATTRIBUTE = "purchasable_offer"
ASIN_ATTRIBUTE = "merchant_suggested_asin"
PRODUCT_ID_ATTRIBUTE = "externally_assigned_product_identifier"
# Product identifier types the catalog can resolve (the attribute's ``type`` values).
PRODUCT_ID_TYPES = frozenset({"ean", "upc", "gtin", "isbn", "jan"})


class IssueCode(StrEnum):
    FEED_NOT_PROCESSED = "99000"  # sandbox's: no document, or an injected fault
    FEED_NOT_JSON = "4002001"  # sandbox's: the document is not parseable JSON
    HEADER_MISMATCH = "4002006"  # Amazon's: a header value does not match what is required
    MESSAGE_SCHEMA = "4002008"  # Amazon's: a message fails the message schema
    REQUIRED_MISSING = "90220"  # Amazon's: "'[x]' is required but not supplied."
    INVALID_VALUE = "99010"  # sandbox's: a value the attribute does not allow
    SKU_NOT_FOUND = "99020"  # sandbox's: PATCH / PARTIAL_UPDATE of a SKU the seller lacks
    PRODUCT_NOT_FOUND = "99030"  # sandbox's: the identifier matches no catalog item
    PRICE_FAR_OFF = "99040"  # sandbox's WARNING: a price 10 times, or a tenth of, the last


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"
    INFO = "INFO"


@dataclass(frozen=True, slots=True)
class Issue:
    message: str
    code: IssueCode
    severity: Severity = Severity.ERROR
    message_id: int | None = None
    sku: str | None = None
    attribute_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.message_id is not None:
            body["messageId"] = self.message_id
        if self.sku:
            body["sku"] = self.sku
        body["code"] = self.code.value
        body["severity"] = self.severity.value
        body["message"] = self.message
        if self.attribute_name:
            body["attributeName"] = self.attribute_name
        return body


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What a feed is checked and applied against."""

    seller_id: str
    feed_id: str
    marketplace_ids: Sequence[str]
    catalog: Catalog
    now: str  # ISO-8601, the creation time of new listings


@dataclass(frozen=True, slots=True)
class PatchOutcome:
    listing: Listing | None  # the SKU's listing after the patch (unchanged when errors)
    issues: list[Issue]  # none or only warnings when the patch was applied


@dataclass(frozen=True, slots=True)
class ListingsFeedResult:
    fatal: bool
    report: dict[str, Any]
    listings: dict[str, Listing]  # the seller's listings after the feed


class _MessageInvalid(Exception):
    """Raised while applying one message: it is reported and the message is skipped."""

    def __init__(self, *issues: Issue) -> None:
        super().__init__(issues[0].message if issues else "invalid")
        self.issues = list(issues)


def process_listings_feed(
    raw: bytes, context: FeedContext, listings: Mapping[str, Listing]
) -> ListingsFeedResult:
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        return _fatal(
            context, listings, IssueCode.FEED_NOT_JSON, f"The feed is not valid JSON: {exc}"
        )
    header_problem = _header_problem(document, context.seller_id)
    if header_problem is not None:
        return _fatal(context, listings, *header_problem)

    messages: list[Any] = document["messages"]
    current = dict(listings)
    issues: list[Issue] = []
    accepted = 0
    seen_ids: set[int] = set()
    for message in messages:
        message_issues = _schema_issues(message)
        message_id = _message_id(message)
        if not message_issues and message_id in seen_ids:
            message_issues = [
                _issue(message, IssueCode.MESSAGE_SCHEMA, f"messageId {message_id} is not unique.")
            ]
        if message_id is not None:
            seen_ids.add(message_id)
        if message_issues:
            issues.extend(message_issues)
            continue
        try:
            issues.extend(_apply(message, current, context))
        except _MessageInvalid as invalid:
            issues.extend(invalid.issues)
            continue
        accepted += 1

    errors = sum(1 for issue in issues if issue.severity is Severity.ERROR)
    warnings = sum(1 for issue in issues if issue.severity is Severity.WARNING)
    report = _report(
        context.seller_id,
        context.feed_id,
        issues,
        errors=errors,
        warnings=warnings,
        processed=len(messages),
        accepted=accepted,
    )
    return ListingsFeedResult(fatal=False, report=report, listings=current)


def patch_listing(
    sku: str,
    product_type: str,
    patches: list[Any],
    existing: Listing | None,
    context: FeedContext,
) -> PatchOutcome:
    """The PATCH message a feed would carry for ``sku``, checked and applied alone. Only
    this SKU's listing is touched (a seller of a million listings is not copied)."""
    message = {
        "messageId": 1,
        "sku": sku,
        "operationType": "PATCH",
        "productType": product_type,
        "patches": patches,
    }
    issues = _schema_issues(message)
    if issues:
        return PatchOutcome(existing, issues)
    current = {sku: existing} if existing is not None else {}
    try:
        warnings = _apply(message, current, context)
    except _MessageInvalid as invalid:
        return PatchOutcome(existing, invalid.issues)
    return PatchOutcome(current[sku], warnings)


# --- whole-document checks -------------------------------------------------------------


def _header_problem(document: Any, seller_id: str) -> tuple[IssueCode, str] | None:
    if not isinstance(document, dict):
        return IssueCode.MESSAGE_SCHEMA, "The feed must be a JSON object with header and messages."
    header = document.get("header")
    if not isinstance(header, dict):
        return IssueCode.MESSAGE_SCHEMA, "The feed has no 'header' object."
    if header.get("sellerId") != seller_id:
        return (
            IssueCode.HEADER_MISMATCH,
            "The attribute 'sellerId' does not match the selling partner that submitted the feed.",
        )
    if header.get("version") != "2.0":
        return (
            IssueCode.HEADER_MISMATCH,
            "The attribute 'version' does not match the required value '2.0'.",
        )
    messages = document.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_MESSAGES:
        return (
            IssueCode.MESSAGE_SCHEMA,
            f"The feed must contain between 1 and {MAX_MESSAGES} messages.",
        )
    return None


def _fatal(
    context: FeedContext, listings: Mapping[str, Listing], code: IssueCode, message: str
) -> ListingsFeedResult:
    report = fatal_report(context.seller_id, context.feed_id, code, message)
    return ListingsFeedResult(fatal=True, report=report, listings=dict(listings))


def fatal_report(seller_id: str, feed_id: str, code: IssueCode, message: str) -> dict[str, Any]:
    """The processing report of a feed that ended FATAL: one feed-level issue, no message
    processed."""
    issue = Issue(message=message, code=code)
    return _report(seller_id, feed_id, [issue], errors=1, warnings=0, processed=0, accepted=0)


def _report(
    seller_id: str,
    feed_id: str,
    issues: list[Issue],
    *,
    errors: int,
    warnings: int,
    processed: int,
    accepted: int,
) -> dict[str, Any]:
    return {
        "header": {"sellerId": seller_id, "version": "2.0", "feedId": feed_id},
        "issues": [issue.to_json() for issue in issues],
        "summary": {
            "errors": errors,
            "warnings": warnings,
            "messagesProcessed": processed,
            "messagesAccepted": accepted,
            "messagesInvalid": processed - accepted,
        },
    }


# --- one message: the message schema ----------------------------------------------------


def _message_id(message: Any) -> int | None:
    if isinstance(message, dict):
        value = message.get("messageId")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _issue(message: Any, code: IssueCode, text: str, attribute: str | None = None) -> Issue:
    sku = message.get("sku") if isinstance(message, dict) else None
    return Issue(
        message=text,
        code=code,
        message_id=_message_id(message),
        sku=sku if isinstance(sku, str) and sku else None,
        attribute_name=attribute,
    )


def _schema_issues(message: Any) -> list[Issue]:
    """The listings-feed message schema (v2), as issues of code 4002008."""
    problems = _schema_problems(message)
    return [_issue(message, IssueCode.MESSAGE_SCHEMA, problem) for problem in problems]


def _schema_problems(message: Any) -> list[str]:
    if not isinstance(message, dict):
        return ["The message must be a JSON object."]
    problems: list[str] = []
    message_id = _message_id(message)
    if message_id is None or not 1 <= message_id <= MAX_MESSAGE_ID:
        problems.append("'messageId' must be an integer between 1 and 2147483647.")
    sku = message.get("sku")
    if not isinstance(sku, str) or not sku:
        problems.append("'sku' must be a non-empty string.")
    operation = message.get("operationType")
    if operation not in OPERATION_TYPES:
        problems.append("'operationType' must be one of UPDATE, PARTIAL_UPDATE, PATCH, DELETE.")
    if "productType" in message and (
        not isinstance(message["productType"], str) or not message["productType"]
    ):
        problems.append("'productType' must be a non-empty string.")
    if "requirements" in message and message["requirements"] not in REQUIREMENTS:
        problems.append(
            "'requirements' must be LISTING, LISTING_PRODUCT_ONLY or LISTING_OFFER_ONLY."
        )
    if "attributes" in message and (
        not isinstance(message["attributes"], dict) or not message["attributes"]
    ):
        problems.append("'attributes' must be a non-empty object.")
    if "patches" in message:
        problems.extend(_patches_problems(message["patches"]))
    if operation in OPERATION_TYPES:
        problems.extend(_operation_problems(message, operation))
    return problems


# Per operation type: the fields it requires and the fields it must not carry (schema oneOf).
_OPERATION_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "UPDATE": (("productType", "attributes"), ("patches",)),
    "PARTIAL_UPDATE": (("productType", "attributes"), ("requirements", "patches")),
    "PATCH": (("productType", "patches"), ("requirements", "attributes")),
    "DELETE": ((), ("requirements", "attributes", "productType", "patches")),
}


def _operation_problems(message: dict[str, Any], operation: str) -> list[str]:
    required, forbidden = _OPERATION_FIELDS[operation]
    problems = [
        f"'{name}' is required for {operation}." for name in required if name not in message
    ]
    problems.extend(
        f"'{name}' is not applicable to {operation}." for name in forbidden if name in message
    )
    return problems


def _patches_problems(patches: Any) -> list[str]:
    if not isinstance(patches, list) or not patches:
        return ["'patches' must be a non-empty array."]
    problems: list[str] = []
    for index, patch in enumerate(patches):
        where = f"patches[{index}]"
        if not isinstance(patch, dict):
            problems.append(f"'{where}' must be an object.")
            continue
        if patch.get("op") not in PATCH_OPS:
            problems.append(f"'{where}.op' must be one of add, replace, merge, delete.")
        path = patch.get("path")
        if (
            not isinstance(path, str)
            or not path.startswith("/attributes/")
            or len(path.split("/")) != 3  # listings patches replace whole attributes
            or path == "/attributes/"
        ):
            problems.append(f"'{where}.path' must be a JSON pointer to /attributes/<name>.")
        if "value" in patch:
            value = patch["value"]
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                problems.append(f"'{where}.value' must be an array of objects.")
        elif patch.get("op") != "delete":
            problems.append(f"'{where}.value' is required for op '{patch.get('op')}'.")
    return problems


# --- one message: application ------------------------------------------------------------


def _apply(
    message: dict[str, Any], listings: dict[str, Listing], context: FeedContext
) -> list[Issue]:
    """Apply one message to ``listings``; its warnings (it is applied all the same)."""
    sku: str = message["sku"]
    operation: str = message["operationType"]
    existing = listings.get(sku)
    if operation == "DELETE":
        listings.pop(sku, None)
        return []
    if operation == "UPDATE":
        listings[sku] = _updated_listing(message, existing, context)
        return _price_warnings(message, existing, listings[sku])
    if existing is None:
        raise _MessageInvalid(
            _issue(
                message,
                IssueCode.SKU_NOT_FOUND,
                f"The SKU '{sku}' does not match any listing of this seller; "
                "create it with an UPDATE message first.",
            )
        )
    if operation == "PATCH":
        changes = [(p["op"], p["path"].split("/")[2], p.get("value")) for p in message["patches"]]
    else:  # PARTIAL_UPDATE is a "replace" patch of every attribute given
        changes = [("replace", name, value) for name, value in message["attributes"].items()]
    listing = existing
    issues: list[Issue] = []
    for op, attribute, value in changes:
        try:
            listing = _with_attribute(listing, op, attribute, value, message, context)
        except _MessageInvalid as invalid:
            issues.extend(invalid.issues)
    if issues:
        raise _MessageInvalid(*issues)
    listings[sku] = replace(listing, product_type=message["productType"])
    return _price_warnings(message, existing, listings[sku])


# A new price this many times the last one, or this fraction of it, is applied with a
# warning: Amazon flags such jumps as likely pricing mistakes. The sandbox's one WARNING,
# so that results with warnings can be exercised end to end.
PRICE_JUMP = Decimal(10)


def _price_warnings(message: dict[str, Any], before: Listing | None, after: Listing) -> list[Issue]:
    if before is None or before.price is None or after.price is None:
        return []
    if before.price / PRICE_JUMP < after.price < before.price * PRICE_JUMP:
        return []
    warning = _issue(
        message,
        IssueCode.PRICE_FAR_OFF,
        f"The price {after.price} is far from the listing's last price {before.price}; "
        "check it is not a mistake.",
        OFFER_ATTRIBUTE,
    )
    return [replace(warning, severity=Severity.WARNING)]


def _with_attribute(
    listing: Listing,
    op: str,
    attribute: str,
    value: Any,
    message: dict[str, Any],
    context: FeedContext,
) -> Listing:
    if attribute == QUANTITY_ATTRIBUTE:
        if op == "delete":
            return replace(listing, quantity=0)
        quantity = _quantity(value, message)
        return listing if quantity is None else replace(listing, quantity=quantity)
    if attribute == OFFER_ATTRIBUTE:
        if op == "delete":
            return replace(listing, price=None, currency=None)
        price, currency = _offer(value, message, context)
        return replace(listing, price=price, currency=currency)
    # Attributes the sandbox does not model are kept as given, like Amazon stores them.
    attributes = dict(listing.attributes)
    if op == "delete":
        attributes.pop(attribute, None)
    else:
        attributes[attribute] = value
    return replace(listing, attributes=attributes)


def _updated_listing(
    message: dict[str, Any], existing: Listing | None, context: FeedContext
) -> Listing:
    """UPDATE: the full set of attributes, replacing whatever the SKU had."""
    attributes: dict[str, Any] = message["attributes"]
    issues: list[Issue] = []
    asin = existing.asin if existing else None
    try:
        item = _catalog_item(attributes, message, context.catalog)
        if item is not None:
            asin = item.asin
    except _MessageInvalid as invalid:
        issues.extend(invalid.issues)
    if asin is None and not issues:
        issues.append(
            _issue(
                message,
                IssueCode.REQUIRED_MISSING,
                f"'[{ASIN_ATTRIBUTE}]' or '[{PRODUCT_ID_ATTRIBUTE}]' is required but not supplied.",
                ASIN_ATTRIBUTE,
            )
        )
    quantity: int | None = 0
    price: Decimal | None = None
    currency: str | None = None
    try:
        if QUANTITY_ATTRIBUTE in attributes:
            quantity = _quantity(attributes[QUANTITY_ATTRIBUTE], message)
    except _MessageInvalid as invalid:
        issues.extend(invalid.issues)
    try:
        if OFFER_ATTRIBUTE in attributes:
            price, currency = _offer(attributes[OFFER_ATTRIBUTE], message, context)
    except _MessageInvalid as invalid:
        issues.extend(invalid.issues)
    if issues:
        raise _MessageInvalid(*issues)
    assert asin is not None  # no issues means an ASIN was found
    kept = {
        name: value
        for name, value in attributes.items()
        if name not in (QUANTITY_ATTRIBUTE, OFFER_ATTRIBUTE)
    }
    return Listing(
        sku=message["sku"],
        asin=asin,
        quantity=quantity or 0,
        price=price,
        currency=currency,
        product_type=message["productType"],
        condition=_first_value(attributes.get("condition_type")) or "new_new",
        title=_first_value(attributes.get("item_name")),
        created_at=existing.created_at if existing else context.now,
        attributes=kept,
    )


def _catalog_item(
    attributes: dict[str, Any], message: dict[str, Any], catalog: Catalog
) -> CatalogItem | None:
    """The catalog item an UPDATE names, by suggested ASIN or by EAN/UPC/GTIN."""
    suggested = _first_value(attributes.get(ASIN_ATTRIBUTE))
    if suggested is not None:
        item = catalog.by_asin(suggested)
        if item is None:
            raise _MessageInvalid(
                _issue(
                    message,
                    IssueCode.PRODUCT_NOT_FOUND,
                    f"The ASIN '{suggested}' does not match any item in the Amazon catalog.",
                    ASIN_ATTRIBUTE,
                )
            )
        return item
    identifiers = attributes.get(PRODUCT_ID_ATTRIBUTE)
    if identifiers is None:
        return None
    entry = identifiers[0] if isinstance(identifiers, list) and identifiers else None
    if (
        not isinstance(entry, dict)
        or str(entry.get("type", "")).lower() not in PRODUCT_ID_TYPES
        or not isinstance(entry.get("value"), str)
    ):
        raise _MessageInvalid(
            _issue(
                message,
                IssueCode.INVALID_VALUE,
                f"'{PRODUCT_ID_ATTRIBUTE}' needs [{{type: ean|upc|gtin|isbn|jan, value}}].",
                PRODUCT_ID_ATTRIBUTE,
            )
        )
    item = catalog.by_product_code(entry["value"])
    if item is None:
        raise _MessageInvalid(
            _issue(
                message,
                IssueCode.PRODUCT_NOT_FOUND,
                f"The {str(entry['type']).upper()} '{entry['value']}' does not match any item "
                "in the Amazon catalog.",
                PRODUCT_ID_ATTRIBUTE,
            )
        )
    return item


def _first_value(attribute: Any) -> str | None:
    """``[{"value": X, ...}]`` → X, the shape of most listing attributes."""
    if isinstance(attribute, list) and attribute and isinstance(attribute[0], dict):
        value = attribute[0].get("value")
        if isinstance(value, str) and value:
            return value
    return None


def _quantity(value: Any, message: dict[str, Any]) -> int | None:
    """The merchant-fulfilled quantity of a fulfillment_availability value, or None when
    the value names only Amazon-fulfilled channels (whose stock Amazon counts itself)."""
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise _MessageInvalid(
            _value_issue(message, QUANTITY_ATTRIBUTE, "must be a non-empty array of objects")
        )
    entry = next(
        (v for v in value if v.get("fulfillment_channel_code", "DEFAULT") == "DEFAULT"), None
    )
    if entry is None:
        return None
    quantity = entry.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        problem = f"must be an integer, not {json.dumps(quantity)}"
    elif quantity < 0:
        problem = f"must be 0 or more, not {quantity}"
    else:
        return quantity
    raise _MessageInvalid(_value_issue(message, f"{QUANTITY_ATTRIBUTE}.quantity", problem))


def _offer(value: Any, message: dict[str, Any], context: FeedContext) -> tuple[Decimal, str]:
    """Price and currency of a purchasable_offer value (the offer for audience ALL)."""
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        raise _MessageInvalid(
            _value_issue(message, OFFER_ATTRIBUTE, "must be a non-empty array of objects")
        )
    offer = next((v for v in value if v.get("audience", "ALL") == "ALL"), value[0])
    issues: list[Issue] = []
    marketplace = offer.get("marketplace_id")
    if marketplace is not None and marketplace not in context.marketplace_ids:
        issues.append(
            _value_issue(
                message,
                f"{OFFER_ATTRIBUTE}.marketplace_id",
                f"names marketplace '{marketplace}', which this submission is not for",
            )
        )
    currency = offer.get("currency")
    if not (
        isinstance(currency, str)
        and len(currency) == 3
        and currency.isalpha()
        and currency.isupper()
    ):
        issues.append(
            _value_issue(
                message, f"{OFFER_ATTRIBUTE}.currency", "must be an ISO-4217 code like 'EUR'"
            )
        )
    price = _our_price(offer.get("our_price"))
    if price is None:
        issues.append(
            _value_issue(
                message,
                f"{OFFER_ATTRIBUTE}.our_price",
                "needs [{schedule: [{value_with_tax: <number greater than 0>}]}]",
            )
        )
    if issues:
        raise _MessageInvalid(*issues)
    assert price is not None and isinstance(currency, str)
    return price, currency


def _our_price(our_price: Any) -> Decimal | None:
    try:
        amount = our_price[0]["schedule"][0]["value_with_tax"]
    except (TypeError, LookupError):
        return None
    # A JSON number only: the schema types value_with_tax as number, not string.
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return None
    price = Decimal(str(amount))
    return price if price.is_finite() and price > 0 else None


def _value_issue(message: dict[str, Any], attribute: str, problem: str) -> Issue:
    return _issue(
        message, IssueCode.INVALID_VALUE, f"The value of '{attribute}' {problem}.", attribute
    )
