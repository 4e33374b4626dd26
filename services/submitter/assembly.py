"""Requests that come in parts, put back together before anything is decided about them.

A ``JobRequested`` of many items arrives as ``parts`` messages with the same job id
(docs/design.md §11). Parts are kept until all are there, then handed on as one request;
nothing of a request is accepted before that. Bounded: at most ``max_open`` requests are
assembled at once and each for at most ``timeout_s``; a request whose parts disagree,
add up to more than 25,000 items, or do not all come in time is refused as a whole.
Pure: the caller says what time it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.events import JobRequested
from shared.limits import MAX_ITEMS

M = TypeVar("M")  # whatever the caller keeps with each part (its Kafka message)


@dataclass
class Complete(Generic[M]):
    request: JobRequested  # all items, part 1 of 1
    parts: list[M]


@dataclass
class Refused(Generic[M]):
    request: JobRequested  # the first part that came
    reason: str
    parts: list[M]


@dataclass
class Dropped(Generic[M]):
    """A later part of a request already refused: nothing more to say about it."""

    parts: list[M]


@dataclass
class _Open(Generic[M]):
    first: JobRequested
    started: float
    parts: dict[int, JobRequested] = field(default_factory=dict)
    kept: list[M] = field(default_factory=list)
    items: int = 0


class Assembler(Generic[M]):
    def __init__(self, *, max_open: int = 64, timeout_s: float = 300.0) -> None:
        self.max_open = max_open
        self.timeout_s = timeout_s
        self._open: dict[str, _Open[M]] = {}
        self._refused: dict[str, None] = {}  # recent refusals: their later parts are dropped

    def __contains__(self, job_id: str) -> bool:
        return job_id in self._open

    def __len__(self) -> int:
        return len(self._open)

    def add(
        self, part: JobRequested, kept: M, now: float
    ) -> Complete[M] | Refused[M] | Dropped[M] | None:
        """Take one part; the whole request once it is complete, a refusal, or None while
        parts are missing."""
        if part.job_id in self._refused:
            return Dropped([kept])
        current = self._open.get(part.job_id)
        if current is None:
            if len(self._open) >= self.max_open:
                return self._refuse(
                    _Open(part, now, kept=[kept]),
                    f"{self.max_open} requests in parts are being assembled already; "
                    "send it again later",
                )
            current = self._open[part.job_id] = _Open(part, now)
        first = current.first
        if (part.parts, part.shop_id, part.account_id, part.job_type) != (
            first.parts,
            first.shop_id,
            first.account_id,
            first.job_type,
        ):
            current.kept.append(kept)
            return self._refuse(current, "the parts of the request disagree on its fields")
        if part.part > part.parts:
            current.kept.append(kept)
            return self._refuse(current, f"part {part.part} of {part.parts} does not exist")
        if part.part in current.parts:
            # A repeat of a part (at-least-once delivery); the very same message handed in
            # again is already kept.
            return None if kept in current.kept else Dropped([kept])
        current.kept.append(kept)
        current.parts[part.part] = part
        current.items += len(part.items or [])
        if current.items > MAX_ITEMS:
            return self._refuse(
                current, f"its parts carry more than {MAX_ITEMS} items, the limit per job"
            )
        if len(current.parts) < first.parts:
            return None
        del self._open[part.job_id]
        ordered = [current.parts[n] for n in range(1, first.parts + 1)]
        items = [i for p in ordered for i in p.items or []]
        base = current.parts[1]
        whole = base.model_copy(update={"items": items or None, "part": 1, "parts": 1})
        return Complete(whole, current.kept)

    def expired(self, now: float) -> list[Refused[M]]:
        """Requests whose parts did not all come within ``timeout_s``."""
        late = [o for o in self._open.values() if now - o.started >= self.timeout_s]
        return [
            self._refuse(
                o,
                f"only {len(o.parts)} of its {o.first.parts} parts came within "
                f"{self.timeout_s:g} s",
            )
            for o in late
        ]

    def _refuse(self, current: _Open[M], reason: str) -> Refused[M]:
        self._open.pop(current.first.job_id, None)
        self._refused[current.first.job_id] = None
        while len(self._refused) > 10_000:  # bounded memory of refusals
            self._refused.pop(next(iter(self._refused)))
        return Refused(current.first, reason, current.kept)
