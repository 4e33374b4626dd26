"""What the Feeds and Reports APIs share, as Amazon made them parallel: getting one,
listing with filters and nextToken, the common fields of a Feed / Report, cancelling, and
handing out a result document. ``JobResource`` holds what differs between the two.

Listing rules: the type filter (feedTypes / reportTypes) or nextToken is required; a
nextToken must be sent alone (it carries the whole query); pageSize is 1-100 (default
10); createdSince defaults to 90 days ago, createdUntil to now. Newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse, Response

from services.amazon_sandbox.clock import Clock, isoformat, parse_iso
from services.amazon_sandbox.errors import invalid_input, not_found
from services.amazon_sandbox.gateway import Call
from services.amazon_sandbox.params import (
    decode_page_token,
    encode_page_token,
    query_datetime,
    query_int,
    query_list,
)
from services.amazon_sandbox.routes.documents import document_url
from services.amazon_sandbox.state import DocumentKind, Job, Line, ProcessingStatus, Seller

J = TypeVar("J", bound=Job)

RETENTION = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class JobListQuery:
    types: tuple[str, ...]
    statuses: tuple[str, ...]
    marketplace_ids: tuple[str, ...]
    since: datetime
    until: datetime
    page_size: int
    offset: int = 0

    def page_token(self, offset: int) -> str:
        return encode_page_token(
            {
                "types": self.types,
                "statuses": self.statuses,
                "marketplaces": self.marketplace_ids,
                "since": isoformat(self.since),
                "until": isoformat(self.until),
                "size": self.page_size,
                "offset": offset,
            }
        )


def parse_job_list_query(query: QueryParams, types_param: str, now: datetime) -> JobListQuery:
    token = query.get("nextToken")
    if token is not None:
        if len(query) > 1:
            raise invalid_input("nextToken must be the only parameter when it is given.")
        return _query_from_token(token)
    types = query_list(query, types_param, max_items=10)
    if not types:
        raise invalid_input(f"Either {types_param} or nextToken is required.")
    statuses = query_list(query, "processingStatuses")
    unknown = [status for status in statuses if status not in ProcessingStatus.__members__]
    if unknown:
        raise invalid_input(f"Invalid processingStatuses: {', '.join(unknown)}.")
    since = query_datetime(query, "createdSince") or now - RETENTION
    until = query_datetime(query, "createdUntil") or now
    if since > until:
        raise invalid_input("createdSince must be before createdUntil.")
    return JobListQuery(
        types=tuple(types),
        statuses=tuple(statuses),
        marketplace_ids=tuple(query_list(query, "marketplaceIds", max_items=10)),
        since=since,
        until=until,
        page_size=query_int(query, "pageSize", 10, 1, 100),
    )


def _query_from_token(token: str) -> JobListQuery:
    state = decode_page_token(token, "nextToken")
    try:
        return JobListQuery(
            types=tuple(state["types"]),
            statuses=tuple(state["statuses"]),
            marketplace_ids=tuple(state["marketplaces"]),
            since=parse_iso(state["since"]),
            until=parse_iso(state["until"]),
            page_size=int(state["size"]),
            offset=int(state["offset"]),
        )
    except (KeyError, TypeError, ValueError):
        raise invalid_input("nextToken is invalid or expired.") from None


def list_jobs(jobs: Iterable[J], query: JobListQuery, clock: Clock) -> tuple[list[J], str | None]:
    """One page of the matching jobs, newest first, and the token of the next page."""
    matching = [
        job
        for job in jobs
        if job.job_type in query.types
        and (not query.statuses or job.status.value in query.statuses)
        and (
            not query.marketplace_ids
            or any(m in query.marketplace_ids for m in job.marketplace_ids)
        )
        and query.since <= clock.wall(job.created) <= query.until
    ]
    matching.sort(key=lambda job: job.created, reverse=True)
    end = query.offset + query.page_size
    page = matching[query.offset : end]
    return page, (query.page_token(end) if end < len(matching) else None)


def job_fields(job: Job, clock: Clock) -> dict[str, Any]:
    """createdTime, processingStatus and the processing times, as Amazon shows them."""
    fields: dict[str, Any] = {
        "marketplaceIds": list(job.marketplace_ids),
        "createdTime": isoformat(clock.wall(job.created)),
        "processingStatus": job.status.value,
    }
    if job.started is not None:
        fields["processingStartTime"] = isoformat(clock.wall(job.started))
    if job.ended is not None:
        fields["processingEndTime"] = isoformat(clock.wall(job.ended))
    return fields


@dataclass(frozen=True, slots=True)
class JobResource(Generic[J]):
    """Feeds or Reports: getX, getXs and cancelX are the same but for these names."""

    noun: str  # "feed": feedId, feedType, feedTypes, "feeds", "Feed 1 was not found."
    jobs: Callable[[Seller], dict[str, J]]
    line: Callable[[Seller], Line]
    document_field: str  # where the result document's id is shown
    extra_fields: Callable[[J], dict[str, Any]] = lambda _: {}

    def lookup(self, call: Call) -> J:
        job_id = call.path(f"{self.noun}Id")
        job = self.jobs(call.seller).get(job_id)
        if job is None:
            raise not_found(f"{self.noun.capitalize()} {job_id} was not found.")
        return job

    def to_json(self, call: Call, job: J) -> dict[str, Any]:
        body: dict[str, Any] = {f"{self.noun}Id": job.job_id, f"{self.noun}Type": job.job_type}
        body.update(job_fields(job, call.state.clock))
        body.update(self.extra_fields(job))
        if job.result_document_id:
            body[self.document_field] = job.result_document_id
        return body

    def requested_type(self, body: dict[str, Any], known: frozenset[str], hint: str) -> str:
        """createFeed / createReport: the feedType / reportType of the body."""
        name = f"{self.noun}Type"
        job_type = body.get(name)
        if not isinstance(job_type, str) or not job_type:
            raise invalid_input(f"{name} is required.")
        if job_type not in known:
            raise invalid_input(f"Invalid {name} '{job_type}'.", hint)
        return job_type

    def enqueue(self, call: Call, job: J) -> Response:
        """createFeed / createReport, once the job is built: 202 with its id."""
        self.jobs(call.seller)[job.job_id] = job
        self.line(call.seller).waiting.append(job)
        return JSONResponse({f"{self.noun}Id": job.job_id}, status_code=202)

    def get(self, call: Call) -> Response:
        """getFeed / getReport."""
        return JSONResponse(self.to_json(call, self.lookup(call)))

    def get_list(self, call: Call) -> Response:
        """getFeeds / getReports: ``{feeds: [...], nextToken?}``."""
        clock = call.state.clock
        query = parse_job_list_query(call.request.query_params, f"{self.noun}Types", clock.wall())
        page, next_token = list_jobs(self.jobs(call.seller).values(), query, clock)
        body: dict[str, Any] = {f"{self.noun}s": [self.to_json(call, job) for job in page]}
        if next_token:
            body["nextToken"] = next_token
        return JSONResponse(body)

    def cancel(self, call: Call) -> Response:
        """cancelFeed / cancelReport: only while IN_QUEUE."""
        job = self.lookup(call)
        if job.status is not ProcessingStatus.IN_QUEUE:
            raise invalid_input(
                f"The {self.noun} cannot be cancelled: its processingStatus is {job.status.value}.",
                f"Only {self.noun}s with processingStatus IN_QUEUE can be cancelled.",
            )
        job.status = ProcessingStatus.CANCELLED
        job.ended = call.state.clock.now()
        self.line(call.seller).waiting.remove(job)
        return Response(status_code=200)


def document_response(
    call: Call, id_field: str, kinds: frozenset[DocumentKind], noun: str
) -> Response:
    """getFeedDocument / getReportDocument: a fresh download URL, and the compression."""
    document_id = call.path(id_field)
    document = call.seller.documents.get(document_id)
    if document is None or document.kind not in kinds:
        raise not_found(f"{noun} {document_id} was not found.")
    body: dict[str, Any] = {id_field: document_id, "url": document_url(call, document_id, "GET")}
    if document.compression:
        body["compressionAlgorithm"] = document.compression
    return JSONResponse(body)
