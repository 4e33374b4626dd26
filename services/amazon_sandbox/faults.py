"""Injected faults (POST /_sandbox/faults).

A fault matches calls by seller and operation (either may be left open) and can add
latency, fail a share of calls with a given status, answer 429 to everything for a while
(a "throttle storm"), make feeds end FATAL or make report documents unreadable. Faults
that change a feed or report are applied when it is created, so a test knows the outcome
of every feed it submits.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Fault:
    fault_id: str
    seller_id: str | None = None
    operation: str | None = None
    error_rate: float = 0.0
    status: int = 500
    latency_s: float = 0.0  # real seconds: latency is about the network, not Amazon's time
    fatal_feeds: bool = False
    storm_until: float | None = None  # monotonic instant the throttle storm ends
    malformed_reports: bool = False
    # Reports' documents end in this many zero bytes: a few KiB of GZIP that inflate far.
    report_bomb_bytes: int = 0

    def matches(self, seller_id: str, operation: str) -> bool:
        return (self.seller_id is None or self.seller_id == seller_id) and (
            self.operation is None or self.operation == operation
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "fault_id": self.fault_id,
            "seller_id": self.seller_id,
            "operation": self.operation,
            "error_rate": self.error_rate,
            "status": self.status,
            "latency_ms": round(self.latency_s * 1000),
            "fatal_feeds": self.fatal_feeds,
            "malformed_reports": self.malformed_reports,
            "report_bomb_bytes": self.report_bomb_bytes,
        }


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What the faults say about one call."""

    latency_s: float = 0.0
    throttle: bool = False
    error_status: int | None = None


NO_FAULT = FaultDecision()


class Faults:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._faults: list[Fault] = []
        self._rng = rng or random.Random()
        self._ids = itertools.count(1)

    def new_id(self) -> str:
        return f"fault-{next(self._ids)}"

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self) -> None:
        self._faults.clear()

    def decide(self, seller_id: str, operation: str, now: float) -> FaultDecision:
        if not self._faults:  # the common case, on every call
            return NO_FAULT
        latency = 0.0
        throttle = False
        status: int | None = None
        for fault in self._faults:
            if not fault.matches(seller_id, operation):
                continue
            latency = max(latency, fault.latency_s)
            if fault.storm_until is not None and now < fault.storm_until:
                throttle = True
            if status is None and fault.error_rate > 0 and self._rng.random() < fault.error_rate:
                status = fault.status
        return FaultDecision(latency, throttle, status)

    def fatal_feeds(self, seller_id: str) -> bool:
        return any(f.fatal_feeds and f.matches(seller_id, "createFeed") for f in self._faults)

    def malformed_reports(self, seller_id: str) -> bool:
        return any(
            f.malformed_reports and f.matches(seller_id, "createReport") for f in self._faults
        )

    def report_bomb_bytes(self, seller_id: str) -> int:
        matching = [
            f.report_bomb_bytes for f in self._faults if f.matches(seller_id, "createReport")
        ]
        return max(matching, default=0)
