"""Round trips of every event through the one codec, and the reasons bad bytes get."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.codec import DecodeError, decode, encode
from shared.events import (
    EVENT_TYPES,
    UPCASTERS,
    AccountRegistered,
    CancelRequested,
    DeadLettered,
    EncryptedCredentials,
    Event,
    InventoryRow,
    ItemState,
    JobEvent,
    JobFailed,
    JobRequested,
    LogLine,
    OrderImported,
    OrderLine,
    OrderShipped,
    PriceChanged,
    ShippedItem,
    StockChanged,
)
from shared.job_ids import PartitionIds
from shared.job_snapshot import JobItemsSnapshot, JobSnapshot
from shared.jobs import JobStatus, JobType
from shared.quotas import QuotaClass
from shared.registry import all_event_types
from shared.schedules import ScheduleDefined, ScheduleRan
from shared.throttle.messages import (
    BucketSnapshot,
    QuotaFeedback,
    QuotaKey,
    TokenCancelled,
    TokenGranted,
    TokenReleased,
    TokenRequested,
)
from shared.topics import JOB_EVENTS, JOB_REQUESTS
from shared.webhooks import WebhookAttempted, WebhookDefined, WebhookDelivery
from tests.factories import job_event, job_requested, listing_state, stock_changed

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)

# A payload of each job event kind, as its writer puts it on the wire.
JOB_DATA: dict[str, dict[str, Any]] = {
    "JobReserved": {
        "marketplace_id": "A1PA6795UKMFR9",
        "automatic": False,
        "listings_marked": True,
        "params": {"since": "2026-11-01T00:00:00Z", "page_size": 20},
        "priority": 300,
    },
    "JobCreated": {},
    "JobProcessing": {},
    "JobSubmitted": {
        "feed_id": "5001",
        "feed_type": "JSON_LISTINGS_FEED",
        "marketplace_id": "A1PA6795UKMFR9",
        "input_document_id": "amzn1.tortuga.4.eu.in",
        "submitted_at": "2026-11-27T10:00:00Z",
    },
    "JobResultReady": {
        "processing_status": "CANCELLED",
        "processing_end_time": "2026-11-27T10:05:00Z",
        "result_document_id": None,  # said: Amazon named none
        "no_data": True,
    },
    "JobDone": {"processed": 3, "accepted": 2, "errors": 1, "warnings": 0},
    "JobFailed": {
        "failure": "timeout",
        "error": "gave up on feed 5001 after waiting 48.0 h for Amazon",
        "waited_s": 172_800,
    },
    "JobCanceled": {},
    "JobCancelRejected": {"cancel_rejected": "the job was sent to Amazon already"},
    "JobLogged": {"cursor": None, "pages": 3, "orders": 41},
    "JobItemsRecorded": {},
}


def sample(event_type: str) -> Event:
    cls: Any = EVENT_TYPES[event_type]
    if issubclass(cls, JobEvent):
        return job_event(
            cls,
            job_id="ps-shop1-1",
            seq=3,
            status=cls.TARGET or JobStatus.WAITING_FOR_RESULT,
            data=JOB_DATA[event_type],
            log=[LogLine(message="feed 5001 submitted", at=NOW)],
            items=[
                ItemState(
                    key="SKU-1", status="error", request={"quantity": 3}, messages=["unknown SKU"]
                )
            ],
        )
    samples: dict[str, Event] = {
        "JobRequested": job_requested(
            JobType.UPDATE_QTY, [{"sku": "A", "quantity": 7}], job_id="ps-shop1-1", priority=3
        ),
        "CancelRequested": CancelRequested(job_id="ps-shop1-1", shop_id="shop1"),
        "StockChanged": stock_changed("A", 6),
        "PriceChanged": PriceChanged(
            shop_id="shop1", sku="A", price=Decimal("19.99"), currency="EUR"
        ),
        "OrderShipped": OrderShipped(
            shop_id="shop1",
            account_id="acc-de",
            amazon_order_id="028-1234567-1234567",
            carrier="DHL",
            tracking_number="00340434",
            shipped_at=NOW,
            items=[ShippedItem(order_item_id="111", quantity=1)],
        ),
        "ListingState": listing_state("A", asin="B000000001", quantity=3, price=Decimal("9.50")),
        "InventoryRow": InventoryRow(
            account_id="acc-de", shop_id="shop1", sku="A", quantity=3, report_id="r1", job_id="j1"
        ),
        "OrderImported": OrderImported(
            account_id="acc-de",
            shop_id="shop1",
            amazon_order_id="028-1234567-1234567",
            status="Unshipped",
            items=[OrderLine(order_item_id="1", quantity=2)],
            job_id="j2",
        ),
        "AccountRegistered": AccountRegistered(
            account_id="acc-de",
            shop_id="shop1",
            name="DE",
            seller_id="S1",
            region="EU",
            marketplace_ids=["A1PA6795UKMFR9"],
            credentials=EncryptedCredentials(key_id="k1", ciphertext="AAAA"),
        ),
        "ScheduleDefined": ScheduleDefined(
            schedule_id="sch-1",
            shop_id="shop1",
            account_id="acc-de",
            job_type="orders_import",
            interval_s=900,
            params={"page_size": 50},
            anchor=datetime(2026, 11, 27, 9, tzinfo=UTC),
            created_at=datetime(2026, 11, 27, 9, tzinfo=UTC),
        ),
        "ScheduleRan": ScheduleRan(
            schedule_id="sch-1", revision=2, slot=41, due_at=datetime(2026, 11, 27, 9, tzinfo=UTC)
        ),
        "DeadLettered": DeadLettered(
            original_topic="t",
            partition=0,
            offset=5,
            key="k",
            raw_value="{",
            error="malformed JSON",
            consumer_group="g",
        ),
    }
    key = QuotaKey(seller_id="acc-de", region="EU", quota_class=QuotaClass.FEED_SUBMIT)
    samples |= {
        "TokenRequested": TokenRequested(
            request_id="j1:submit",
            quota_key=key,
            shop_id="shop1",
            job_id="j1",
            job_type=JobType.UPDATE_QTY,
            priority=500,
            reply_to="submitter-0",
        ),
        "TokenCancelled": TokenCancelled(request_id="j1:submit", quota_key=key),
        "TokenReleased": TokenReleased(request_id="j1:submit", quota_key=key, grant_seq=3),
        "QuotaFeedback": QuotaFeedback(quota_key=key, kind="observed_rate", rate_per_s=0.5),
        "TokenGranted": TokenGranted(
            request_id="j1:submit",
            quota_key=key,
            job_id="j1",
            reply_to="submitter-0",
            waited_s=1.5,
            grant_seq=3,
            granted_at=NOW,
        ),
        "BucketSnapshot": BucketSnapshot(
            quota_key=key,
            tokens=2.5,
            burst=15,
            rate_per_s=1 / 120,
            queue_depth=4,
            next_grant_at=NOW,
        ),
        "JobSnapshot": JobSnapshot(
            job_id="ps-shop1-1",
            shop_id="shop1",
            account_id="acc-de",
            job_type=JobType.UPDATE_QTY,
            status=JobStatus.CREATED,
            seq=2,
            created_at=NOW,
            updated_at=NOW,
            data={"marketplace_id": "A1PA6795UKMFR9"},
            offset=17,
            item_chunks=1,
        ),
        "JobItemsSnapshot": JobItemsSnapshot(
            job_id="ps-shop1-1",
            chunk=0,
            items=[ItemState(key="A", request={"sku": "A", "quantity": 7})],
        ),
        "JobIdSegment": _ids_delta(),
        "WebhookDefined": WebhookDefined(
            webhook_id="whk-1",
            shop_id="shop1",
            url="https://shop.example/hook",
            events=["job.error"],
            job_types=[JobType.ORDERS_IMPORT],
            secret=EncryptedCredentials(key_id="v2", ciphertext="c2VhbGVk"),
            created_at=NOW,
        ),
        "WebhookDelivery": WebhookDelivery(
            delivery_id="dlv_1",
            webhook_id="whk-1",
            shop_id="shop1",
            job_id="ps-shop1-1",
            event="job.error",
            partition=3,
            body='{"id":"dlv_1"}',
            attempts=1,
            created_at=NOW,
            next_attempt_at=NOW,
        ),
        "WebhookAttempted": WebhookAttempted(
            delivery_id="dlv_1",
            webhook_id="whk-1",
            shop_id="shop1",
            job_id="ps-shop1-1",
            event="job.error",
            attempt=1,
            status_code=500,
            error="answered 500",
            outcome="retrying",
            next_attempt_at=NOW,
        ),
    }
    return samples[event_type]


def _ids_delta() -> Event:
    ids = PartitionIds(4)
    ids.add("ps-shop1-1", "shop1")
    ((_, delta),) = ids.flush()
    assert delta is not None
    return delta


@pytest.mark.parametrize("event_type", sorted(all_event_types()))
def test_round_trip(event_type: str) -> None:
    original = sample(event_type)
    raw = encode(original)
    wire = json.loads(raw)
    # Envelope and fields side by side at the top level, with the stable wire name.
    assert wire["event_type"] == event_type
    assert wire["schema_version"] == 1
    assert wire["occurred_at"].endswith("Z") or wire["occurred_at"].endswith("+00:00")
    again = decode(raw)
    assert type(again) is type(original)
    assert again == original
    if isinstance(original, JobEvent):
        # The payload as its writer set it: the same keys, nulls said kept, nothing added.
        assert wire["data"] == JOB_DATA[event_type]
        assert isinstance(again, JobEvent) and again.data.model_fields_set == set(wire["data"])


def test_every_job_event_kind_has_a_sample_payload() -> None:
    kinds = {n for n, c in all_event_types().items() if issubclass(c, JobEvent)}
    assert kinds == set(JOB_DATA)


def _job_event(event_type: str, data: Any) -> bytes:
    return json.dumps(
        {
            "event_id": "5f0c6c1e-8a52-4a55-9d0c-5b6f3a1e2d11",
            "event_type": event_type,
            "schema_version": 1,
            "occurred_at": "2026-11-27T10:00:00Z",
            "job_id": "j1",
            "seq": 4,
            "shop_id": "shop1",
            "account_id": "acc-de",
            "job_type": "update_qty",
            "status": "waiting_for_result",
            "data": data,
        }
    ).encode()


@pytest.mark.parametrize(
    ("event_type", "data", "reason"),
    [
        ("JobSubmitted", {"feed_id": "5001", "feed_idd": "x"}, "data.feed_idd: Extra inputs"),
        # A key of another kind's payload is as unknown as a misspelt one.
        ("JobSubmitted", {"feed_id": "5001", "failure": "fatal"}, "data.failure: Extra inputs"),
        ("JobProcessing", {"sending": True}, "data.sending: Extra inputs"),
        ("JobFailed", {"failure": "boom"}, "data.failure: Input should be 'rejected'"),
        ("JobDone", {"accepted": "2"}, "data.accepted: Input should be a valid integer"),
        ("JobDone", {"accepted": -1}, "data.accepted: Input should be greater than or equal"),
        ("JobSubmitted", {"submitted_at": "2026-11-27T10:00:00"}, "data.submitted_at"),
        ("JobSubmitted", {"feed_id": ""}, "data.feed_id: String should have at least 1"),
        ("JobSubmitted", ["feed_id"], "data: Input should be a valid dictionary"),
    ],
)
def test_a_payload_with_an_unknown_key_or_a_wrong_type_is_refused(
    event_type: str, data: Any, reason: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        decode(_job_event(event_type, data))
    assert f"invalid {event_type}" in str(caught.value) and reason in str(caught.value)


def test_text_a_payload_quotes_is_cut_to_fit_not_refused() -> None:
    event = decode(_job_event("JobFailed", {"failure": "refused", "error": "e" * 10_000}))
    assert isinstance(event, JobFailed) and event.data.error is not None
    assert 3_900 < len(event.data.error) <= 4_000


def test_contract_example_decodes() -> None:
    raw = json.dumps(
        {
            "event_id": "5f0c6c1e-8a52-4a55-9d0c-5b6f3a1e2d11",
            "event_type": "JobRequested",
            "schema_version": 1,
            "occurred_at": "2026-11-27T10:00:00Z",
            "job_id": "ps-shop1-000123",
            "shop_id": "shop1",
            "account_id": "acc-de",
            "job_type": "update_qty",
            "items": [{"sku": "TSHIRT-RED-M", "quantity": 7}],
        }
    )
    event = decode(raw.encode())
    assert isinstance(event, JobRequested)
    assert event.job_type is JobType.UPDATE_QTY
    assert event.items == [{"sku": "TSHIRT-RED-M", "quantity": 7}]


def _base(**over: Any) -> bytes:
    payload = {
        "event_id": "5f0c6c1e-8a52-4a55-9d0c-5b6f3a1e2d11",
        "event_type": "StockChanged",
        "schema_version": 1,
        "occurred_at": "2026-11-27T10:00:00Z",
        "shop_id": "s",
        "sku": "A",
        "quantity": 1,
    }
    payload.update(over)
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"a": 1}', "missing event_type"),
        (_base(event_type="Nope"), "unknown event_type 'Nope'"),
        (_base(quantity=-1), "quantity: Input should be greater than or equal to 0"),
        (_base(schema_version=9), "newer than this service reads"),
        (_base(schema_version="1"), "schema_version must be a positive integer"),
        (_base(occurred_at="2026-11-27T10:00:00"), "occurred_at"),
        (None, "empty message"),
        (b"[" * 100_000 + b"]" * 100_000, "malformed JSON: nested deeper than the parser allows"),
        (_base(quantity=0).replace(b'"quantity": 0', b'"quantity": ' + b"9" * 5_000), "too long"),
        (_base(quantity=0).replace(b'"quantity": 0', b'"quantity": NaN'), "NaN is not a number"),
        (_base(quantity=0).replace(b'"quantity": 0', b'"quantity": Infinity'), "Infinity is"),
        (_base(quantity=0).replace(b'"quantity": 0', b'"quantity": -Infinity'), "-Infinity is"),
        (_base(quantity=0).replace(b'"quantity": 0', b'"quantity": 1e309'), "1e309 is out of"),
        (_base(quantity=0).replace(b'"quantity": 0', b'"quantity": -1e309'), "-1e309 is out"),
    ],
)
def test_bad_bytes_get_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError, match=None) as info:
        decode(raw)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    "literal",
    [
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e309",
        b"-1e309",
        b"1" + b"0" * 400 + b".5",
        b"9" * 5000,
    ],
)
def test_numbers_python_reads_but_mongodb_would_not_are_malformed_anywhere(literal: bytes) -> None:
    """Deep in a payload field typed Any too, where no schema would look at them."""
    raw = json.dumps(
        {
            "event_type": "JobRequested",
            "schema_version": 1,
            "job_id": "j1",
            "shop_id": "s",
            "account_id": "a",
            "job_type": "update_qty",
            "params": {"x": ["X"]},
        }
    ).encode()
    with pytest.raises(DecodeError) as info:
        decode(raw.replace(b'"X"', literal))
    assert str(info.value).startswith("malformed JSON: ")
    assert len(str(info.value)) < 200  # the literal is not repeated in full


def test_a_message_nested_deep_inside_is_malformed_not_a_crash() -> None:
    deep = b'{"event_type": "StockChanged", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    with pytest.raises(DecodeError, match="nested deeper than the parser allows"):
        decode(deep)


INSERTS = [b"NaN", b"-Infinity", b"1e999", b"[" * 3_000, b"9" * 5_000, b"\\ud800", b"{}"]


def test_whatever_the_bytes_decode_raises_only_decode_error() -> None:
    """Cuts and byte flips of valid events of every type: each decodes or is refused with
    a DecodeError, never another exception a consumer would crash on."""
    import random

    rng = random.Random(1)
    seen_refused = 0
    for event_type in sorted(EVENT_TYPES):
        good = encode(sample(event_type))
        for _ in range(60):
            raw = bytearray(good)
            for _ in range(rng.randrange(1, 4)):
                at = rng.randrange(len(raw))
                if rng.random() < 0.5:
                    raw[at] = rng.choice(b'{}[]":,0123456789eE.-+ntfaxNI\\\x00\xff')
                else:
                    raw[at:at] = rng.choice(INSERTS)
            cut = bytes(raw[: rng.randrange(1, len(raw) + 1)] if rng.random() < 0.3 else raw)
            try:
                decode(cut)
            except DecodeError as exc:
                assert str(exc)
                seen_refused += 1
    assert seen_refused > 0


def test_topic_restricts_event_types() -> None:
    with pytest.raises(DecodeError, match="does not belong on this topic"):
        decode(_base(), JOB_REQUESTS.event_types)
    assert "JobDone" in JOB_EVENTS.event_types


def test_upcaster_runs_before_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(StockChanged, "SCHEMA_VERSION", 2)

    def rename_qty(payload: dict[str, Any]) -> dict[str, Any]:
        payload["quantity"] = payload.pop("qty")
        return payload

    monkeypatch.setitem(UPCASTERS, ("StockChanged", 1), rename_qty)

    raw = _base(qty=4)
    payload = json.loads(raw)
    del payload["quantity"]
    event = decode(json.dumps(payload).encode())
    assert isinstance(event, StockChanged)
    assert event.quantity == 4
    assert event.schema_version == 2


def test_events_are_frozen() -> None:
    event = StockChanged(shop_id="s", sku="A", quantity=1)
    with pytest.raises(ValueError):
        event.quantity = 2  # type: ignore[misc]
