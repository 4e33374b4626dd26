"""Prometheus metrics of the throttle, served on the health port's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "throttle_requests_total", "Messages read from the requests topic", ["event_type"]
)
GRANTS = Counter("throttle_grants_total", "Tokens granted", ["quota_class"])
GRANT_REPEATS = Counter(
    "throttle_grant_repeats_total", "Grants sent again (repeated requests, recovery)"
)
RELEASES = Counter("throttle_releases_total", "Granted tokens given back unused", ["quota_class"])
DRAINS = Counter("throttle_drains_total", "Buckets drained after Amazon's 429", ["quota_class"])
DEAD_LETTERS = Counter("throttle_dead_letters_total", "Requests that could not be processed")
QUEUE_DEPTH = Gauge("throttle_queue_depth", "Requests waiting for a token", ["quota_key"])
TOKENS = Gauge("throttle_tokens", "Tokens in the bucket now", ["quota_key"])
WAIT = Histogram(
    "throttle_wait_seconds",
    "From request to grant, real seconds",
    ["quota_class"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600),
)
DURABLE = Histogram(
    "throttle_state_durable_seconds",
    "Waiting for the state changelog to acknowledge before grants go out",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
KEYS = Gauge("throttle_keys", "Quota keys owned by this instance")
