"""The front door of every SP-API operation, as Amazon's API gateway behaves:
access token → injected faults → Amazon's limits (limits.py) → the operation →
rate-limit header.

Operations are plain functions of a ``Call``; they run under the seller's lock, after the
seller's feeds and reports were brought up to date, and raise ``ApiError`` for 4xx.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from services.amazon_sandbox import errors
from services.amazon_sandbox.errors import ApiError
from services.amazon_sandbox.limits import UsagePlan, rolling_limits_of
from services.amazon_sandbox.processing import advance
from services.amazon_sandbox.state import SandboxState, Seller

log = logging.getLogger(__name__)

# Amazon sends x-amzn-RateLimit-Limit with these statuses only (SPAPI.md, Throttling).
_RATE_HEADER_STATUSES = frozenset({200, 201, 202, 204, 400, 404})


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated SP-API call, as an operation sees it."""

    request: Request
    state: SandboxState
    seller: Seller
    body: bytes

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def base_url(self) -> str:
        """Where this sandbox is reachable, for the document URLs it hands out."""
        return str(self.request.base_url).rstrip("/")


Operation = Callable[[Call], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def sandbox_state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def sp_api(operation_id: str, operation: Operation) -> Endpoint:
    """The Starlette endpoint of one SP-API operation."""

    async def endpoint(request: Request) -> Response:
        state = sandbox_state(request)
        try:
            seller = state.seller_for_token(request.headers.get("x-amz-access-token"))
        except ApiError as error:
            return error.response()  # no seller to count the call against
        plan = seller.usage_plan(operation_id)
        decision = state.faults.decide(seller.seller_id, operation_id, state.clock.now())
        if decision.latency_s > 0:
            await asyncio.sleep(decision.latency_s)
        # Read before the limits: a createFeed's feed type decides which limits it meets.
        body = await request.body()
        if decision.throttle or not _admit(state, seller, operation_id, plan, body):
            response: Response = errors.throttled_response()
        elif decision.error_status is not None:
            response = errors.for_status(decision.error_status).response()
        else:
            async with seller.lock:
                advance(state, seller)
                try:
                    response = operation(Call(request, state, seller, body))
                except ApiError as error:
                    response = error.response()
                except Exception:  # a sandbox bug: answer as Amazon would, and count it
                    log.exception("operation failed", extra={"operation": operation_id})
                    response = errors.for_status(500).response()
        state.stats.record(seller.seller_id, operation_id, response.status_code)
        if response.status_code in _RATE_HEADER_STATUSES:
            # Amazon's rate, not the scaled one: the client applies the same time scale.
            response.headers["x-amzn-RateLimit-Limit"] = rate_header(plan.rate_per_s)
        return response

    endpoint.__name__ = operation_id
    return endpoint


def _admit(
    state: SandboxState, seller: Seller, operation_id: str, plan: UsagePlan, body: bytes
) -> bool:
    """Take what the call needs from every limit it meets, scaled to real seconds."""
    scale = state.clock.time_scale
    windows = [
        (name, seller.rolling_limit(name).scaled(scale))
        for name in rolling_limits_of(operation_id, body)
    ]
    refused_by = state.limiters.admit(
        seller.seller_id, operation_id, plan.scaled(scale), windows, state.clock.now()
    )
    return refused_by is None


def rate_header(rate_per_s: float) -> str:
    """Requests per second as Amazon writes them (0.0083, 0.5, 2.0)."""
    rounded = round(rate_per_s, 4)
    return str(rounded) if rounded > 0 else f"{rate_per_s:.4g}"
