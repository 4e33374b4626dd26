"""Which way a listings job goes to Amazon: one feed, or ``patchListingsItem`` per item.

Pure. A change is *urgent* when it takes a SKU's stock to zero (an ``update_qty`` item of
quantity 0, any ``stop_products`` item): until Amazon has it, a buyer can order what is
gone. A feed waits for a ``feed_submit`` token (30 an hour) and then for Amazon's
processing; ``patchListingsItem`` has a bucket of its own (5 a second, burst 5) and is
applied within seconds. So a job that is small and urgent — at most
``SUBMITTER_PATCH_MAX_ITEMS`` items, every one urgent — is sent item by item under the
``listing_patch`` quota class; every other job keeps the feed path.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any

from shared.events import ItemState
from shared.job_state import JobState
from shared.jobs import JobType
from shared.quotas import BASE_PRIORITY, SUBMIT_CLASS, QuotaClass

# An automatic job of urgent changes is served like an explicit stop: first.
URGENT_PRIORITY = BASE_PRIORITY[JobType.STOP_PRODUCTS]


class Route(StrEnum):
    FEED = "feed"  # one JSON_LISTINGS_FEED (or report, orders pages: every other job)
    PATCH = "patch"  # one patchListingsItem call per item, done with the last answer


def is_urgent(job_type: JobType, request: Mapping[str, Any]) -> bool:
    """Whether one item takes its SKU's stock to zero."""
    if job_type is JobType.STOP_PRODUCTS:
        return True
    if job_type is JobType.UPDATE_QTY:
        quantity = request.get("quantity")
        return isinstance(quantity, int) and not isinstance(quantity, bool) and quantity == 0
    return False


def route(job_type: JobType, items: Collection[ItemState], max_items: int) -> Route:
    """PATCH for a job of 1 to ``max_items`` items, all urgent; FEED otherwise."""
    if not 1 <= len(items) <= max_items:
        return Route.FEED
    if all(is_urgent(job_type, item.request) for item in items):
        return Route.PATCH
    return Route.FEED


def route_of(state: JobState, max_items: int) -> Route:
    return route(state.job_type, state.items.values(), max_items)


def first_class(job_type: JobType, items: Collection[ItemState], max_items: int) -> QuotaClass:
    """The quota class of the job's first call: what its route spends first."""
    if route(job_type, items, max_items) is Route.PATCH:
        return QuotaClass.LISTING_PATCH
    return SUBMIT_CLASS[job_type]


def first_class_of(state: JobState, max_items: int) -> QuotaClass:
    return first_class(state.job_type, state.items.values(), max_items)


def priority_of(state: JobState) -> int:
    """The caller's priority, else urgent automatic jobs first, else the job type's."""
    if state.facts.priority is not None:
        return state.facts.priority
    if state.facts.automatic and state.facts.urgent:
        return URGENT_PRIORITY
    return BASE_PRIORITY[state.job_type]
