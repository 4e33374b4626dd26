"""How events become MongoDB documents: pure functions, no I/O.

The projector folds a batch of job events into the job documents it loaded, so each job
has one writer and one write per batch. A status event applies only when its ``seq`` is
newer than the stored one; annotations (JobLogged, JobCancelRejected) add log lines (keyed
by event id, so a repeat is a no-op) and touch items or data only while the job is still
in the status they were written in — so replaying the whole topic gives the same
documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.events import (
    AccountRegistered,
    DeadLettered,
    Event,
    InventoryRow,
    ItemState,
    JobEvent,
    ListingState,
    OrderImported,
)
from shared.throttle.messages import BucketSnapshot

ITEM_STATUSES = ("pending", "accepted", "warning", "error", "canceled")
Doc = dict[str, Any]


def item_id(job_id: str, key: str) -> str:
    return f"{job_id}|{key}"


def empty_counts() -> dict[str, int]:
    return {"total": 0, **dict.fromkeys(ITEM_STATUSES, 0)}


@dataclass
class JobWrites:
    """What a batch of job events changes: whole job documents, items, log lines."""

    jobs: dict[str, Doc] = field(default_factory=dict)
    items: dict[str, Doc] = field(default_factory=dict)
    log: dict[str, Doc] = field(default_factory=dict)


def fold_job_events(
    events: list[JobEvent],
    stored_jobs: dict[str, Doc],
    stored_item_status: dict[str, str],
) -> JobWrites:
    """Apply events (in topic order) to the stored jobs; ``stored_item_status`` maps
    item ids of the items these events touch to their stored status."""
    out = JobWrites()
    item_status = dict(stored_item_status)
    for event in events:
        job = out.jobs.get(event.job_id) or _copy(stored_jobs.get(event.job_id))
        for i, line in enumerate(event.log):
            out.log[f"{event.event_id}:{i}"] = {
                "_id": f"{event.event_id}:{i}",
                "job_id": event.job_id,
                "shop_id": event.shop_id,
                "seq": event.seq,
                "at": line.at,
                "level": line.level,
                "message": line.message,
                "event_type": event.event_type,
            }
        if event.IS_ANNOTATION:
            if job is None:
                continue  # its job's first event has not been projected: nothing to annotate
            if job["status"] == event.status.value:
                _merge_data(job, event)
                _apply_items(job, event, event.items or [], item_status, out)
            job["updated_at"] = max(job["updated_at"], event.occurred_at)
            out.jobs[event.job_id] = job
            continue
        if job is not None and event.seq <= job["seq"]:
            continue  # a repeat, or older than what is stored
        if job is None:
            job = {
                "_id": event.job_id,
                "shop_id": event.shop_id,
                "account_id": event.account_id,
                "job_type": event.job_type.value,
                "created_at": event.occurred_at,
                "updated_at": event.occurred_at,
                "seq": 0,
                "data": {},
                "counts": empty_counts(),
            }
        job["status"] = event.status.value
        job["seq"] = event.seq
        job["last_event"] = event.event_type
        job["updated_at"] = max(job["updated_at"], event.occurred_at)
        _merge_data(job, event)
        _apply_items(job, event, event.items or [], item_status, out)
        out.jobs[event.job_id] = job
    return out


def _copy(doc: Doc | None) -> Doc | None:
    if doc is None:
        return None
    copied = dict(doc)
    copied["data"] = dict(doc.get("data") or {})
    copied["counts"] = {**empty_counts(), **(doc.get("counts") or {})}
    return copied


def _merge_data(job: Doc, event: JobEvent) -> None:
    if event.data:
        job["data"] = {**job["data"], **_mongo_safe(event.data)}


def _apply_items(
    job: Doc, event: JobEvent, items: list[ItemState], status_of: dict[str, str], out: JobWrites
) -> None:
    counts = job["counts"]
    for item in items:
        iid = item_id(event.job_id, item.key)
        before = status_of.get(iid)
        if before is None:
            counts["total"] += 1
        else:
            counts[before] -= 1
        counts[item.status] += 1
        status_of[iid] = item.status
        out.items[iid] = {
            "_id": iid,
            "job_id": event.job_id,
            "shop_id": event.shop_id,
            "key": item.key,
            "status": item.status,
            "request": _mongo_safe(item.request),
            "messages": list(item.messages),
            "updated_at": event.occurred_at,
        }


def _mongo_safe(value: Any) -> Any:
    """Mongo keys may not contain '.' or start with '$' (SKUs can contain dots)."""
    if isinstance(value, dict):
        return {
            str(k).replace(".", "\uff0e").replace("$", "\uff04", 1)
            if isinstance(k, str) and (k.startswith("$") or "." in k)
            else k: _mongo_safe(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mongo_safe(v) for v in value]
    return value


# ------------------------------------------------------------------ state records


@dataclass(frozen=True)
class Upsert:
    collection: str
    doc: Doc


@dataclass(frozen=True)
class Delete:
    collection: str
    doc_id: str


RecordWrite = Upsert | Delete

COMPACTED_COLLECTION = {
    "amazon.listings": "listings",
    "amazon.inventory": "inventory",
    "amazon.accounts": "accounts",
    "amazon.internal.throttle-snapshots": "quotas",
}


def record_write(
    topic: str, key: str | None, event: Event | None, partition: int, offset: int
) -> RecordWrite | None:
    """The write one record asks for (None: nothing to keep)."""
    if event is None:
        collection = COMPACTED_COLLECTION.get(topic)
        return Delete(collection, key) if collection and key is not None else None
    if isinstance(event, ListingState):
        doc = event.model_dump(mode="python", exclude={"event_id", "event_type", "schema_version"})
        doc.update(
            _id=f"{event.account_id}:{event.sku}",
            updated_at=event.occurred_at,
            price=str(event.price) if event.price is not None else None,
        )
        return Upsert("listings", doc)
    if isinstance(event, InventoryRow):
        doc = event.model_dump(mode="python", exclude={"event_id", "event_type", "schema_version"})
        doc.update(
            _id=f"{event.account_id}:{event.sku}",
            updated_at=event.occurred_at,
            price=str(event.price) if event.price is not None else None,
        )
        return Upsert("inventory", doc)
    if isinstance(event, OrderImported):
        doc = event.model_dump(mode="json", exclude={"event_id", "event_type", "schema_version"})
        doc.update(
            _id=f"{event.account_id}:{event.amazon_order_id}",
            purchased_at=event.purchased_at,
            imported_at=event.occurred_at,
        )
        return Upsert("orders", doc)
    if isinstance(event, AccountRegistered):
        # Never the credentials: the read side has no use for them.
        return Upsert(
            "accounts",
            {
                "_id": event.account_id,
                "account_id": event.account_id,
                "shop_id": event.shop_id,
                "name": event.name,
                "seller_id": event.seller_id,
                "region": event.region,
                "marketplace_ids": list(event.marketplace_ids),
                "registered_at": event.occurred_at,
            },
        )
    if isinstance(event, DeadLettered):
        return Upsert(
            "dead_letters",
            {
                "_id": str(event.event_id),
                "original_topic": event.original_topic,
                "partition": event.partition,
                "offset": event.offset,
                "key": event.key,
                "raw_value": event.raw_value,
                "raw_encoding": event.raw_encoding,
                "error": event.error,
                "consumer_group": event.consumer_group,
                "occurred_at": event.occurred_at,
                "source": f"{partition}:{offset}",
            },
        )
    if isinstance(event, BucketSnapshot):
        key_ = event.quota_key
        return Upsert(
            "quotas",
            {
                "_id": str(key_),
                "account_id": key_.account_id,
                "region": key_.region,
                "quota_class": key_.quota_class.value,
                "tokens": event.tokens,
                "burst": event.burst,
                "rate_per_s": event.rate_per_s,
                "hourly_cap": event.hourly_cap,
                "used_last_hour": event.used_last_hour,
                "queue_depth": event.queue_depth,
                "next_grant_at": event.next_grant_at,
                "drained_until": event.drained_until,
                "updated_at": event.occurred_at,
            },
        )
    return None


def newest(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or b > a else a
