"""How events become MongoDB documents: pure functions, no I/O.

The projector folds a batch of job events into the job documents it has (cached or
loaded), so each job has one writer and one write per batch. A status event applies only
when its ``seq`` is newer than the stored one; annotations (JobLogged, JobCancelRejected)
add log lines (keyed by event id, so a repeat is a no-op) and touch items or data only
while the job is still in the status they were written in — so replaying the whole topic
gives the same documents.

Data and items merge by the workers' rules (``shared.job_data.merge_data``: the keys an
event set replace the stored ones; an item replaces the one of its key). The status rules
differ from ``shared.job_state.fold`` on purpose: a worker folds only the jobs it owns, in
order, and refuses a transition the state machine does not allow; the projector reads
every job, may start from a stored document that is ahead of the event (a replay, a batch
folded again after a crash) and must not stop on one bad job, so it skips what is not
newer than the stored ``seq`` instead of checking transitions.

The fold keeps the status of each of a job's items (``item_states``, in the order of the
request): the item counts are recomputed from it, and a batch that died between writing
items and writing its job is simply folded again (item rows hold absolute states, the job
document is written last). It is stored apart from the job, in ``job_state``
(:func:`split_job`): a job of 25,000 items must not make every read of the jobs list
read 25,000 statuses.

Items are stored in pages of ``ITEMS_PER_PAGE`` rows in request order (``job_item_pages``,
``_id`` = job id and page number), not one document each: a 25,000-item job is 125
documents to write when its results come and 125 lookups by ``_id`` to read, where one
document per item made each result a replace and each page of the API a scan of every
item of every job on FerretDB (docs/design.md §11).

A job's row records the job's ``seq``, and its item states the ``seq`` at which they last
changed: the projector replaces each only where the stored ``seq`` is not higher, and
writes a job's items only after its item states got through (docs/design.md §15), so a
late batch never takes a job back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.api.replays import DeadLetterReplayed
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
from shared.job_data import merge_data
from shared.market_tables import record_key
from shared.schedules import ScheduleDefined
from shared.throttle.messages import BucketSnapshot
from shared.webhooks import WebhookAttempted, WebhookDefined, webhook_doc

ITEM_STATUSES = ("pending", "accepted", "warning", "error", "canceled")
ITEMS_PER_PAGE = 200
Doc = dict[str, Any]


def schedule_doc(event: ScheduleDefined) -> Doc:
    """A schedule as the ``schedules`` collection (and the API's answers) hold it."""
    return {
        "_id": event.schedule_id,
        "shop_id": event.shop_id,
        "account_id": event.account_id,
        "job_type": event.job_type,
        "interval_s": event.interval_s,
        "paused": event.paused,
        "params": event.params,
        "anchor": event.anchor,
        "revision": event.revision,
        "created_at": event.created_at,
        "updated_at": event.occurred_at,
    }


def page_id(job_id: str, n: int) -> str:
    """The ``_id`` of page ``n`` (from 0) of a job's items."""
    return f"{job_id}|{n:05d}"


@dataclass
class PageWrite:
    """What a batch changes of one page of a job's items: rows by their place in the page.
    ``stored`` rows of the page existed before the batch (0: the page is new)."""

    job_id: str
    shop_id: str
    n: int
    stored: int
    rows: dict[int, Doc] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return page_id(self.job_id, self.n)

    @property
    def covers_stored(self) -> bool:
        """Whether the batch rewrites every stored row, so the page need not be read."""
        return all(i in self.rows for i in range(self.stored))

    def document(self, stored_rows: list[Doc]) -> Doc:
        """The page as it is after the batch, from the rows stored before it."""
        rows = list(stored_rows)
        for place in sorted(self.rows):
            if place < len(rows):
                rows[place] = self.rows[place]
            else:  # places are contiguous: a new row comes right after the last
                rows.append(self.rows[place])
        return {
            "_id": self.id,
            "job_id": self.job_id,
            "shop_id": self.shop_id,
            "n": self.n,
            "items": rows,
        }


# A job's log is stored by event, in chunks of this many lines: a page of 500 lines of a
# big job reads a few documents, not 500 (docs/design.md §25).
LOG_CHUNK_LINES = 200


def log_id(job_id: str, event_id: object, start: int) -> str:
    """The ``_id`` of an event's log lines from line ``start`` on: zero-padded, so their
    text order (the log's last sort key) is the lines' order. It starts with the job's id
    so that a batch's chunks land beside each other in the ``_id`` index, rather than at
    random places a UUID would put them (9% more events/s catching up, docs/design.md
    §25)."""
    return f"{job_id}/{event_id}:{start:07d}"


def log_chunks(event: JobEvent) -> list[Doc]:
    """The event's log lines as documents of up to LOG_CHUNK_LINES lines, each sorted by
    its first line's time (then the event's seq)."""
    chunks = []
    for start in range(0, len(event.log), LOG_CHUNK_LINES):
        lines = event.log[start : start + LOG_CHUNK_LINES]
        chunks.append(
            {
                "_id": log_id(event.job_id, event.event_id, start),
                "job_id": event.job_id,
                "shop_id": event.shop_id,
                "seq": event.seq,
                "at": lines[0].at,
                "event_type": event.event_type,
                "lines": [
                    {"at": line.at, "level": line.level, "message": line.message} for line in lines
                ],
            }
        )
    return chunks


def log_lines(doc: Doc) -> list[Doc]:
    """A stored log document's lines: a chunk's, or the one line of a document written
    before lines were stored in chunks."""
    lines = doc.get("lines")
    if lines is not None:
        return list(lines)
    return [{"at": doc["at"], "level": doc["level"], "message": doc["message"]}]


def empty_counts() -> dict[str, int]:
    return {"total": 0, **dict.fromkeys(ITEM_STATUSES, 0)}


def counts_of(states: dict[str, str]) -> dict[str, int]:
    counts = empty_counts()
    counts["total"] = len(states)
    for status in states.values():
        counts[status] += 1
    return counts


@dataclass
class JobWrites:
    """What a batch of job events changes: whole jobs (with their ``item_states``; see
    :func:`split_job`), pages of items, log chunks.

    ``new_jobs`` names the jobs that did not exist before the batch, so the projector can
    insert them instead of upserting (see bulk.py); ``states_changed`` the jobs whose
    item states changed."""

    jobs: dict[str, Doc] = field(default_factory=dict)
    pages: dict[str, PageWrite] = field(default_factory=dict)
    log: dict[str, Doc] = field(default_factory=dict)
    new_jobs: set[str] = field(default_factory=set)
    states_changed: set[str] = field(default_factory=set)
    # Per job touched: its items' places in the request, and how many were stored.
    places: dict[str, dict[str, int]] = field(default_factory=dict)
    stored_items: dict[str, int] = field(default_factory=dict)


def fold_job_events(events: list[JobEvent], stored_jobs: dict[str, Doc]) -> JobWrites:
    """Apply events (in topic order) to the stored jobs (by id; absent means new)."""
    out = JobWrites()
    states: dict[str, dict[str, str]] = {}  # per job: item key -> status, while folding
    for event in events:
        job = out.jobs.get(event.job_id) or _copy(stored_jobs.get(event.job_id))
        for chunk in log_chunks(event):
            out.log[chunk["_id"]] = chunk
        if event.IS_ANNOTATION:
            if job is None:
                continue  # its job's first event has not been projected: nothing to annotate
            if job["status"] == event.status.value:
                _merge_data(job, event)
                _apply_items(job, event, states, out)
            job["updated_at"] = max(job["updated_at"], event.occurred_at)
            out.jobs[event.job_id] = job
            continue
        if job is not None and event.seq <= job["seq"]:
            continue  # a repeat, or older than what is stored
        if job is None:
            out.new_jobs.add(event.job_id)
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
                "item_states": [],
                "states_seq": 0,
            }
        job["status"] = event.status.value
        job["seq"] = event.seq
        job["last_event"] = event.event_type
        job["updated_at"] = max(job["updated_at"], event.occurred_at)
        _merge_data(job, event)
        _apply_items(job, event, states, out)
        out.jobs[event.job_id] = job
    return out


def _copy(doc: Doc | None) -> Doc | None:
    if doc is None:
        return None
    copied = dict(doc)
    copied["data"] = dict(doc.get("data") or {})
    copied["counts"] = {**empty_counts(), **(doc.get("counts") or {})}
    copied["item_states"] = [dict(state) for state in doc.get("item_states") or []]
    copied.setdefault("states_seq", 0)
    return copied


def _merge_data(job: Doc, event: JobEvent) -> None:
    """The job's data as the workers' fold merges it (shared.job_data.merge_data), kept as
    the JSON the read API shows."""
    if event.data.model_fields_set:
        job["data"] = _mongo_safe(merge_data(job["data"], event.data, json=True))


def _apply_items(
    job: Doc, event: JobEvent, states: dict[str, dict[str, str]], out: JobWrites
) -> None:
    if not event.items:
        return
    # A list of {key, status} rather than one sub-document keyed by SKU: SKUs may hold
    # '.' or start with '$' (and FerretDB stores no arrays of arrays).
    mine = states.get(event.job_id)
    if mine is None:
        mine = states[event.job_id] = {s["key"]: s["status"] for s in job["item_states"]}
        out.stored_items[event.job_id] = len(mine)
        out.places[event.job_id] = {key: n for n, key in enumerate(mine)}
    places = out.places[event.job_id]
    stored = out.stored_items[event.job_id]
    for item in event.items:
        place = places.setdefault(item.key, len(places))
        mine[item.key] = item.status
        n, at = divmod(place, ITEMS_PER_PAGE)
        pid = page_id(event.job_id, n)
        page = out.pages.get(pid)
        if page is None:
            kept = min(ITEMS_PER_PAGE, max(0, stored - n * ITEMS_PER_PAGE))
            page = out.pages[pid] = PageWrite(event.job_id, event.shop_id, n, kept)
        page.rows[at] = item_row(event, item)
    job["item_states"] = [{"key": k, "status": s} for k, s in mine.items()]
    job["states_seq"] = job["seq"]  # the item states' own seq, which fences their write
    job["counts"] = counts_of(mine)
    out.states_changed.add(event.job_id)


def split_job(job: Doc) -> tuple[Doc, Doc]:
    """A folded job as its two stored documents: the ``jobs`` row and its ``job_state``."""
    row = {k: v for k, v in job.items() if k not in ("item_states", "states_seq")}
    state = {
        "_id": job["_id"],
        "shop_id": job["shop_id"],
        # The job's seq when its item states last changed: the same whatever the batches.
        "seq": job.get("states_seq", 0),
        "item_states": job["item_states"],
    }
    return row, state


def join_job(row: Doc, state: Doc | None) -> Doc:
    """The inverse of :func:`split_job`, for the fold."""
    state = state or {}
    return {
        **row,
        "item_states": state.get("item_states") or [],
        "states_seq": state.get("seq", 0),
    }


def item_row(event: JobEvent, item: ItemState) -> Doc:
    return {
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
    """Store ``doc`` whole under its ``_id`` (the record is the latest state)."""

    collection: str
    doc: Doc


@dataclass(frozen=True)
class Delete:
    collection: str
    doc_id: str


@dataclass(frozen=True)
class Merge:
    """Apply update operators to one document, creating it if needed.

    For documents two topics write into (a dead letter and its replays): whichever record
    the projector reads first, both end up in the document."""

    collection: str
    doc_id: str
    update: Doc


RecordWrite = Upsert | Delete | Merge

COMPACTED_COLLECTION = {
    "amazon.listings": "listings",
    "amazon.inventory": "inventory",
    "amazon.accounts": "accounts",
    "amazon.schedules": "schedules",
    "amazon.webhooks": "webhooks",
    "amazon.internal.throttle-snapshots": "quotas",
}


def retry_link(event: JobEvent) -> Merge | None:
    """A retry's link on the job it retries (``job_links``, by the original's ``_id``):
    the original may be in another batch, partition or projector, so the link is an update
    of its own rather than part of the original's fenced document. ``$addToSet`` keeps
    the order retries came in and makes a repeat a no-op."""
    retry_of = getattr(event.data, "retry_of", None)
    if retry_of is None or event.IS_ANNOTATION:
        return None
    return Merge("job_links", retry_of, {"$addToSet": {"retried_by": event.job_id}})


def replay_write(record: DeadLetterReplayed) -> Merge:
    replay = {
        "id": str(record.event_id),
        "at": record.occurred_at,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
    }
    return Merge(
        "dead_letters",
        record.letter_id,
        {"$addToSet": {"replays": replay}, "$max": {"last_replayed_at": record.occurred_at}},
    )


def record_write(
    topic: str, key: str | None, event: Event | None, partition: int, offset: int
) -> RecordWrite | None:
    """The write one record asks for (None: nothing to keep)."""
    if event is None:
        collection = COMPACTED_COLLECTION.get(topic)
        return Delete(collection, key) if collection and key is not None else None
    if isinstance(event, ListingState | InventoryRow):  # a row per account, SKU, marketplace
        doc = event.model_dump(mode="python", exclude={"event_id", "event_type", "schema_version"})
        doc.update(
            _id=record_key(event),  # the topic's key, which a tombstone names
            updated_at=event.occurred_at,
            price=str(event.price) if event.price is not None else None,
        )
        if isinstance(event, ListingState):  # what GET …/listing-issues filters on
            doc["issue_severities"] = sorted({i.severity for i in event.reported_issues})
        return Upsert("listings" if isinstance(event, ListingState) else "inventory", doc)
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
    if isinstance(event, ScheduleDefined):
        return Upsert("schedules", schedule_doc(event))
    if isinstance(event, WebhookDefined):
        return Upsert("webhooks", webhook_doc(event))
    if isinstance(event, WebhookAttempted):
        # One row per attempt: an attempt recorded twice (a crash before its delivery's
        # next state was written) is the same row.
        doc = event.model_dump(mode="python", exclude={"event_type", "schema_version"})
        doc.update(_id=f"{event.delivery_id}:{event.attempt}", event_id=str(event.event_id))
        return Upsert("webhook_deliveries", doc)
    if isinstance(event, DeadLettered):
        letter = {
            "original_topic": event.original_topic,
            "partition": event.partition,
            "offset": event.offset,
            "key": event.key,
            "raw_value": event.raw_value,
            "raw_encoding": event.raw_encoding,
            "raw_stored": event.raw_stored,
            "raw_size": event.raw_size,
            "raw_sha256": event.raw_sha256,
            "raw_head": event.raw_head,
            "error": event.error,
            "consumer_group": event.consumer_group,
            "occurred_at": event.occurred_at,
            "signature": event.signature,
            "source": f"{partition}:{offset}",
        }
        return Merge("dead_letters", str(event.event_id), {"$set": letter})
    if isinstance(event, DeadLetterReplayed):
        return replay_write(event)
    if isinstance(event, BucketSnapshot):
        key_ = event.quota_key
        return Upsert(
            "quotas",
            {
                "_id": str(key_),
                "seller_id": key_.seller_id,
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
