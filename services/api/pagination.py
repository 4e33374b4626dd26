"""Opaque cursors: the sort key of the last row, so a page never skips or repeats rows."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from services.api.errors import ApiError

Sort = list[tuple[str, int]]


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: tuple[type, ...]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong shape")
        return [
            datetime.fromisoformat(v) if kind is datetime else kind(v)
            for v, kind in zip(values, kinds, strict=True)
        ]
    except (ValueError, TypeError, OverflowError) as exc:
        raise ApiError(422, "invalid", "cursor: not a cursor this API gave out") from exc


@dataclass(frozen=True, slots=True)
class Keyset:
    """An order of rows a cursor resumes: the sort fields (together unique among the rows
    queried) with the type of each, and the direction."""

    fields: tuple[tuple[str, type], ...]
    descending: bool = False
    # Fields the query fixes to one value, sorted on first so the compound index serves.
    fixed: tuple[str, ...] = ()
    # Many rows share the leading fields (a log's lines of one event share their time and
    # seq): the page after a cursor is then read as one query per field, each a seek into
    # the index, not one $or that walks every tied row before the cursor (read_page).
    seek_ties: bool = False

    def sort(self, first: int = 0) -> Sort:
        """The sort: the fixed fields, then the keyset's fields from ``first`` on."""
        direction = -1 if self.descending else 1
        return [(name, 1) for name in self.fixed] + [
            (name, direction) for name, _ in self.fields[first:]
        ]

    def _later(self, cursor: str) -> list[dict[str, Any]]:
        """Lexicographic: the rows beyond the cursor's on the first field, or tied on it
        and beyond on the second, ... (one condition per field, in that order)."""
        values = decode_cursor(cursor, tuple(kind for _, kind in self.fields))
        beyond = "$lt" if self.descending else "$gt"
        names = [name for name, _ in self.fields]
        return [
            {**dict(zip(names[:n], values[:n], strict=True)), names[n]: {beyond: values[n]}}
            for n in range(len(names))
        ]

    def after(self, query: dict[str, Any], cursor: str | None) -> dict[str, Any]:
        """``query`` narrowed to the rows after the cursor's row."""
        if not cursor:
            return query
        later = self._later(cursor)
        if len(later) == 1:
            return {**query, **later[0]}
        # The first field's bound is implied by the $or; stated apart, it lets FerretDB on
        # SQLite start its index scan at the cursor instead of merging the $or's branches.
        name = self.fields[0][0]
        value = next(iter(later[0][name].values()))
        bound = "$lte" if self.descending else "$gte"
        return {"$and": [query, {name: {bound: value}}, {"$or": later}]}

    def tiers(self, query: dict[str, Any], cursor: str) -> list[tuple[dict[str, Any], Sort]]:
        """The rows after the cursor's row as queries to read one after the other, each
        with its sort: the rows tied with it on every field but the last, then on every
        field but the last two, ... then those beyond it on the first field. A field a
        tier fixes is left out of its sort: FerretDB on SQLite would sort the rows found
        rather than see that the index gives them in order."""
        later = list(enumerate(self._later(cursor)))
        return [({"$and": [query, condition]}, self.sort(n)) for n, condition in reversed(later)]

    def cursor(self, doc: dict[str, Any]) -> str:
        return encode_cursor([doc[name] for name, _ in self.fields])


async def rows_after(
    rows: AsyncCollection[dict[str, Any]],
    query: dict[str, Any],
    order: Keyset,
    cursor: str | None,
    want: int,
) -> list[dict[str, Any]]:
    """Up to ``want`` rows after the cursor's row (from the first without one)."""
    if cursor and order.seek_ties:
        docs: list[dict[str, Any]] = []
        for tier, sort in order.tiers(query, cursor):
            docs += await rows.find(tier).sort(sort).limit(want - len(docs)).to_list()
            if len(docs) >= want:
                break
        return docs
    return await rows.find(order.after(query, cursor)).sort(order.sort()).limit(want).to_list()


async def read_page(
    rows: AsyncCollection[dict[str, Any]],
    query: dict[str, Any],
    order: Keyset,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` rows after the cursor, and the cursor of the next page (``None``
    when there is none: one row more than asked for is read to know)."""
    docs = await rows_after(rows, query, order, cursor, limit + 1)
    more = len(docs) > limit
    docs = docs[:limit]
    return docs, order.cursor(docs[-1]) if more else None
