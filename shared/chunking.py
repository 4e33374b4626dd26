"""Splitting item lists so that no message exceeds the bound (shared.limits).

Two places carry a job's items: the request (``JobRequested``, in parts) and the job's
events (item states, in ``JobItemsRecorded`` chunks beside a status event). Both are cut
here by encoded size, so a job of 25,000 items of any allowed size fits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from uuid import uuid4

from shared.events import ItemState, JobEvent, JobItemsRecorded, JobRequested
from shared.jobs import JobStatus
from shared.limits import ITEM_CHUNK_BYTES, MAX_MESSAGE_BYTES, MAX_REQUEST_PARTS

T = TypeVar("T")

# A request part's items take at most this much, leaving room for the envelope.
REQUEST_PART_BYTES = MAX_MESSAGE_BYTES - 16 * 1024


class TooLarge(ValueError):
    """Items that no number of allowed parts can carry."""


def chunks_by_size(items: Sequence[T], size_of: Callable[[T], int], budget: int) -> list[list[T]]:
    """Consecutive runs of ``items`` whose sizes add up to at most ``budget`` each (an item
    larger than the budget alone is a run of its own; callers bound item sizes)."""
    runs: list[list[T]] = []
    current: list[T] = []
    used = 0
    for item in items:
        size = size_of(item) + 1  # the comma between items
        if current and used + size > budget:
            runs.append(current)
            current, used = [], 0
        current.append(item)
        used += size
    if current:
        runs.append(current)
    return runs


def _item_bytes(item: ItemState) -> int:
    return len(item.__pydantic_serializer__.to_json(item))


def _request_item_bytes(item: dict[str, Any]) -> int:
    # As the codec writes it: UTF-8 as it is (json.dumps' default \u escapes would count
    # a 4-byte character as 12 bytes and refuse requests that fit).
    text = json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str)
    return len(text.encode("utf-8"))


def split_items(
    event: JobEvent, status_before: JobStatus | None, budget: int = ITEM_CHUNK_BYTES
) -> list[JobEvent]:
    """``event`` as it goes on the bus: alone when its items fit ``budget``, else without
    items and with ``JobItemsRecorded`` chunks carrying them.

    The chunks come after a job's first event (there is no job to add items to before it)
    and before any other event, in the status the job has when they are folded, so that
    every reader applies them (the projection applies an annotation's items only while
    the job is in the annotation's status)."""
    items = event.items or []
    if not items or sum(_item_bytes(i) + 1 for i in items) <= budget:
        return [event]
    first = event.seq == 1 and not event.IS_ANNOTATION
    status = event.status if first or status_before is None else status_before
    chunks: list[JobEvent] = [
        JobItemsRecorded(
            job_id=event.job_id,
            seq=event.seq,
            shop_id=event.shop_id,
            account_id=event.account_id,
            job_type=event.job_type,
            status=status,
            items=run,
        )
        for run in chunks_by_size(items, _item_bytes, budget)
    ]
    bare = event.model_copy(update={"items": None})
    return [bare, *chunks] if first else [*chunks, bare]


def request_parts(request: JobRequested, budget: int = REQUEST_PART_BYTES) -> list[JobRequested]:
    """A request as the messages that carry it: itself when it fits, else ``parts``
    copies (new event ids), each with its share of the items."""
    items = request.items or []
    if sum(_request_item_bytes(i) + 1 for i in items) <= budget:
        return [request.model_copy(update={"part": 1, "parts": 1})]
    sizes = [_request_item_bytes(i) for i in items]
    if max(sizes) > budget:
        raise TooLarge(f"an item of {max(sizes)} bytes cannot fit in a message")
    runs = chunks_by_size(items, _request_item_bytes, budget)
    if len(runs) > MAX_REQUEST_PARTS:
        raise TooLarge(
            f"{len(items)} items need {len(runs)} messages; at most {MAX_REQUEST_PARTS} are allowed"
        )
    return [
        request.model_copy(
            update={"event_id": uuid4(), "items": run, "part": n, "parts": len(runs)}
        )
        for n, run in enumerate(runs, start=1)
    ]
