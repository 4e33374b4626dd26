"""Kafka topics of the contract (ARCHITECTURE.md §4), their keys and layout, declared once."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.events import (
    AccountRegistered,
    CancelRequested,
    DeadLettered,
    InventoryRow,
    JobCanceled,
    JobCancelRejected,
    JobCreated,
    JobDone,
    JobFailed,
    JobItemsRecorded,
    JobLogged,
    JobProcessing,
    JobRequested,
    JobReserved,
    JobResultReady,
    JobSubmitted,
    ListingState,
    OrderImported,
    OrderShipped,
    PriceChanged,
    StockChanged,
)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool = False
    key: str = ""  # what the key is, for people and for the AsyncAPI document
    event_types: frozenset[str] = field(default_factory=frozenset)  # empty: owner-defined
    retention_ms: int | None = None

    def config(self) -> dict[str, str]:
        cfg = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if self.retention_ms is not None:
            cfg["retention.ms"] = str(self.retention_ms)
        return cfg


def _names(*classes: type) -> frozenset[str]:
    return frozenset(c.__name__ for c in classes)


# Partition counts bound how far each consumer group scales out: 12 lets an SRE run up to
# 12 replicas of a service before adding partitions (which would move keys).
JOB_REQUESTS = TopicSpec(
    "amazon.job-requests", 12, key="job_id", event_types=_names(JobRequested, CancelRequested)
)
CATALOG_EVENTS = TopicSpec(
    "prestashop.catalog-events",
    12,
    key="shop_id",
    event_types=_names(StockChanged, PriceChanged, OrderShipped),
)
JOB_EVENTS = TopicSpec(
    "amazon.job-events",
    12,
    key="job_id",
    event_types=_names(
        JobReserved,
        JobCreated,
        JobProcessing,
        JobSubmitted,
        JobResultReady,
        JobDone,
        JobFailed,
        JobCanceled,
        JobCancelRejected,
        JobLogged,
        JobItemsRecorded,
    ),
)
LISTINGS = TopicSpec(
    "amazon.listings", 12, compacted=True, key="account_id:sku", event_types=_names(ListingState)
)
INVENTORY = TopicSpec(
    "amazon.inventory", 12, compacted=True, key="account_id:sku", event_types=_names(InventoryRow)
)
ORDERS = TopicSpec(
    "amazon.orders", 12, key="account_id:amazon_order_id", event_types=_names(OrderImported)
)
ACCOUNTS = TopicSpec(
    "amazon.accounts", 1, compacted=True, key="account_id", event_types=_names(AccountRegistered)
)
DEAD_LETTERS = TopicSpec(
    "amazon.dead-letters", 1, key="original key", event_types=_names(DeadLettered)
)

# Internal topics belong to their owning service; declared here so that one step
# creates every topic and nothing relies on auto-creation.
INTERNAL_PREFIX = "amazon.internal."
THROTTLE_REQUESTS = TopicSpec(INTERNAL_PREFIX + "throttle-requests", 12, key="quota key")
THROTTLE_GRANTS = TopicSpec(INTERNAL_PREFIX + "throttle-grants", 12, key="requester")
THROTTLE_SNAPSHOTS = TopicSpec(
    INTERNAL_PREFIX + "throttle-snapshots", 1, compacted=True, key="quota key"
)
# The job-driving workers' changelogs: the live jobs each folded (docs/design.md §5),
# partitioned like amazon.job-events (records carry the job's partition explicitly).
_CHANGELOG_EVENTS = frozenset({"JobSnapshot", "JobItemsSnapshot"})
SUBMITTER_JOBS = TopicSpec(
    INTERNAL_PREFIX + "submitter-jobs",
    12,
    compacted=True,
    key="job_id, or job_id#chunk",
    event_types=_CHANGELOG_EVENTS,
)
POLLER_JOBS = TopicSpec(
    INTERNAL_PREFIX + "poller-jobs",
    12,
    compacted=True,
    key="job_id, or job_id#chunk",
    event_types=_CHANGELOG_EVENTS,
)
APPLIER_JOBS = TopicSpec(
    INTERNAL_PREFIX + "applier-jobs",
    12,
    compacted=True,
    key="job_id, or job_id#chunk",
    event_types=_CHANGELOG_EVENTS,
)
# Every job id the submitter ever saw, hashed (shared/job_ids.py).
SUBMITTER_JOB_IDS = TopicSpec(
    INTERNAL_PREFIX + "submitter-job-ids",
    12,
    compacted=True,
    key="s:<segment> or d:<delta>",
    event_types=frozenset({"JobIdSegment"}),
)

PUBLIC_TOPICS: tuple[TopicSpec, ...] = (
    JOB_REQUESTS,
    CATALOG_EVENTS,
    JOB_EVENTS,
    LISTINGS,
    INVENTORY,
    ORDERS,
    ACCOUNTS,
    DEAD_LETTERS,
)
INTERNAL_TOPICS: tuple[TopicSpec, ...] = (
    THROTTLE_REQUESTS,
    THROTTLE_GRANTS,
    THROTTLE_SNAPSHOTS,
    SUBMITTER_JOBS,
    POLLER_JOBS,
    APPLIER_JOBS,
    SUBMITTER_JOB_IDS,
)
ALL_TOPICS: tuple[TopicSpec, ...] = PUBLIC_TOPICS + INTERNAL_TOPICS
BY_NAME: dict[str, TopicSpec] = {t.name: t for t in ALL_TOPICS}


def listing_key(account_id: str, sku: str) -> str:
    return f"{account_id}:{sku}"


def order_key(account_id: str, amazon_order_id: str) -> str:
    return f"{account_id}:{amazon_order_id}"


def quota_key(account_id: str, region: str, quota_class: str) -> str:
    return f"{account_id}|{region}|{quota_class}"
