"""Prometheus metrics of the poller, served on the worker's health port at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLS_SAVED = Counter(
    "poller_status_calls_saved_total",
    "getFeed calls that one getFeeds call made unnecessary",
)
RESULTS = Counter(
    "poller_results_total",
    "Jobs the poller concluded: result_ready, or failed by reason",
    ["kind", "outcome"],
)
WAITING = Gauge("poller_jobs_waiting", "Jobs waiting for Amazon in the partitions owned here")
WAIT_SECONDS = Histogram(
    "poller_wait_amazon_seconds",
    "Amazon seconds from submission to Amazon's final status",
    ["kind"],
    buckets=(30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600),
)
