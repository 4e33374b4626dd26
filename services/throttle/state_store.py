"""Write-ahead persistence of the throttle's records in one faust changelog-backed table.

Key records and request records share one table, so every record of a quota key goes to
the same changelog partition (the partition of the key in the requests topic, which is
what faust restores it with). One partition is one ordered log: a crash leaves a prefix
of what was written, and :meth:`KeyState.restore` relies on exactly that.

Records are written straight to the table's store and changelog, so timers and sweepers
may write outside a stream event. :meth:`make_durable` is the barrier the engine crosses
before any grant goes out: it returns only when every record written before it is
acknowledged by the in-sync replicas, and raises if one was not; then no grant is
published and the process stops.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from faust.types.tuples import FutureMessage
from pydantic import ValidationError

from services.throttle import metrics
from services.throttle.records import KeyRecord, RequestRecord

KEY_PREFIX = "key:"
REQUEST_PREFIX = "req:"


class StateNotDurable(RuntimeError):
    """The changelog did not take a record, or holds one this code cannot read."""


@dataclass(slots=True)
class KeyRecords:
    """What the table holds about one quota key."""

    key: KeyRecord | None = None
    requests: list[RequestRecord] = field(default_factory=list)


class StateStore:
    def __init__(self, app: Any, table: Any) -> None:
        self._app = app
        self._table = table
        self._pending: list[FutureMessage] = []

    def put_key(self, record: KeyRecord) -> None:
        self._write(record.partition, KEY_PREFIX + record.store_key, record.model_dump_json())

    def put_request(self, record: RequestRecord) -> None:
        self._write(record.partition, REQUEST_PREFIX + record.store_key, record.model_dump_json())

    def forget_request(self, record: RequestRecord) -> None:
        self._write(record.partition, REQUEST_PREFIX + record.store_key, None)

    def _write(self, partition: int, key: str, value: str | None) -> None:
        raw_key = key.encode("utf-8")
        raw_value = value.encode("utf-8") if value is not None else None
        if raw_value is None:
            self._table.data.pop(raw_key, None)
        else:
            self._table.data[raw_key] = raw_value
        self._pending.append(
            self._table.send_changelog(
                partition, raw_key, raw_value, key_serializer="raw", value_serializer="raw"
            )
        )

    async def make_durable(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        started = time.monotonic()
        await self._app.producer.flush()
        results = await asyncio.gather(*pending, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise StateNotDurable(f"{len(failed)} state record(s) not written: {failed[0]!r}")
        metrics.DURABLE.observe(time.monotonic() - started)

    def load(self, partitions: set[int]) -> dict[str, KeyRecords]:
        """Everything restored for ``partitions``, grouped by quota key."""
        found: dict[str, KeyRecords] = defaultdict(KeyRecords)
        for raw_key, raw in list(self._table.data.items()):
            key = raw_key.decode("utf-8") if isinstance(raw_key, bytes) else str(raw_key)
            if not raw:
                continue
            try:
                if key.startswith(KEY_PREFIX):
                    record = KeyRecord.model_validate_json(raw)
                    if record.partition in partitions:
                        found[record.store_key].key = record
                elif key.startswith(REQUEST_PREFIX):
                    request = RequestRecord.model_validate_json(raw)
                    if request.partition in partitions:
                        found[str(request.quota_key)].requests.append(request)
            except ValidationError as exc:
                # Guessing would be worse than stopping: a key whose record is skipped
                # starts with a full bucket, which is the over-grant this store prevents.
                raise StateNotDurable(f"unreadable state record {key!r}: {exc}") from exc
        return dict(found)
