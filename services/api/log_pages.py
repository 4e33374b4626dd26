"""A job's log in pages of lines, read from documents of many lines (projection.log_chunks).

The documents sort on (at, seq, _id) as the lines of a document do; a page's cursor names
the document of its last line and that line's place in it, so the next page starts inside
that document when it has more lines (docs/design.md §25)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from services.api.errors import ApiError
from services.api.pagination import Keyset, decode_cursor, encode_cursor, rows_after
from services.api.projection import log_lines
from services.api.store import Database

LOG_ORDER = Keyset((("at", datetime), ("seq", int), ("_id", str)), seek_ties=True)
CURSOR = (datetime, int, str, int)
# Documents read by the first query of a page. The next query reads as many as the lines
# still wanted need at the lines per document seen so far: a page of 500 lines in chunks
# of 200 reads three documents (FerretDB turns each line into BSON, ~13 µs); a page of
# one-line documents (written before chunks) two queries.
FIRST_READ = 2
MOST_READ = 1_000

Line = tuple[dict[str, Any], int, dict[str, Any]]  # its document, its place there, the line


async def read_log_page(
    db: Database, job_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` lines of the job's log after the cursor, oldest first, each with its
    event type; and the next page's cursor (None when no line follows)."""
    lines: list[Line] = []
    after: str | None = None
    if cursor:
        at, seq, doc_id, place = _decode(cursor)
        doc = await db.job_log.find_one({"_id": doc_id, "job_id": job_id})
        if doc is not None:
            lines += [(doc, n, line) for n, line in enumerate(log_lines(doc)) if n > place]
        after = encode_cursor([at, seq, doc_id])
    want, read, found = FIRST_READ, 0, 0
    while len(lines) <= limit:  # one line more than asked for tells whether more follow
        docs = await rows_after(db.job_log, {"job_id": job_id}, LOG_ORDER, after, want)
        for doc in docs:
            more = log_lines(doc)
            lines += [(doc, n, line) for n, line in enumerate(more)]
            found += len(more)
        read += len(docs)
        if len(docs) < want:
            break
        after = LOG_ORDER.cursor(docs[-1])
        per_doc = max(found / read, 1.0)
        want = min(MOST_READ, math.ceil((limit + 1 - len(lines)) / per_doc))
    page = lines[:limit]
    rows = [{**line, "event_type": doc["event_type"]} for doc, _, line in page]
    if len(lines) <= limit or not page:
        return rows, None
    doc, place, _ = page[-1]
    return rows, encode_cursor([doc["at"], doc["seq"], doc["_id"], place])


def _decode(cursor: str) -> tuple[datetime, int, str, int]:
    """A cursor of this reader, or one given out when each line was a document (its line
    is the whole document: the page goes on after it)."""
    try:
        at, seq, doc_id, place = decode_cursor(cursor, CURSOR)
    except ApiError:
        at, seq, doc_id = decode_cursor(cursor, CURSOR[:3])
        place = 0
    if place < 0:
        raise ApiError(422, "invalid", "cursor: not a cursor this API gave out")
    return at, seq, doc_id, place
