"""The page's charts, kept by the projector as it folds (docs/design.md §24): pure
functions, no I/O.

* ``job_hours``: per account, hour and job-events partition, how many jobs reached each
  status in that hour (a job's status event counts at its ``occurred_at``). A document
  records the partition offset it has counted through, so a batch folded again after a
  crash adds nothing twice; an event not newer than its job's stored ``seq`` (a repeat)
  is not counted at all. A chart of a day reads at most 24 x partitions documents of one
  account by the index ``(account_id, hour)``, never the jobs.
* ``quota_history``: one sample of each quota bucket per minute (the minute's last
  snapshot), kept ``QUOTA_HISTORY_HOURS``; read by ``(seller_id, region, at)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import JobEvent
from shared.throttle.messages import BucketSnapshot

Doc = dict[str, Any]
JOB_HOURS_KEPT = timedelta(days=8)  # the longest chart (STATS_MAX_HOURS) and a margin
STATS_MAX_HOURS = 168
QUOTA_HISTORY_HOURS = 24
PRUNE_EVERY = timedelta(minutes=1)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def minute_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


@dataclass
class HourCounts:
    """The status events of one batch for one ``job_hours`` document, by offset."""

    shop_id: str
    account_id: str
    hour: datetime
    partition: int
    events: list[tuple[int, str]] = field(default_factory=list)  # (offset, status)

    @property
    def id(self) -> str:
        return f"{self.account_id}|{self.hour:%Y-%m-%dT%H}|{self.partition}"

    def document(self) -> Doc:
        """The document as it is when these are its first counts: inserted whole, which
        FerretDB does at a fraction of an upsert's cost."""
        counts: dict[str, int] = {}
        for _, status in self.events:
            counts[status] = counts.get(status, 0) + 1
        return {
            "_id": self.id,
            "shop_id": self.shop_id,
            "account_id": self.account_id,
            "hour": self.hour,
            "partition": self.partition,
            "counts": counts,
            "offset": max(offset for offset, _ in self.events),
        }

    def update(self, counted_through: int) -> Doc | None:
        """The update that adds what is past ``counted_through`` (None: nothing is)."""
        fresh = [(offset, status) for offset, status in self.events if offset > counted_through]
        if not fresh:
            return None
        inc: dict[str, int] = {}
        for _, status in fresh:
            inc[f"counts.{status}"] = inc.get(f"counts.{status}", 0) + 1
        return {
            "$inc": inc,
            "$max": {"offset": max(offset for offset, _ in fresh)},
            "$setOnInsert": {
                "shop_id": self.shop_id,
                "account_id": self.account_id,
                "hour": self.hour,
                "partition": self.partition,
            },
        }


def hour_counts(
    events: list[tuple[int, int, JobEvent]], stored_seq: dict[str, int]
) -> dict[str, HourCounts]:
    """Status events ``(partition, offset, event)`` in topic order, by ``job_hours``
    document; ``stored_seq`` is each known job's stored ``seq`` (absent: new)."""
    seen = dict(stored_seq)
    out: dict[str, HourCounts] = {}
    for partition, offset, event in events:
        if event.IS_ANNOTATION or event.seq <= seen.get(event.job_id, 0):
            continue
        seen[event.job_id] = event.seq
        counts = HourCounts(event.shop_id, event.account_id, hour_of(event.occurred_at), partition)
        counts = out.setdefault(counts.id, counts)
        counts.events.append((offset, event.status.value))
    return out


def quota_sample(event: BucketSnapshot) -> Doc:
    """The minute's sample of a bucket: a later snapshot in the same minute replaces it."""
    at = minute_of(event.occurred_at)
    key = event.quota_key
    return {
        "_id": f"{key}|{at:%Y-%m-%dT%H:%M}",
        "seller_id": key.seller_id,
        "region": key.region,
        "quota_class": key.quota_class.value,
        "at": at,
        "tokens": event.tokens,
        "burst": event.burst,
        "queue_depth": event.queue_depth,
    }


def hour_series(docs: list[Doc], since: datetime, hours: int) -> list[Doc]:
    """Every hour from ``since`` (``hours`` of them), each with its counts by status
    summed over partitions (zero-filled, so a chart's axis has no gaps)."""
    by_hour: dict[datetime, dict[str, int]] = {since + timedelta(hours=n): {} for n in range(hours)}
    for doc in docs:
        hour = doc["hour"]
        hour = hour.replace(tzinfo=UTC) if hour.tzinfo is None else hour.astimezone(UTC)
        bucket = by_hour.get(hour)
        if bucket is None:
            continue
        for status, n in (doc.get("counts") or {}).items():
            bucket[status] = bucket.get(status, 0) + int(n)
    return [{"hour": hour, "counts": counts} for hour, counts in by_hour.items()]


def quota_series(docs: list[Doc]) -> list[Doc]:
    """Samples in time order grouped by quota class (classes by name)."""
    classes: dict[str, Doc] = {}
    for doc in docs:
        series = classes.setdefault(
            doc["quota_class"], {"quota_class": doc["quota_class"], "burst": 0, "points": []}
        )
        series["burst"] = doc["burst"]  # the latest limit in force
        at = doc["at"]
        series["points"].append(
            {
                "at": at.replace(tzinfo=UTC) if at.tzinfo is None else at,
                "tokens": doc["tokens"],
                "queue_depth": doc["queue_depth"],
            }
        )
    for series in classes.values():
        series["points"].sort(key=lambda p: p["at"])
    return [classes[name] for name in sorted(classes)]
