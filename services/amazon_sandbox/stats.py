"""The sandbox's call log, counted: per seller and operation, how each call was answered.

Tests and benchmarks compare it with what the client side believes it did (the throttle's
grants, the workers' calls): every SP-API call with a valid access token is counted once,
as ``accepted`` (2xx), ``throttled`` (429, from a limit or a throttle storm) or
``errors`` (any other status). Calls without a valid token name no seller and are not
counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class OperationStats:
    accepted: int = 0  # answered 2xx
    throttled: int = 0  # answered 429
    errors: int = 0  # answered any other status

    @property
    def calls(self) -> int:
        return self.accepted + self.throttled + self.errors

    def add(self, other: OperationStats) -> None:
        self.accepted += other.accepted
        self.throttled += other.throttled
        self.errors += other.errors

    def to_json(self) -> dict[str, int]:
        return {
            "calls": self.calls,
            "accepted": self.accepted,
            "throttled": self.throttled,
            "errors": self.errors,
        }


class CallStats:
    def __init__(self) -> None:
        self._stats: dict[str, dict[str, OperationStats]] = {}

    def record(self, seller_id: str, operation: str, status: int) -> None:
        entry = self._stats.setdefault(seller_id, {}).setdefault(operation, OperationStats())
        if status == 429:
            entry.throttled += 1
        elif 200 <= status < 300:
            entry.accepted += 1
        else:
            entry.errors += 1

    def snapshot(self, seller_id: str | None = None) -> dict[str, Any]:
        """``{"operations": {operationId: counts}, "sellers": {sellerId: {operationId:
        counts}}}`` for one seller or all; ``operations`` sums the sellers shown."""
        sellers = {
            seller: operations
            for seller, operations in sorted(self._stats.items())
            if seller_id is None or seller == seller_id
        }
        totals: dict[str, OperationStats] = {}
        for operations in sellers.values():
            for operation, entry in operations.items():
                totals.setdefault(operation, OperationStats()).add(entry)
        return {
            "operations": _to_json(totals),
            "sellers": {seller: _to_json(operations) for seller, operations in sellers.items()},
        }

    def clear(self) -> None:
        self._stats.clear()


def _to_json(operations: dict[str, OperationStats]) -> dict[str, dict[str, int]]:
    return {operation: operations[operation].to_json() for operation in sorted(operations)}
