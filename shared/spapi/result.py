"""What every client call returns: the typed value plus what Amazon said about the quota."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ApiResult(Generic[T]):
    value: T
    # x-amzn-RateLimit-Limit in requests per second, when Amazon sent it (best effort, 2xx
    # only). The throttle adapts its restore rate when this differs from its default.
    rate_limit: float | None
    request_id: str | None  # x-amzn-RequestId: what Amazon support asks for
    status: int
