"""Prometheus metrics of the applier, served on the worker's health port at ``/metrics``."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

JOBS = Counter(
    "applier_jobs_total",
    "Jobs the applier concluded: done, or failed by reason",
    ["job_type", "outcome"],
)
ITEMS = Counter("applier_items_total", "Final item outcomes", ["job_type", "status"])
RECORDS = Counter(
    "applier_records_published_total",
    "Records written to the state topics (tombstones included)",
    ["topic"],
)
APPLY_SECONDS = Histogram(
    "applier_apply_seconds",
    "Real seconds from taking a result to JobDone (download, parse, publish)",
    ["job_type"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
DOCUMENT_BYTES = Histogram(
    "applier_document_bytes",
    "Size of downloaded result documents (decompressed)",
    ["kind"],
    buckets=(1e3, 1e4, 1e5, 1e6, 1e7, 1e8),
)
