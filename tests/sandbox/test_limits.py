"""The sandbox's table of Amazon's limits: complete, and which calls meet which limit."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import services.amazon_sandbox
from services.amazon_sandbox.limits import (
    JSON_LISTINGS_FEED,
    USAGE_PLANS,
    RollingLimit,
    UsagePlan,
    rolling_limits_of,
)
from services.amazon_sandbox.operations import OPERATIONS


def test_every_served_operation_has_amazons_usage_plan() -> None:
    missing = sorted(OPERATIONS - set(USAGE_PLANS))
    assert missing == []
    assert all(plan.burst >= 1 and plan.rate_per_s > 0 for plan in USAGE_PLANS.values())


def test_the_sandbox_takes_no_limit_from_the_throttles_defaults() -> None:
    # Were the sandbox to enforce shared.quotas, a throttle default above Amazon's limit
    # would be granted by both and never answered 429 in a test.
    package = Path(services.amazon_sandbox.__file__).parent
    importers = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            if any(name == "shared.quotas" or name.startswith("shared.throttle") for name in names):
                importers.append(path.name)
    assert importers == []


def feed_body(feed_type: str) -> bytes:
    return json.dumps({"feedType": feed_type, "inputFeedDocumentId": "d"}).encode()


@pytest.mark.parametrize(
    ("operation", "body", "limits"),
    [
        ("createFeed", feed_body("JSON_LISTINGS_FEED"), (JSON_LISTINGS_FEED,)),
        ("createFeed", feed_body("POST_ORDER_FULFILLMENT_DATA"), ()),
        ("createFeed", b"not json", ()),  # the operation answers 400 after the bucket
        ("createFeed", b'["JSON_LISTINGS_FEED"]', ()),
        ("createFeedDocument", feed_body("JSON_LISTINGS_FEED"), ()),
    ],
)
def test_only_listings_feed_submissions_meet_the_listings_window(
    operation: str, body: bytes, limits: tuple[str, ...]
) -> None:
    assert rolling_limits_of(operation, body) == limits


def test_scaling_compresses_amazon_time() -> None:
    assert UsagePlan(0.0083, 15).scaled(60) == UsagePlan(0.0083 * 60, 15)
    assert RollingLimit(5, 300.0).scaled(60) == RollingLimit(5, 5.0)
