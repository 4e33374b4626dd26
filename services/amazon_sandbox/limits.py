"""Amazon's published limits, as the sandbox enforces them: its own table, in Amazon time.

Every number is the usage plan in the operation's description in Amazon's models (the
"Rate (requests per second) | Burst" table), not the project's throttle defaults, so a
wrong default in the throttle shows up here as a 429. Amazon counts each operation per
selling partner; it has no hourly caps on these operations.

Some calls have several limits at once: a ``JSON_LISTINGS_FEED`` createFeed also needs
room in a rolling window of its own (5 submissions per 5 minutes, changelog 2025-05-06),
on top of createFeed's bucket. The sandbox answers as one region's endpoint, so "per
region and seller" is per seller here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UsagePlan:
    """A token bucket: ``burst`` tokens, restored at ``rate_per_s`` a second."""

    rate_per_s: float
    burst: int

    def scaled(self, time_scale: float) -> UsagePlan:
        """The same bucket with Amazon time compressed ``time_scale`` times."""
        return UsagePlan(self.rate_per_s * time_scale, self.burst)


@dataclass(frozen=True, slots=True)
class RollingLimit:
    """At most ``max_calls`` grants in any window of ``window_s`` seconds."""

    max_calls: int
    window_s: float

    def scaled(self, time_scale: float) -> RollingLimit:
        return RollingLimit(self.max_calls, self.window_s / time_scale)


# By operation id, as the models name them (spapi-models/*.json).
USAGE_PLANS: dict[str, UsagePlan] = {
    # Feeds 2021-06-30
    "createFeedDocument": UsagePlan(0.5, 15),
    "createFeed": UsagePlan(0.0083, 15),
    "getFeed": UsagePlan(2.0, 15),
    "getFeeds": UsagePlan(0.0222, 10),
    "cancelFeed": UsagePlan(2.0, 15),
    "getFeedDocument": UsagePlan(0.0222, 10),
    # Reports 2021-06-30
    "createReport": UsagePlan(0.0167, 15),
    "getReport": UsagePlan(2.0, 15),
    "getReports": UsagePlan(0.0222, 10),
    "cancelReport": UsagePlan(0.0222, 10),
    "getReportDocument": UsagePlan(0.0167, 15),
    # Orders v0 and 2026-01-01
    "getOrders": UsagePlan(0.0167, 20),
    "searchOrders": UsagePlan(0.0056, 20),
    "getOrderItems": UsagePlan(0.5, 30),
    "confirmShipment": UsagePlan(2.0, 10),
    # Catalog Items 2022-04-01
    "searchCatalogItems": UsagePlan(2.0, 2),
    # Listings Items 2021-08-01
    "patchListingsItem": UsagePlan(5.0, 5),
    "getListingsItem": UsagePlan(5.0, 10),
}

JSON_LISTINGS_FEED = "JSON_LISTINGS_FEED"

# Limits some calls of an operation meet besides its bucket, by name. The name is also
# the key a seller's registration overrides them under.
ROLLING_LIMITS: dict[str, RollingLimit] = {
    JSON_LISTINGS_FEED: RollingLimit(5, 300.0),
}


def rolling_limits_of(operation_id: str, body: bytes) -> tuple[str, ...]:
    """The rolling limits a call of ``operation_id`` with this body meets, by name.

    A body the operation will refuse (not JSON, no feedType) meets none: the call is
    answered 400 by the operation, after the bucket.
    """
    if operation_id != "createFeed":
        return ()
    try:
        parsed = json.loads(body)
    except ValueError:
        return ()
    if isinstance(parsed, dict) and parsed.get("feedType") == JSON_LISTINGS_FEED:
        return (JSON_LISTINGS_FEED,)
    return ()
