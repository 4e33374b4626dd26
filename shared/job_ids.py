"""Every job id the submitter ever saw, compactly, so a repeat of any age is recognised.

Per partition of ``amazon.job-events``: 64-bit hashes of job ids, each with a 32-bit hash
of its shop (≈ 12 bytes a job; 1,000,000 jobs are 12 MB), kept in sorted arrays. On the
registry topic (compacted, partitioned like job-events) a partition is a few *segments*
(``s:<n>``, up to SEGMENT_SIZE ids each, written once) and small *deltas* (``d:<n>``, the
ids added since the last flush); when the deltas add up to a segment they are written as
one and tombstoned. Restoring a partition reads its segments and deltas: time and memory
grow by 12 bytes a job, not by the events jobs had (docs/design.md §14). Pure.

A new id is taken for a repeat only if its 64-bit hash equals one of the n registered:
odds n / 2^64 per request, about 5 in 10^14 with a million jobs.
"""

from __future__ import annotations

import base64
import hashlib
from array import array
from bisect import bisect_left
from typing import Literal

from pydantic import Field

from shared.events import Event, event

SEGMENT_SIZE = 25_000  # 300 KB packed, 400 KB in base64: under the message bound
MAX_DELTAS = 200  # deltas before they are merged into segments whatever their size

Record = tuple[str, Event | None]


def job_hash(job_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(job_id.encode(), digest_size=8).digest(), "big")


def shop_hash(shop_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(shop_id.encode(), digest_size=4).digest(), "big")


@event
class JobIdSegment(Event):
    """Job ids (hashed) of one partition: a segment (``s:<n>``) or a delta (``d:<n>``)."""

    event_type: Literal["JobIdSegment"] = "JobIdSegment"
    partition: int = Field(ge=0)
    kind: Literal["segment", "delta"]
    number: int = Field(ge=0)
    count: int = Field(ge=0)
    jobs: str  # base64 of count big-endian u64 job hashes, ascending
    shops: str  # base64 of count big-endian u32 shop hashes, aligned with jobs


def _pack(
    entries: list[tuple[int, int]], kind: Literal["segment", "delta"], number: int, partition: int
) -> JobIdSegment:
    entries = sorted(entries)
    jobs = array("Q", (j for j, _ in entries))
    shops = array("I", (s for _, s in entries))
    jobs.byteswap()
    shops.byteswap()
    return JobIdSegment(
        partition=partition,
        kind=kind,
        number=number,
        count=len(entries),
        jobs=base64.b64encode(jobs.tobytes()).decode("ascii"),
        shops=base64.b64encode(shops.tobytes()).decode("ascii"),
    )


def _unpack(segment: JobIdSegment) -> tuple[array[int], array[int]]:
    jobs = array("Q")
    jobs.frombytes(base64.b64decode(segment.jobs))
    shops = array("I")
    shops.frombytes(base64.b64decode(segment.shops))
    jobs.byteswap()
    shops.byteswap()
    if len(jobs) != segment.count or len(shops) != segment.count:
        raise ValueError(f"job id segment {segment.kind} {segment.number} is damaged")
    return jobs, shops


class PartitionIds:
    """The job ids of one partition."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self._segments: dict[int, tuple[array[int], array[int]]] = {}
        self._deltas: dict[int, list[tuple[int, int]]] = {}  # written, not yet merged
        self._in_deltas: dict[int, int] = {}  # job hash -> shop hash, over all deltas
        # A restore reads a merge's tombstones one by one: the index is rebuilt once when
        # next used, not once per tombstone (which was quadratic in the deltas read).
        self._in_deltas_stale = False
        self._recent: dict[int, int] = {}  # job hash -> shop hash, not yet written
        self._next_segment = 0
        self._next_delta = 0

    def __len__(self) -> int:
        """Ids registered (an id in a segment and a delta after a crash counts twice)."""
        return (
            sum(len(j) for j, _ in self._segments.values())
            + len(self._deltas_index())
            + len(self._recent)
        )

    # ------------------------------------------------------------------ restore

    def load(self, key: str, value: Event | None) -> None:
        kind, _, number_text = key.partition(":")
        if not number_text.isdigit():
            return
        number = int(number_text)
        if value is None:
            if kind == "s":
                self._segments.pop(number, None)
            elif self._deltas.pop(number, None) is not None:
                self._in_deltas_stale = True
            return
        if not isinstance(value, JobIdSegment):
            return
        jobs, shops = _unpack(value)
        if value.kind == "segment":
            self._segments[number] = (jobs, shops)
            self._next_segment = max(self._next_segment, number + 1)
        else:
            self._deltas[number] = list(zip(jobs, shops, strict=True))
            if not self._in_deltas_stale:
                self._in_deltas.update(self._deltas[number])
            self._next_delta = max(self._next_delta, number + 1)

    def _deltas_index(self) -> dict[int, int]:
        if self._in_deltas_stale:
            self._in_deltas = {j: s for d in self._deltas.values() for j, s in d}
            self._in_deltas_stale = False
        return self._in_deltas

    # ------------------------------------------------------------------ use

    def shop_of(self, job_id: str) -> int | None:
        """The shop hash a job id was registered with, or None if it never was."""
        h = job_hash(job_id)
        found = self._recent.get(h)
        if found is None:
            found = self._deltas_index().get(h)
        if found is not None:
            return found
        for jobs, shops in self._segments.values():
            i = bisect_left(jobs, h)
            if i < len(jobs) and jobs[i] == h:
                return int(shops[i])
        return None

    def add(self, job_id: str, shop_id: str) -> None:
        self._recent[job_hash(job_id)] = shop_hash(shop_id)

    @property
    def dirty(self) -> bool:
        return bool(self._recent)

    def flush(self) -> list[Record]:
        """Records that make the registry topic hold every id added so far."""
        if not self._recent:
            return []
        recent = list(self._recent.items())
        self._recent = {}
        records: list[Record] = []
        # A burst can add more ids between two flushes than one record holds.
        for start in range(0, len(recent), SEGMENT_SIZE):
            entries = recent[start : start + SEGMENT_SIZE]
            number = self._next_delta
            self._next_delta += 1
            self._deltas[number] = entries
            self._deltas_index().update(entries)
            records.append((f"d:{number}", _pack(entries, "delta", number, self.partition)))
        pending = sum(len(d) for d in self._deltas.values())
        if pending >= SEGMENT_SIZE or len(self._deltas) >= MAX_DELTAS:
            records.extend(self._merge_deltas())
        return records

    def _merge_deltas(self) -> list[Record]:
        merged = sorted({j: s for d in self._deltas.values() for j, s in d}.items())
        records: list[Record] = []
        for start in range(0, len(merged), SEGMENT_SIZE):
            run = merged[start : start + SEGMENT_SIZE]
            number = self._next_segment
            self._next_segment += 1
            segment = _pack(run, "segment", number, self.partition)
            self._segments[number] = _unpack(segment)
            records.append((f"s:{number}", segment))
        # Segments first, then the tombstones: a crash between leaves ids twice, never none.
        records.extend((f"d:{n}", None) for n in sorted(self._deltas))
        self._deltas = {}
        self._in_deltas = {}
        self._in_deltas_stale = False
        return records
