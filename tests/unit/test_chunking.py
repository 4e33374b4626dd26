"""Item lists cut so that no message exceeds the bound, whatever the job's size."""

from __future__ import annotations

import pytest

from shared.chunking import TooLarge, request_parts, split_items
from shared.codec import encode
from shared.events import (
    ItemState,
    JobDone,
    JobItemsRecorded,
)
from shared.jobs import JobStatus, JobType
from shared.limits import MAX_ITEMS, MAX_MESSAGE_BYTES
from tests.factories import job_event, job_requested, reserved


def send_item(n: int) -> dict[str, object]:
    return {
        "sku": f"S{n:039d}",
        "ean": f"{n:013d}",
        "quantity": 2_000_000_000,
        "price": "99999999.99",
        "currency": "EUR",
        "condition": "c" * 64,
        "product_type": "p" * 64,
    }


def test_a_request_of_25000_of_the_largest_items_goes_in_parts_under_the_bound() -> None:
    items = [send_item(n) for n in range(MAX_ITEMS)]
    request = job_requested(JobType.SEND_PRODUCTS, items, job_id="big")
    parts = request_parts(request)
    assert len(parts) > 1
    assert all(len(encode(p)) <= MAX_MESSAGE_BYTES for p in parts)
    assert [p.part for p in parts] == list(range(1, len(parts) + 1))
    assert {p.parts for p in parts} == {len(parts)}
    assert len({p.event_id for p in parts}) == len(parts)
    assert [i for p in parts for i in p.items or []] == items


def test_non_ascii_text_is_counted_as_the_bytes_it_is_on_the_bus() -> None:
    """A 4-byte character is 4 bytes in the message, not the 12 of a JSON escape: 25,000
    items with every text at its length in such characters fit, each part under the bound."""
    wide = "\U0001f600"
    items = [
        {**send_item(n), "condition": wide * 64, "product_type": wide * 64}
        for n in range(MAX_ITEMS)
    ]
    request = job_requested(JobType.SEND_PRODUCTS, items, job_id="wide")
    parts = request_parts(request)
    sizes = [len(encode(p)) for p in parts]
    assert max(sizes) <= MAX_MESSAGE_BYTES
    assert max(sizes) > MAX_MESSAGE_BYTES * 0.9  # parts are filled, not cut 3x too small


def test_a_small_request_is_one_plain_message() -> None:
    request = job_requested(JobType.UPDATE_QTY, [{"sku": "A", "quantity": 1}], job_id="s")
    assert request_parts(request) == [request]


@pytest.mark.parametrize(
    ("count", "pad", "reason"),
    [(65, 400_000, "at most 64"), (2, 900_000, "cannot fit in a message")],
)
def test_items_no_allowed_parts_can_carry_are_refused(count: int, pad: int, reason: str) -> None:
    request = job_requested(JobType.UPDATE_QTY, [{"sku": "A", "pad": "x" * pad}] * count)
    with pytest.raises(TooLarge, match=reason):
        request_parts(request)


def results(n: int) -> list[ItemState]:
    return [
        ItemState(
            key=f"S{i:039d}",
            status="error",
            request=send_item(i),
            messages=["m" * 1000] * 3,
            before={"quantity": 1, "price": "1.00", "status": "active"},
            asin="B000000000",
        )
        for i in range(n)
    ]


def test_a_first_event_is_followed_by_its_chunks_in_its_own_status() -> None:
    first = reserved("j", results(3000))
    out = split_items(first, None)
    assert out[0].event_type == "JobReserved" and out[0].items is None
    assert all(isinstance(e, JobItemsRecorded) for e in out[1:])
    assert {e.status for e in out[1:]} == {JobStatus.RESERVED}
    assert sum(len(e.items or []) for e in out) == 3000
    assert all(len(encode(e)) <= MAX_MESSAGE_BYTES for e in out)


def test_a_later_event_is_preceded_by_its_chunks_in_the_status_before_it() -> None:
    done = job_event(
        JobDone,
        job_id="j",
        seq=7,
        items=results(MAX_ITEMS),
    )
    out = split_items(done, JobStatus.WAITING_FOR_RESULT)
    assert out[-1].event_type == "JobDone" and out[-1].items is None and out[-1].seq == 7
    chunks = out[:-1]
    assert {e.status for e in chunks} == {JobStatus.WAITING_FOR_RESULT}
    assert {e.seq for e in chunks} == {7}
    assert [i.key for e in chunks for i in e.items or []] == [i.key for i in results(MAX_ITEMS)]
    assert max(len(encode(e)) for e in out) <= MAX_MESSAGE_BYTES


def test_an_event_whose_items_fit_stays_whole() -> None:
    done = job_event(
        JobDone,
        job_id="j",
        seq=7,
        items=results(10),
    )
    assert split_items(done, JobStatus.WAITING_FOR_RESULT) == [done]
