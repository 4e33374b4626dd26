"""Kafka topics of the contract (docs/design.md §4), their keys and layout, declared once."""

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
from shared.limits import BROKER_MESSAGE_BYTES
from shared.schedules import ScheduleDefined, ScheduleRan
from shared.webhooks import WebhookAttempted, WebhookDefined, WebhookDelivery

SECOND_MS = 1000
HOUR_MS = 3600 * SECOND_MS
DAY_MS = 24 * HOUR_MS
FOREVER = -1  # retention.ms that keeps everything
DEFAULT_RETENTION_MS = 7 * DAY_MS


@dataclass(frozen=True)
class TopicSpec:
    """A topic as it must exist on the cluster: its layout and every config we rely on.

    Delete topics keep messages for ``retention_ms`` (7 days unless declared); compacted
    topics keep the latest value of every key forever and tombstones for
    ``delete_retention_ms``. Changelogs (compacted state a service restores from) also
    set ``segment_ms`` and ``min_cleanable_dirty_ratio``: the active segment is never
    compacted, so shorter segments and a lower ratio bound the uncompacted tail a restore
    reads. Replication factor and ``min.insync.replicas`` are the cluster's business
    (settings, see :class:`shared.settings.KafkaTopicSettings`), and so are retention
    overrides; :func:`shared.kafka.admin.topic_configs` combines both.
    """

    name: str
    partitions: int
    compacted: bool = False
    key: str = ""  # what the key is, for people and for the AsyncAPI document
    event_types: frozenset[str] = field(default_factory=frozenset)  # empty: owner-defined
    retention_ms: int | None = None  # None: 7 days (delete), forever (compacted)
    delete_retention_ms: int = DAY_MS  # compacted: how long a tombstone stays readable
    segment_ms: int | None = None  # None: the broker's (7 days)
    min_cleanable_dirty_ratio: float | None = None  # None: the broker's (0.5)
    max_message_bytes: int = BROKER_MESSAGE_BYTES

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError(f"{self.name}: partitions must be at least 1")
        if self.compacted and self.retention_ms not in (None, FOREVER):
            raise ValueError(f"{self.name}: a compacted topic keeps its latest values forever")
        if self.retention_ms is not None and self.retention_ms < FOREVER:
            raise ValueError(f"{self.name}: retention_ms must be -1 (forever) or positive")
        ratio = self.min_cleanable_dirty_ratio
        if ratio is not None and not 0 < ratio <= 1:
            raise ValueError(f"{self.name}: min_cleanable_dirty_ratio must be in (0, 1]")

    @property
    def retention(self) -> int:
        """retention.ms as declared (before any setting overrides it)."""
        if self.retention_ms is not None:
            return self.retention_ms
        return FOREVER if self.compacted else DEFAULT_RETENTION_MS

    def config(self) -> dict[str, str]:
        """The topic configs this declaration fixes, as Kafka names and writes them."""
        cfg = {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "max.message.bytes": str(self.max_message_bytes),
            "retention.ms": str(self.retention),
        }
        if self.compacted:
            cfg["delete.retention.ms"] = str(self.delete_retention_ms)
        if self.segment_ms is not None:
            cfg["segment.ms"] = str(self.segment_ms)
        if self.min_cleanable_dirty_ratio is not None:
            cfg["min.cleanable.dirty.ratio"] = str(self.min_cleanable_dirty_ratio)
        return cfg


def changelog(
    name: str, partitions: int, key: str, event_types: frozenset[str] = frozenset()
) -> TopicSpec:
    """A compacted changelog: the latest state of each live key, restored on assignment;
    rolled hourly and cleaned at 10 % dirty so the tail a restore reads stays short."""
    return TopicSpec(
        name,
        partitions,
        compacted=True,
        key=key,
        event_types=event_types,
        delete_retention_ms=DAY_MS,
        segment_ms=HOUR_MS,
        min_cleanable_dirty_ratio=0.1,
    )


def _names(*classes: type) -> frozenset[str]:
    return frozenset(c.__name__ for c in classes)


# Partition counts bound how far each consumer group scales out: 12 lets an SRE run up to
# 12 replicas of a service before adding partitions (which would move keys).
# Retention of delete topics (docs/design.md §16; KAFKA_TOPIC_RETENTION_MS overrides it):
# requests a week (a consumer down that long still finds them), job events and what
# derives from them a month (how far back a projection can be rebuilt from the bus).
JOB_REQUESTS = TopicSpec(
    "amazon.job-requests",
    12,
    key="job_id",
    event_types=_names(JobRequested, CancelRequested),
    retention_ms=7 * DAY_MS,
)
CATALOG_EVENTS = TopicSpec(
    "prestashop.catalog-events",
    12,
    key="shop_id",
    event_types=_names(StockChanged, PriceChanged, OrderShipped),
    retention_ms=7 * DAY_MS,
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
    retention_ms=30 * DAY_MS,
)
LISTINGS = TopicSpec(
    "amazon.listings",
    12,
    compacted=True,
    key="account_id|marketplace_id:sku",
    event_types=_names(ListingState),
)
INVENTORY = TopicSpec(
    "amazon.inventory",
    12,
    compacted=True,
    key="account_id|marketplace_id:sku",
    event_types=_names(InventoryRow),
)
ORDERS = TopicSpec(
    "amazon.orders",
    12,
    key="account_id:amazon_order_id",
    event_types=_names(OrderImported),
    retention_ms=30 * DAY_MS,
)
ACCOUNTS = TopicSpec(
    "amazon.accounts", 1, compacted=True, key="account_id", event_types=_names(AccountRegistered)
)
# Schedules (docs/design.md §20): state owned by the bus like accounts; 12 partitions so
# that scheduler instances divide the schedules between them.
SCHEDULES = TopicSpec(
    "amazon.schedules", 12, compacted=True, key="schedule_id", event_types=_names(ScheduleDefined)
)
# Webhooks (docs/design.md §21): state owned by the bus like schedules; one partition, since
# every notifier instance reads them all (any job may be a webhook's).
WEBHOOKS = TopicSpec(
    "amazon.webhooks", 1, compacted=True, key="webhook_id", event_types=_names(WebhookDefined)
)
# The delivery log: one record per attempt, kept like the job events it reports on.
WEBHOOK_DELIVERIES = TopicSpec(
    "amazon.webhook-deliveries",
    12,
    key="delivery_id",
    event_types=_names(WebhookAttempted),
    retention_ms=30 * DAY_MS,
)
DEAD_LETTERS = TopicSpec(
    "amazon.dead-letters",
    1,
    key="original key",
    event_types=_names(DeadLettered),
    retention_ms=30 * DAY_MS,
)

# Internal topics belong to their owning service; declared here so that one step
# creates every topic and nothing relies on auto-creation.
INTERNAL_PREFIX = "amazon.internal."
# A token request or grant is worth nothing after minutes; a day covers any outage.
THROTTLE_REQUESTS = TopicSpec(
    INTERNAL_PREFIX + "throttle-requests", 12, key="quota key", retention_ms=DAY_MS
)
THROTTLE_GRANTS = TopicSpec(
    INTERNAL_PREFIX + "throttle-grants", 12, key="requester", retention_ms=DAY_MS
)
THROTTLE_SNAPSHOTS = TopicSpec(
    INTERNAL_PREFIX + "throttle-snapshots", 1, compacted=True, key="quota key"
)
# The job-driving workers' changelogs: the live jobs each folded (docs/design.md §14),
# partitioned like amazon.job-events (records carry the job's partition explicitly).
_CHANGELOG_EVENTS = frozenset({"JobSnapshot", "JobItemsSnapshot"})
SUBMITTER_JOBS = changelog(
    INTERNAL_PREFIX + "submitter-jobs", 12, "job_id, or job_id#chunk", _CHANGELOG_EVENTS
)
POLLER_JOBS = changelog(
    INTERNAL_PREFIX + "poller-jobs", 12, "job_id, or job_id#chunk", _CHANGELOG_EVENTS
)
APPLIER_JOBS = changelog(
    INTERNAL_PREFIX + "applier-jobs", 12, "job_id, or job_id#chunk", _CHANGELOG_EVENTS
)
# Every job id the submitter ever saw, hashed (shared/job_ids.py).
SUBMITTER_JOB_IDS = changelog(
    INTERNAL_PREFIX + "submitter-job-ids",
    12,
    "s:<segment> or d:<delta>",
    frozenset({"JobIdSegment"}),
)

# The slot the scheduler last ran per schedule, partitioned like amazon.schedules.
SCHEDULER_RUNS = changelog(
    INTERNAL_PREFIX + "scheduler-runs", 12, "schedule_id", _names(ScheduleRan)
)

# Deliveries not yet done (the notifier's retries), read whole by every notifier instance:
# only deliveries to failing receivers stay on it for long.
NOTIFIER_DELIVERIES = changelog(
    INTERNAL_PREFIX + "notifier-deliveries", 1, "delivery_id", _names(WebhookDelivery)
)


def faust_changelog(app_id: str, table: str, partitions: int) -> TopicSpec:
    """The changelog faust keeps for ``table`` of app ``app_id`` (the throttle's state),
    declared so that it is created, and checked, like every other topic."""
    return changelog(f"{INTERNAL_PREFIX}{app_id}-{table}-changelog", partitions, "table key")


PUBLIC_TOPICS: tuple[TopicSpec, ...] = (
    JOB_REQUESTS,
    CATALOG_EVENTS,
    JOB_EVENTS,
    LISTINGS,
    INVENTORY,
    ORDERS,
    ACCOUNTS,
    SCHEDULES,
    WEBHOOKS,
    WEBHOOK_DELIVERIES,
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
    SCHEDULER_RUNS,
    NOTIFIER_DELIVERIES,
)
ALL_TOPICS: tuple[TopicSpec, ...] = PUBLIC_TOPICS + INTERNAL_TOPICS
BY_NAME: dict[str, TopicSpec] = {t.name: t for t in ALL_TOPICS}


def listing_key(account_id: str, sku: str, marketplace_id: str | None = None) -> str:
    """The key of one listing (or inventory row) on its compacted topic: per marketplace,
    since a SKU may be active on one and in error on another. Records written before
    listings had a marketplace (``None``: the account's first) keep ``account:sku``; ``|``
    is in no account or marketplace id, so the two shapes never meet."""
    if marketplace_id is None:
        return f"{account_id}:{sku}"
    return f"{account_id}|{marketplace_id}:{sku}"


def order_key(account_id: str, amazon_order_id: str) -> str:
    return f"{account_id}:{amazon_order_id}"


def quota_key(seller_id: str, region: str, quota_class: str) -> str:
    return f"{seller_id}|{region}|{quota_class}"
