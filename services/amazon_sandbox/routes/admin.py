"""The sandbox's own endpoints under ``/_sandbox``: register sellers, look at what Amazon
holds for them, inject faults, read call statistics, reset. No access token needed.
Errors use Amazon's error shape, so one client-side parser serves both."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.amazon_sandbox.clock import Clock, isoformat
from services.amazon_sandbox.errors import ApiError, invalid_input, not_found
from services.amazon_sandbox.faults import Fault
from services.amazon_sandbox.gateway import sandbox_state
from services.amazon_sandbox.limits import ROLLING_LIMITS, USAGE_PLANS, RollingLimit, UsagePlan
from services.amazon_sandbox.listings import Catalog, CatalogItem, Listing
from services.amazon_sandbox.operations import OPERATIONS
from services.amazon_sandbox.orders import InvalidOrder, order_admin, order_from_admin
from services.amazon_sandbox.params import json_object
from services.amazon_sandbox.processing import JSON_LISTINGS_FEED, advance
from services.amazon_sandbox.routes.jobs import job_fields
from services.amazon_sandbox.state import Feed, SandboxState, Seller

PREFIX = "/_sandbox"


class _Strict(BaseModel):
    # A misspelt field in a test fixture should fail loudly, not be ignored.
    model_config = ConfigDict(extra="forbid")


class CatalogEntry(_Strict):
    asin: str = Field(min_length=1)
    ean: str | None = None
    upc: str | None = None
    title: str | None = None
    brand: str | None = None


class ListingEntry(_Strict):
    sku: str = Field(min_length=1)
    asin: str = Field(min_length=1)
    quantity: int = Field(default=0, ge=0)
    price: Decimal | None = Field(default=None, gt=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    title: str | None = None
    # The marketplaces the offer is on; by default every one of the seller's.
    marketplace_ids: list[str] | None = Field(default=None, min_length=1)


class UsagePlanOverride(_Strict):
    """An operation's bucket, in Amazon time."""

    burst: int = Field(ge=1)
    rate_per_s: float = Field(gt=0)


class RollingLimitOverride(_Strict):
    """A rolling limit such as JSON_LISTINGS_FEED's, in Amazon time."""

    max_calls: int = Field(ge=1)
    window_s: float = Field(gt=0)


class SellerRegistration(_Strict):
    seller_id: str = Field(min_length=1)
    refresh_token: str = Field(min_length=1)
    marketplace_ids: list[str] = Field(min_length=1)
    catalog: list[CatalogEntry] = []
    listings: list[ListingEntry] = []
    orders: list[dict[str, Any]] = []
    # Keys: an operation id (its bucket) or a rolling limit's name (limits.py).
    quotas: dict[str, UsagePlanOverride | RollingLimitOverride] = {}

    @field_validator("quotas")
    @classmethod
    def _known_limits(
        cls, quotas: dict[str, UsagePlanOverride | RollingLimitOverride]
    ) -> dict[str, UsagePlanOverride | RollingLimitOverride]:
        unknown = sorted(set(quotas) - set(USAGE_PLANS) - set(ROLLING_LIMITS))
        if unknown:
            raise ValueError(f"unknown operation(s) or limit(s): {', '.join(unknown)}")
        for name, override in quotas.items():
            if name in USAGE_PLANS and not isinstance(override, UsagePlanOverride):
                raise ValueError(f"{name} is an operation: give burst and rate_per_s")
            if name in ROLLING_LIMITS and not isinstance(override, RollingLimitOverride):
                raise ValueError(f"{name} is a rolling limit: give max_calls and window_s")
        return quotas


class FaultRequest(_Strict):
    seller_id: str | None = None
    operation: str | None = None
    error_rate: float | None = Field(default=None, ge=0, le=1)
    status: int | None = Field(default=None, ge=400, le=599)
    latency_ms: int = Field(default=0, ge=0, le=60_000)
    fatal_feeds: bool = False
    throttle_storm_s: float = Field(default=0, ge=0)
    malformed_reports: bool = False
    report_bomb_bytes: int = Field(default=0, ge=0, le=1 << 30)

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, operation: str | None) -> str | None:
        if operation is not None and operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation}")
        return operation


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate(json_object(body))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise invalid_input(problems) from None


async def register_seller(request: Request) -> Response:
    state = sandbox_state(request)
    try:
        spec = _parse(SellerRegistration, await request.body())
        seller = _seller(state, spec)
    except ApiError as error:
        return error.response()
    state.register_seller(seller)
    return JSONResponse(
        {
            "seller_id": seller.seller_id,
            "catalog": len(seller.catalog.items),
            "listings": sum(len(listings) for listings in seller.listings.values()),
            "orders": len(seller.orders),
        },
        status_code=201,
    )


def _seller(state: SandboxState, spec: SellerRegistration) -> Seller:
    holder = state.seller_by_refresh_token(spec.refresh_token)
    if holder is not None and holder.seller_id != spec.seller_id:
        raise invalid_input(f"refresh_token already belongs to seller {holder.seller_id}.")
    created = isoformat(state.clock.wall())
    listings: dict[str, dict[str, Listing]] = {m: {} for m in spec.marketplace_ids}
    for entry in spec.listings:
        where = entry.marketplace_ids or spec.marketplace_ids
        strange = [m for m in where if m not in spec.marketplace_ids]
        if strange:
            raise invalid_input(
                f"listings: {entry.sku} names marketplace(s) {', '.join(strange)} the "
                "seller does not sell on."
            )
        # Frozen, so one object serves every marketplace until a change replaces it there.
        listing = Listing(
            sku=entry.sku,
            asin=entry.asin,
            quantity=entry.quantity,
            price=entry.price,
            currency=entry.currency,
            title=entry.title,
            created_at=created,
        )
        for marketplace in where:
            listings[marketplace][entry.sku] = listing
    orders = {}
    for raw in spec.orders:
        try:
            order = order_from_admin(raw)
        except InvalidOrder as exc:
            raise invalid_input(f"orders: {exc}") from None
        orders[order.order_id] = order
    return Seller(
        seller_id=spec.seller_id,
        refresh_token=spec.refresh_token,
        marketplace_ids=list(spec.marketplace_ids),
        catalog=Catalog(CatalogItem(**entry.model_dump()) for entry in spec.catalog),
        listings=listings,
        orders=orders,
        usage_plans={
            name: UsagePlan(q.rate_per_s, q.burst)
            for name, q in spec.quotas.items()
            if isinstance(q, UsagePlanOverride)
        },
        rolling_limits={
            name: RollingLimit(q.max_calls, q.window_s)
            for name, q in spec.quotas.items()
            if isinstance(q, RollingLimitOverride)
        },
    )


async def _current_seller(request: Request) -> Seller:
    """The seller of the path, with its feeds and reports brought up to date."""
    state = sandbox_state(request)
    seller_id = request.path_params["seller_id"]
    seller = state.sellers.get(seller_id)
    if seller is None:
        raise not_found(f"Seller {seller_id} is not registered.")
    async with seller.lock:
        advance(state, seller)
    return seller


def _marketplace(request: Request, seller: Seller) -> str:
    """``?marketplaceId=``, by default the seller's first marketplace."""
    marketplace = request.query_params.get("marketplaceId") or seller.marketplace_ids[0]
    if marketplace not in seller.marketplace_ids:
        raise not_found(f"Seller {seller.seller_id} does not sell on {marketplace}.")
    return marketplace


async def seller_listings(request: Request) -> Response:
    """The seller's listings on one marketplace (``?marketplaceId=``, else its first)."""
    try:
        seller = await _current_seller(request)
        marketplace = _marketplace(request, seller)
    except ApiError as error:
        return error.response()
    listings = sorted(seller.listings_in(marketplace).values(), key=lambda listing: listing.sku)
    return JSONResponse({"listings": [listing.to_admin() for listing in listings]})


async def seller_listing(request: Request) -> Response:
    """One SKU: what a benchmark polls for a seller of a million listings."""
    try:
        seller = await _current_seller(request)
        marketplace = _marketplace(request, seller)
    except ApiError as error:
        return error.response()
    listing = seller.listings_in(marketplace).get(request.path_params["sku"])
    if listing is None:
        return not_found(
            f"Seller {seller.seller_id} has no listing {request.path_params['sku']}."
        ).response()
    return JSONResponse(listing.to_admin())


async def seller_feeds(request: Request) -> Response:
    """Every feed of the seller, oldest first, as getFeed shows it, with the summary of
    its processing report once it has one: what a benchmark counts as delivered, read
    from Amazon's side rather than from the system's own account of it."""
    try:
        seller = await _current_seller(request)
    except ApiError as error:
        return error.response()
    clock = sandbox_state(request).clock
    feeds = sorted(seller.feeds.values(), key=lambda feed: feed.created)
    return JSONResponse({"feeds": [_feed_admin(seller, feed, clock) for feed in feeds]})


def _feed_admin(seller: Seller, feed: Feed, clock: Clock) -> dict[str, Any]:
    body: dict[str, Any] = {"feedId": feed.job_id, "feedType": feed.job_type}
    body.update(job_fields(feed, clock))
    summary = None
    result = seller.documents.get(feed.result_document_id or "")
    if feed.job_type == JSON_LISTINGS_FEED and result is not None and result.data is not None:
        summary = json.loads(gzip.decompress(result.data)).get("summary")
    body["summary"] = summary
    return body


async def seller_orders(request: Request) -> Response:
    try:
        seller = await _current_seller(request)
    except ApiError as error:
        return error.response()
    orders = sorted(seller.orders.values(), key=lambda order: (order.purchased, order.order_id))
    return JSONResponse({"orders": [order_admin(order) for order in orders]})


async def add_fault(request: Request) -> Response:
    state = sandbox_state(request)
    try:
        spec = _parse(FaultRequest, await request.body())
    except ApiError as error:
        return error.response()
    # A status alone means "always"; an error rate alone means "500s".
    error_rate = spec.error_rate if spec.error_rate is not None else (1.0 if spec.status else 0.0)
    storm = spec.throttle_storm_s
    fault = Fault(
        fault_id=state.faults.new_id(),
        seller_id=spec.seller_id,
        operation=spec.operation,
        error_rate=error_rate,
        status=spec.status or 500,
        latency_s=spec.latency_ms / 1000,
        fatal_feeds=spec.fatal_feeds,
        # Storms are Amazon time, like every other duration of the sandbox.
        storm_until=state.clock.now() + state.clock.duration(storm) if storm else None,
        malformed_reports=spec.malformed_reports,
        report_bomb_bytes=spec.report_bomb_bytes,
    )
    state.faults.add(fault)
    return JSONResponse({"fault": fault.to_json()}, status_code=201)


async def clear_faults(request: Request) -> Response:
    sandbox_state(request).faults.clear()
    return Response(status_code=204)


async def stats(request: Request) -> Response:
    seller_id = request.query_params.get("seller_id")
    return JSONResponse(sandbox_state(request).stats.snapshot(seller_id))


async def reset(request: Request) -> Response:
    sandbox_state(request).reset()
    return Response(status_code=204)


async def health(request: Request) -> Response:
    state = sandbox_state(request)
    return JSONResponse({"status": "ok", "time_scale": state.clock.time_scale})


routes = [
    Route(f"{PREFIX}/sellers", register_seller, methods=["POST"]),
    Route(f"{PREFIX}/sellers/{{seller_id}}/listings", seller_listings, methods=["GET"]),
    Route(f"{PREFIX}/sellers/{{seller_id}}/listings/{{sku:path}}", seller_listing, methods=["GET"]),
    Route(f"{PREFIX}/sellers/{{seller_id}}/feeds", seller_feeds, methods=["GET"]),
    Route(f"{PREFIX}/sellers/{{seller_id}}/orders", seller_orders, methods=["GET"]),
    Route(f"{PREFIX}/faults", add_fault, methods=["POST"]),
    Route(f"{PREFIX}/faults", clear_faults, methods=["DELETE"]),
    Route(f"{PREFIX}/stats", stats, methods=["GET"]),
    Route(f"{PREFIX}/reset", reset, methods=["POST"]),
    Route(f"{PREFIX}/health", health, methods=["GET"]),
]
