"""No message on any topic exceeds the bound, whatever the job's size: every event type
built at its largest — 25,000 items of the longest allowed values, every text at its
limit — goes out within MAX_MESSAGE_BYTES (docs/design.md §10, §11)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.chunking import request_parts, split_items
from shared.codec import encode
from shared.events import (
    EVENT_TYPES,
    AccountRegistered,
    CancelRequested,
    EncryptedCredentials,
    Event,
    InventoryRow,
    ItemState,
    JobEvent,
    JobRequested,
    ListingState,
    LogLine,
    OrderImported,
    OrderLine,
    OrderShipped,
    PriceChanged,
    ShippedItem,
    StockChanged,
)
from shared.job_ids import SEGMENT_SIZE, PartitionIds
from shared.jobs import JobStatus, JobType
from shared.kafka.dead_letters import dead_letter_for
from shared.limits import MAX_ITEMS, MAX_MESSAGE_BYTES, MAX_QUANTITY
from shared.live_jobs import LiveJobs
from shared.registry import all_event_types
from shared.schedules import MAX_INTERVAL_S, ScheduleDefined, ScheduleRan
from shared.throttle.messages import (
    BucketSnapshot,
    QuotaFeedback,
    QuotaKey,
    TokenCancelled,
    TokenGranted,
    TokenReleased,
    TokenRequested,
)
from shared.webhooks import (
    EVENT_NAMES,
    MAX_URL,
    WebhookAttempted,
    WebhookDefined,
    WebhookDelivery,
)

NOW = datetime(2026, 12, 2, tzinfo=UTC)
ID64 = "i" * 64
JOB_ID = "j" * 128
KEY = QuotaKey(seller_id=ID64, region="EU", quota_class="feed_submit")
AMAZON_ID = "a" * 256
COUNT = 2**31 - 1
# Every key a job event's data may carry, at its largest. JobSubmitted's legacy maps
# (``messages``, ``asins``) are read from old jobs, never written, so they are left out.
LARGEST_DATA: dict[str, Any] = {
    "marketplace_id": ID64,
    "automatic": True,
    "listings_marked": True,
    "urgent": True,
    "params": {"since": NOW.isoformat(), "page_size": 100},
    "priority": 1_000,
    "retry_of": JOB_ID,
    "schedule_id": ID64,
    "feed_id": AMAZON_ID,
    "feed_type": AMAZON_ID,
    "input_document_id": AMAZON_ID,
    "report_id": AMAZON_ID,
    "report_type": AMAZON_ID,
    "submitted_at": NOW,
    "processing_status": "IN_PROGRESS",
    "processing_end_time": NOW,
    "result_document_id": AMAZON_ID,
    "no_data": True,
    "failure": "malformed_result",
    "error": "e" * 10_000,  # cut to 4,000 characters
    "rejected": True,
    "waited_s": COUNT,
    **dict.fromkeys(("processed", "accepted", "errors", "warnings", "rows", "removed"), COUNT),
    "orders": COUNT,
    "pages": COUNT,
    "sending": True,
    "cursor": "c" * 8_192,
    "cancel_rejected": "r" * 10_000,  # cut to 2,000 characters
}


def largest_data(cls: type[JobEvent]) -> dict[str, Any]:
    """The largest payload of ``cls``: every key it declares at its largest."""
    declared = cls.model_fields["data"].annotation.model_fields  # type: ignore[union-attr]
    return {k: v for k, v in LARGEST_DATA.items() if k in declared}


def send_item(n: int) -> dict[str, Any]:
    """A send_products item at its largest."""
    return {
        "sku": f"{n:040d}",
        "ean": f"{n:014d}",
        "quantity": MAX_QUANTITY,
        "price": "9999999999.99",
        "currency": "EUR",
        "condition": "c" * 64,
        "product_type": "p" * 64,
    }


def item_state(n: int, issues: list[str]) -> ItemState:
    """An item state with the longest request, the listing before and ``issues``."""
    return ItemState(
        key=f"{n:040d}",
        status="warning",
        request=send_item(n),
        messages=issues,
        before={
            "asin": "B000000000",
            "status": "active",
            "quantity": MAX_QUANTITY,
            "price": "9999999999.99",
            "currency": "EUR",
            "last_job_id": JOB_ID,
            "issues": ["x" * 1_000] * 20,
            "as_of": NOW.isoformat(),
        },
        asin="B000000000",
    )


_ITEMS: list[ItemState] = []


def items() -> list[ItemState]:
    """25,000 items with three long issues each (built once: they are many)."""
    if not _ITEMS:
        _ITEMS.extend(item_state(n, ["m" * 300] * 3) for n in range(MAX_ITEMS))
    return _ITEMS


def test_one_item_at_its_very_largest_fits_a_chunk() -> None:
    # Amazon's issues are cut to 20 of 1,000 characters each on the way in.
    one = item_state(0, ["m" * 5_000] * 50)
    assert len(one.messages) == 20 and max(map(len, one.messages)) <= 1_000
    event = job_events_of(EVENT_TYPES["JobDone"], [one] * 1)  # type: ignore[arg-type]
    assert max(len(encode(e)) for e in event) <= MAX_MESSAGE_BYTES


def log_lines() -> list[LogLine]:
    return [LogLine(level="warning", message="l" * 10_000) for _ in range(5)]


def job_events(cls: type[JobEvent]) -> list[JobEvent]:
    return job_events_of(cls, items())


def job_events_of(cls: type[JobEvent], states: list[ItemState]) -> list[JobEvent]:
    seq = 1 if cls.__name__ in ("JobReserved", "JobFailed") else 7
    make: Any = cls  # each concrete event class defaults its own event_type
    event = make(
        job_id=JOB_ID,
        seq=seq,
        shop_id=ID64,
        account_id=ID64,
        job_type=JobType.SEND_PRODUCTS,
        status=cls.TARGET or JobStatus.WAITING_FOR_RESULT,
        data=largest_data(cls),
        log=log_lines(),
        items=states,
    )
    return split_items(event, JobStatus.WAITING_FOR_RESULT)


def largest(event_type: str) -> list[Event]:
    """The messages one event of ``event_type`` goes out as, at its largest."""
    cls: Any = EVENT_TYPES[event_type]
    if issubclass(cls, JobEvent):
        return list(job_events(cls))
    simple: dict[str, Any] = {
        "JobRequested": lambda: request_parts(
            JobRequested(
                job_id=JOB_ID,
                shop_id=ID64,
                account_id=ID64,
                job_type=JobType.SEND_PRODUCTS,
                items=[send_item(n) for n in range(MAX_ITEMS)],
                schedule_id=ID64,
            )
        ),
        "CancelRequested": lambda: [CancelRequested(job_id=JOB_ID, shop_id=ID64)],
        "StockChanged": lambda: [StockChanged(shop_id=ID64, sku="s" * 40, quantity=MAX_QUANTITY)],
        "PriceChanged": lambda: [
            PriceChanged(shop_id=ID64, sku="s" * 40, price=Decimal("9999999999.99"), currency="EUR")
        ],
        "OrderShipped": lambda: [
            OrderShipped(
                shop_id=ID64,
                account_id=ID64,
                amazon_order_id="123-1234567-1234567",
                carrier="c" * 64,
                tracking_number="t" * 64,
                shipped_at=NOW,
                items=[
                    ShippedItem(order_item_id="o" * 64, quantity=MAX_QUANTITY) for _ in range(1_000)
                ],
            )
        ],
        "ListingState": lambda: [
            ListingState(
                account_id=ID64,
                shop_id=ID64,
                sku="s" * 40,
                asin="B000000000",
                status="active",
                quantity=MAX_QUANTITY,
                price=Decimal("9999999999.99"),
                currency="EUR",
                last_job_id=JOB_ID,
                issues=["x" * 5_000] * 100,
                as_of=NOW,
            )
        ],
        "InventoryRow": lambda: [
            InventoryRow(
                account_id=ID64,
                shop_id=ID64,
                sku="s" * 40,
                title="t" * 2_000,
                report_id="r" * 64,
                job_id=JOB_ID,
            )
        ],
        "OrderImported": lambda: [
            OrderImported(
                account_id=ID64,
                shop_id=ID64,
                amazon_order_id="123-1234567-1234567",
                status="Shipped",
                items=[OrderLine(order_item_id="o" * 64, sku="s" * 40) for _ in range(100)],
                job_id=JOB_ID,
            )
        ],
        "AccountRegistered": lambda: [
            AccountRegistered(
                account_id=ID64,
                shop_id=ID64,
                name="n" * 200,
                seller_id=ID64,
                region="EU",
                marketplace_ids=[ID64] * 50,
                credentials=EncryptedCredentials(key_id="k" * 64, ciphertext="c" * 4_000),
            )
        ],
        "ScheduleDefined": lambda: [
            ScheduleDefined(
                schedule_id=ID64,
                shop_id=ID64,
                account_id=ID64,
                job_type="inventory_report",
                interval_s=MAX_INTERVAL_S,
                params={"report_type": "GET_FLAT_FILE_OPEN_LISTINGS_DATA"},
                anchor=NOW,
                revision=COUNT,
                created_at=NOW,
            )
        ],
        "WebhookDefined": lambda: [
            WebhookDefined(
                webhook_id=ID64,
                shop_id=ID64,
                url="https://" + "u" * (MAX_URL - 8),
                events=list(EVENT_NAMES),
                job_types=list(JobType),
                secret=EncryptedCredentials(key_id="k" * 64, ciphertext="c" * 4_000),
                created_at=NOW,
            )
        ],
        "WebhookDelivery": lambda: [
            WebhookDelivery(
                delivery_id=ID64,
                webhook_id=ID64,
                shop_id=ID64,
                job_id=JOB_ID,
                event="job.canceled",
                partition=COUNT,
                body="b" * 64 * 1024,
                attempts=COUNT,
                created_at=NOW,
                next_attempt_at=NOW,
            )
        ],
        "WebhookAttempted": lambda: [
            WebhookAttempted(
                delivery_id=ID64,
                webhook_id=ID64,
                shop_id=ID64,
                job_id=JOB_ID,
                event="job.canceled",
                attempt=COUNT,
                status_code=599,
                error="e" * 500,
                outcome="given_up",
                next_attempt_at=NOW,
            )
        ],
        "ScheduleRan": lambda: [
            ScheduleRan(schedule_id=ID64, revision=COUNT, slot=COUNT, due_at=NOW)
        ],
        "DeadLettered": lambda: [
            dead_letter_for(
                topic="amazon.job-requests",
                partition=0,
                offset=1,
                key=b"k" * 100_000,
                value=b'{"x": "' + b"\x01" * 1_000_000 + b'"}',
                error="e" * 100_000,
                consumer_group="g",
            )
        ],
        "TokenRequested": lambda: [
            TokenRequested(
                request_id=JOB_ID + ":submit@nonce",
                quota_key=KEY,
                shop_id=ID64,
                job_id=JOB_ID,
                job_type=JobType.SEND_PRODUCTS,
                reply_to="r" * 200,
            )
        ],
        "TokenCancelled": lambda: [TokenCancelled(request_id=JOB_ID, quota_key=KEY)],
        "TokenReleased": lambda: [TokenReleased(request_id=JOB_ID, quota_key=KEY, grant_seq=1)],
        "QuotaFeedback": lambda: [QuotaFeedback(quota_key=KEY, kind="throttled")],
        "TokenGranted": lambda: [
            TokenGranted(
                request_id=JOB_ID,
                quota_key=KEY,
                job_id=JOB_ID,
                reply_to="r" * 200,
                waited_s=1.0,
                grant_seq=1,
                granted_at=NOW,
            )
        ],
        "BucketSnapshot": lambda: [
            BucketSnapshot(quota_key=KEY, tokens=1.0, burst=15, rate_per_s=1.0, queue_depth=1)
        ],
        "JobSnapshot": lambda: [e for e in _snapshots() if e.event_type == "JobSnapshot"],
        "JobItemsSnapshot": lambda: [e for e in _snapshots() if e.event_type == "JobItemsSnapshot"],
        "JobIdSegment": lambda: _id_segments(),
    }
    return list(simple[event_type]())


def _snapshots() -> list[Event]:
    book = LiveJobs()
    for event in job_events(EVENT_TYPES["JobReserved"]):  # type: ignore[arg-type]
        book.record(0, event)
    return [v for _, v in book.changelog(0) if v is not None]


def _id_segments() -> list[Event]:
    ids = PartitionIds(0)
    for n in range(SEGMENT_SIZE * 2 + 5):
        ids.add(f"{n:0128d}", ID64)
    return [v for _, v in ids.flush() if v is not None]


def test_every_key_of_a_job_event_payload_is_at_its_largest_somewhere() -> None:
    declared = {
        key
        for cls in all_event_types().values()
        if issubclass(cls, JobEvent)
        for key in cls.model_fields["data"].annotation.model_fields  # type: ignore[union-attr]
    }
    assert declared - set(LARGEST_DATA) == {"messages", "asins"}


@pytest.mark.parametrize("event_type", sorted(all_event_types()))
def test_every_event_type_fits_the_bound_at_its_largest(event_type: str) -> None:
    messages = largest(event_type)
    assert messages, "an event goes out as at least one message"
    assert all(m.event_type == event_type or m.event_type == "JobItemsRecorded" for m in messages)
    sizes = [len(encode(m)) for m in messages]
    assert max(sizes) <= MAX_MESSAGE_BYTES, (event_type, max(sizes))
