"""``SpApiClient``: every SP-API operation the system calls, for one seller.

One class around an injected ``httpx.AsyncClient`` (tests pass one built on
``httpx.MockTransport``). Each SP-API operation is **one** request to Amazon: every
request must be paid for by a quota token of its own (docs/design.md §15), so the client
never repeats one; it raises a typed error and the caller holding the tokens
(shared/metered.py) decides on another try under a fresh one. Each call:

- sends the seller's LWA access token as ``x-amz-access-token``; a 403 Unauthorized
  forgets that token and raises ``AccessTokenRejected`` (a fresh try is worth it);
- turns 429 into ``Throttled`` (the caller reports it to the throttle service);
- turns a 5xx, timeout or lost connection into ``TransientError``: ``NotSent`` when the
  request never left (connection refused, LWA unreachable), ``MaybeAccepted`` when a
  call that creates something (``createFeed``, ``createReport``) may have been carried
  out; any other 4xx is ``PermanentError`` with Amazon's ``errors``;
- returns ``ApiResult`` with the typed model, ``x-amzn-RateLimit-Limit`` and the request id;
- logs operation, status, request id and seller, never a token, secret or presigned URL.

LWA token requests and document transfers to presigned URLs are not SP-API quota: they
keep bounded retries of their own (``RetryPolicy``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import quote, urlsplit

import httpx
from opentelemetry.trace import Span, SpanKind
from pydantic import BaseModel, ValidationError

from shared.quotas import OPERATION_CLASS
from shared.spapi import redaction
from shared.spapi.auth import LwaCredentials, LwaTokenProvider
from shared.spapi.deadline import CALL_DEADLINE_S, DOCUMENT_DEADLINE_S, within
from shared.spapi.documents import DOWNLOAD, MAX_DOCUMENT_BYTES, DocumentReader
from shared.spapi.errors import (
    AccessTokenRejected,
    MalformedResponse,
    MaybeAccepted,
    NotSent,
    PermanentError,
    Throttled,
    TransientError,
)
from shared.spapi.models.base import ErrorDetail, ErrorList
from shared.spapi.models.catalog import (
    MAX_IDENTIFIERS_PER_SEARCH,
    IdentifiersType,
    ItemSearchResults,
)
from shared.spapi.models.feeds import (
    CreateFeedDocumentResponse,
    CreateFeedDocumentSpecification,
    CreateFeedResponse,
    CreateFeedSpecification,
    Feed,
    FeedDocument,
    GetFeedsResponse,
)
from shared.spapi.models.listings import (
    ListingsItemPatchRequest,
    ListingsItemSubmissionResponse,
    PatchOperation,
)
from shared.spapi.models.orders_2026 import SearchOrdersResponse
from shared.spapi.models.reports import (
    CreateReportResponse,
    CreateReportSpecification,
    Report,
    ReportDocument,
)
from shared.spapi.result import ApiResult
from shared.spapi.retry import RetryPolicy
from shared.tracing import TRACER

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

USER_AGENT = "amazon-jobs/0.1 (Language=Python)"
RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"
REQUEST_ID_HEADER = "x-amzn-RequestId"

FEEDS = "/feeds/2021-06-30"
REPORTS = "/reports/2021-06-30"
CATALOG = "/catalog/2022-04-01"
LISTINGS = "/listings/2021-08-01"
ORDERS_2026 = "/orders/2026-01-01"

QueryValue = str | int | bool | datetime | Sequence[str] | None


class SpApiClient:
    """SP-API for one seller account. Cheap to create; share the ``httpx.AsyncClient`` and,
    across clients of one seller, the ``LwaTokenProvider``. ``retry`` bounds the retries
    of what is not SP-API quota: LWA (when the provider is made here) and presigned
    document transfers."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        credentials: LwaCredentials,
        *,
        endpoint: str,
        lwa_endpoint: str,
        retry: RetryPolicy | None = None,
        token_provider: LwaTokenProvider | None = None,
        deadline_s: float = CALL_DEADLINE_S,
        document_deadline_s: float = DOCUMENT_DEADLINE_S,
    ) -> None:
        self._http = http
        self._deadline_s = deadline_s
        self._document_deadline_s = document_deadline_s
        self._credentials = credentials
        self._base = endpoint.rstrip("/")
        self._retry = retry or RetryPolicy()
        if token_provider is None:
            token_provider = LwaTokenProvider(
                http, lwa_endpoint, retry=self._retry, deadline_s=deadline_s
            )
        elif token_provider.lwa_url != lwa_endpoint:
            raise ValueError("token_provider talks to another LWA endpoint than lwa_endpoint")
        self._tokens = token_provider
        redaction.install()  # httpx would log presigned URLs with their signature

    @property
    def seller_id(self) -> str:
        return self._credentials.seller_id

    # ---- Feeds 2021-06-30 -------------------------------------------------------------

    async def create_feed_document(
        self, content_type: str
    ) -> ApiResult[CreateFeedDocumentResponse]:
        body = CreateFeedDocumentSpecification(content_type=content_type)
        response = await self._call(
            "createFeedDocument", "POST", f"{FEEDS}/documents", json=body.to_wire()
        )
        return self._result("createFeedDocument", response, CreateFeedDocumentResponse)

    async def upload_feed_document(
        self, url: str, content: bytes, content_type: str
    ) -> ApiResult[None]:
        """PUT the feed to the presigned URL, with the Content-Type given to
        ``create_feed_document`` (Amazon rejects the feed otherwise)."""
        response = await self._presigned(
            "uploadFeedDocument", "PUT", url, content=content, content_type=content_type
        )
        return ApiResult(None, None, _request_id(response), response.status_code)

    async def create_feed(
        self,
        feed_type: str,
        marketplace_ids: Sequence[str],
        input_feed_document_id: str,
        feed_options: Mapping[str, str] | None = None,
    ) -> ApiResult[CreateFeedResponse]:
        body = CreateFeedSpecification(
            feed_type=feed_type,
            marketplace_ids=list(marketplace_ids),
            input_feed_document_id=input_feed_document_id,
            feed_options=dict(feed_options) if feed_options else None,
        )
        response = await self._call("createFeed", "POST", f"{FEEDS}/feeds", json=body.to_wire())
        return self._result("createFeed", response, CreateFeedResponse)

    async def get_feed(self, feed_id: str) -> ApiResult[Feed]:
        response = await self._call("getFeed", "GET", f"{FEEDS}/feeds/{_segment(feed_id)}")
        return self._result("getFeed", response, Feed)

    async def get_feeds(
        self,
        *,
        feed_types: Sequence[str] | None = None,
        marketplace_ids: Sequence[str] | None = None,
        page_size: int | None = None,
        processing_statuses: Sequence[str] | None = None,
        created_since: datetime | None = None,
        created_until: datetime | None = None,
        next_token: str | None = None,
    ) -> ApiResult[GetFeedsResponse]:
        """One page of feeds. Amazon wants ``next_token`` alone, so with it every other
        filter is dropped (the token remembers them)."""
        params = _page_params(
            next_token,
            feedTypes=feed_types,
            marketplaceIds=marketplace_ids,
            pageSize=_page_size(page_size),
            processingStatuses=processing_statuses,
            createdSince=created_since,
            createdUntil=created_until,
        )
        if "nextToken" not in params and "feedTypes" not in params:
            raise ValueError("getFeeds needs feed_types or next_token")
        response = await self._call("getFeeds", "GET", f"{FEEDS}/feeds", params=params)
        return self._result("getFeeds", response, GetFeedsResponse)

    async def get_feed_document(self, feed_document_id: str) -> ApiResult[FeedDocument]:
        path = f"{FEEDS}/documents/{_segment(feed_document_id)}"
        response = await self._call("getFeedDocument", "GET", path)
        return self._result("getFeedDocument", response, FeedDocument)

    async def download_document(
        self, document: FeedDocument | ReportDocument, *, max_bytes: int = MAX_DOCUMENT_BYTES
    ) -> ApiResult[bytes]:
        """The document's bytes, inflated when they are GZIP, read as they arrive and
        refused with :class:`DocumentTooLarge` as soon as they pass ``max_bytes``
        (shared/spapi/documents.py)."""
        reader = DocumentReader(max_bytes)
        response = await self._presigned(DOWNLOAD, "GET", document.url, reader=reader)
        return ApiResult(reader.finish(), None, _request_id(response), response.status_code)

    # ---- Reports 2021-06-30 -----------------------------------------------------------

    async def create_report(
        self,
        report_type: str,
        marketplace_ids: Sequence[str],
        *,
        data_start_time: datetime | None = None,
        data_end_time: datetime | None = None,
        report_options: Mapping[str, str] | None = None,
    ) -> ApiResult[CreateReportResponse]:
        body = CreateReportSpecification(
            report_type=report_type,
            marketplace_ids=list(marketplace_ids),
            data_start_time=_aware(data_start_time),
            data_end_time=_aware(data_end_time),
            report_options=dict(report_options) if report_options else None,
        )
        response = await self._call(
            "createReport", "POST", f"{REPORTS}/reports", json=body.to_wire()
        )
        return self._result("createReport", response, CreateReportResponse)

    async def get_report(self, report_id: str) -> ApiResult[Report]:
        path = f"{REPORTS}/reports/{_segment(report_id)}"
        response = await self._call("getReport", "GET", path)
        return self._result("getReport", response, Report)

    async def get_report_document(self, report_document_id: str) -> ApiResult[ReportDocument]:
        path = f"{REPORTS}/documents/{_segment(report_document_id)}"
        response = await self._call("getReportDocument", "GET", path)
        return self._result("getReportDocument", response, ReportDocument)

    # ---- Catalog Items 2022-04-01 -----------------------------------------------------

    async def search_catalog_items(
        self,
        identifiers: Sequence[str],
        identifiers_type: IdentifiersType | str,
        marketplace_id: str,
        *,
        included_data: Sequence[str] = ("identifiers", "summaries"),
        page_token: str | None = None,
    ) -> ApiResult[ItemSearchResults]:
        """Look up to 20 identifiers (EAN, UPC, …) in one call."""
        kind = IdentifiersType(identifiers_type)
        if not 1 <= len(identifiers) <= MAX_IDENTIFIERS_PER_SEARCH:
            raise ValueError(
                f"searchCatalogItems takes 1 to {MAX_IDENTIFIERS_PER_SEARCH} identifiers"
            )
        if any("," in i or not i.strip() for i in identifiers):
            raise ValueError("an identifier is empty or contains a comma")
        params = _query(
            identifiers=identifiers,
            identifiersType=kind.value,
            marketplaceIds=[marketplace_id],
            includedData=included_data,
            # Default page size is 10: 20 identifiers can match 20+ items.
            pageSize=MAX_IDENTIFIERS_PER_SEARCH,
            pageToken=page_token,
            sellerId=self.seller_id if kind is IdentifiersType.SKU else None,
        )
        response = await self._call("searchCatalogItems", "GET", f"{CATALOG}/items", params=params)
        return self._result("searchCatalogItems", response, ItemSearchResults)

    # ---- Listings Items 2021-08-01 ----------------------------------------------------

    async def patch_listings_item(
        self,
        sku: str,
        marketplace_ids: Sequence[str],
        product_type: str,
        patches: Sequence[PatchOperation | Mapping[str, object]],
        *,
        validation_preview: bool = False,
        included_data: Sequence[str] | None = None,
        issue_locale: str | None = None,
    ) -> ApiResult[ListingsItemSubmissionResponse]:
        """Patch one SKU of this seller at once (no feed). The answer is 200 whether Amazon
        took it or not: ``status`` ACCEPTED, INVALID (``issues`` say why) or, with
        ``validation_preview``, VALID. A patch replaces attributes, so sending it again
        sets the same values: a 5xx is a plain transient error (``Metered`` sends it again
        under a fresh grant), not "may have been accepted" as for createFeed."""
        if not marketplace_ids:
            raise ValueError("patchListingsItem needs at least one marketplace")
        body = ListingsItemPatchRequest(
            product_type=product_type,
            patches=[PatchOperation.model_validate(p) for p in patches],
        )
        params = _query(
            marketplaceIds=marketplace_ids,
            includedData=included_data,
            mode="VALIDATION_PREVIEW" if validation_preview else None,
            issueLocale=issue_locale,
        )
        path = f"{LISTINGS}/items/{_segment(self.seller_id)}/{_segment(sku)}"
        response = await self._call(
            "patchListingsItem", "PATCH", path, params=params, json=body.to_wire()
        )
        return self._result("patchListingsItem", response, ListingsItemSubmissionResponse)

    # ---- Orders 2026-01-01 ------------------------------------------------------------

    async def search_orders(
        self,
        *,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        last_updated_after: datetime | None = None,
        last_updated_before: datetime | None = None,
        marketplace_ids: Sequence[str] | None = None,
        fulfillment_statuses: Sequence[str] | None = None,
        fulfilled_by: Sequence[str] | None = None,
        max_results_per_page: int | None = None,
        pagination_token: str | None = None,
        included_data: Sequence[str] | None = None,
    ) -> ApiResult[SearchOrdersResponse]:
        """One page of orders with their items inline. With ``pagination_token`` Amazon
        wants the other filters repeated unchanged, so they are all still sent."""
        if (created_after is None) == (last_updated_after is None):
            raise ValueError("searchOrders needs exactly one of created_after, last_updated_after")
        if created_after is not None and last_updated_before is not None:
            raise ValueError("last_updated_before goes with last_updated_after")
        if last_updated_after is not None and created_before is not None:
            raise ValueError("created_before goes with created_after")
        params = _query(
            createdAfter=created_after,
            createdBefore=created_before,
            lastUpdatedAfter=last_updated_after,
            lastUpdatedBefore=last_updated_before,
            marketplaceIds=marketplace_ids,
            fulfillmentStatuses=fulfillment_statuses,
            fulfilledBy=fulfilled_by,
            maxResultsPerPage=_page_size(max_results_per_page),
            paginationToken=pagination_token,
            includedData=included_data,
        )
        response = await self._call("searchOrders", "GET", f"{ORDERS_2026}/orders", params=params)
        return self._result("searchOrders", response, SearchOrdersResponse)

    # ---- transport --------------------------------------------------------------------

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, object] | None = None,
    ) -> httpx.Response:
        """One SP-API request, sent once, with the token and error policy of this module,
        in a span of its own (docs/design.md §23)."""
        with _span(operation, method) as span:
            response = await self._call_once(operation, method, path, params=params, json=json)
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    async def _call_once(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, object] | None = None,
    ) -> httpx.Response:
        try:
            token = await self._tokens.access_token(self._credentials)
        except TransientError as exc:
            # LWA stayed unreachable through its own retries: Amazon never saw the call.
            raise NotSent(f"{operation} not sent: {exc}", operation=operation, attempts=1) from exc
        headers = {
            "x-amz-access-token": token,
            "accept": "application/json",
            "user-agent": USER_AGENT,
        }
        started = time.perf_counter()
        try:
            response = await within(
                self._deadline_s,
                self._http.request(
                    method, self._base + path, params=params, json=json, headers=headers
                ),
            )
        except httpx.TransportError as exc:
            self._log(operation, path, None, None, 1, started, type(exc).__name__)
            raise _lost(operation, exc) from exc

        status = response.status_code
        request_id = _request_id(response)
        self._log(operation, path, status, request_id, 1, started, None)
        if 200 <= status < 300:
            return response
        errors = _errors(response)
        if status == 429:
            raise Throttled(
                operation, OPERATION_CLASS.get(operation), request_id=request_id, errors=errors
            )
        if _is_unauthorized(status, errors):
            # Expired early or revoked: the next call fetches a new token.
            self._tokens.invalidate(self._credentials, token)
            raise AccessTokenRejected(
                self.seller_id,
                _describe(errors) or f"HTTP {status}",
                operation=operation,
                status=status,
                request_id=request_id,
                errors=errors,
            )
        if status >= 500 and operation in CREATING:
            raise _maybe_accepted(operation, f"HTTP {status}", status=status, request_id=request_id)
        if status >= 500:
            raise TransientError(
                f"{operation} failed: HTTP {status}",
                operation=operation,
                attempts=1,
                status=status,
                request_id=request_id,
                errors=errors,
            )
        raise PermanentError(
            f"Amazon refused {operation} (HTTP {status}): {_describe(errors) or 'no details'}",
            operation=operation,
            status=status,
            request_id=request_id,
            errors=errors,
        )

    async def _presigned(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        reader: DocumentReader | None = None,
    ) -> httpx.Response:
        with _span(operation, method) as span:
            response = await self._presigned_once(
                operation, method, url, content=content, content_type=content_type, reader=reader
            )
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    async def _presigned_once(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        reader: DocumentReader | None = None,
    ) -> httpx.Response:
        """A document transfer to a presigned URL: no access token (the URL is the
        credential, and the token must not travel to the storage host). Not SP-API quota,
        so a 5xx, a 429 or a lost connection is retried here, within ``retry``'s bound.
        With ``reader``, a 2xx body goes to it raw as it arrives (never whole in memory
        first, nor inflated by httpx); a retry starts it afresh."""
        headers = {"user-agent": USER_AGENT}
        if content_type is not None:
            headers["content-type"] = content_type
        # The query string of a presigned URL is its signature: log host and path only.
        parts = urlsplit(url)
        where = f"{parts.netloc}{parts.path}"
        failures = 0
        while True:
            started = time.perf_counter()
            try:
                response = await within(
                    self._document_deadline_s,
                    self._transfer(method, url, content, headers, reader),
                )
            except httpx.TransportError as exc:
                failures += 1
                self._log(operation, where, None, None, failures, started, type(exc).__name__)
                gave_up = _gave_up(operation, failures, type(exc).__name__)
                await self._retry.again_or_raise(failures, gave_up, exc)
                continue
            status = response.status_code
            self._log(operation, where, status, _request_id(response), failures + 1, started, None)
            if 200 <= status < 300:
                return response
            if status >= 500 or status == 429:  # storage throttling is a plain slow-down
                failures += 1
                gave_up = _gave_up(operation, failures, f"HTTP {status}", status=status)
                await self._retry.again_or_raise(failures, gave_up)
                continue
            # 403 here almost always means the 5-minute URL expired: ask for a new one.
            raise PermanentError(
                f"{operation} refused (HTTP {status}); the presigned URL may have expired",
                operation=operation,
                status=status,
            )

    async def _transfer(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str],
        reader: DocumentReader | None,
    ) -> httpx.Response:
        async with self._http.stream(method, url, content=content, headers=headers) as response:
            if reader is not None and 200 <= response.status_code < 300:
                reader.restart()
                async for chunk in response.aiter_raw():
                    reader.feed(chunk)
            else:
                await response.aread()
        return response

    def _result(self, operation: str, response: httpx.Response, model: type[M]) -> ApiResult[M]:
        try:
            value = model.model_validate_json(response.content)
        except ValidationError as exc:
            raise MalformedResponse(
                f"{operation} answered {response.status_code} with a body that does not match "
                f"{model.__name__}: {exc.error_count()} problem(s)",
                operation=operation,
                status=response.status_code,
                request_id=_request_id(response),
            ) from exc
        return ApiResult(value, _rate_limit(response), _request_id(response), response.status_code)

    def _log(
        self,
        operation: str,
        path: str,
        status: int | None,
        request_id: str | None,
        attempt: int,
        started: float,
        failure: str | None,
    ) -> None:
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        fields = {
            "operation": operation,
            "http_status": status,
            "request_id": request_id,
            "seller_id": self.seller_id,
            "attempt": attempt,
            "elapsed_ms": elapsed_ms,
            "path": path,
        }
        if failure is not None:
            logger.warning(
                "spapi %s seller=%s failed: %s (attempt %s)",
                operation,
                self.seller_id,
                failure,
                attempt,
                extra=fields | {"failure": failure},
            )
            return
        level = logging.INFO if status is not None and status < 400 else logging.WARNING
        logger.log(
            level,
            "spapi %s seller=%s status=%s request_id=%s",
            operation,
            self.seller_id,
            status,
            request_id,
            extra=fields,
        )


# ---- helpers (module level: pure, no client state) --------------------------------------


# Calls that create something at Amazon: after they are sent, a 5xx or a lost answer may
# hide a success, and a blind repeat would make a second feed (a shipment confirmed twice)
# or a second report. createFeedDocument is not among them: an unused document is harmless.
CREATING = frozenset({"createFeed", "createReport"})
# Transport failures that happen before the request leaves: safe to repeat.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def _lost(operation: str, exc: httpx.TransportError) -> TransientError:
    """A request that got no answer: never sent, maybe carried out, or just failed."""
    cause = type(exc).__name__
    if isinstance(exc, NOT_SENT):
        return NotSent(f"{operation} not sent: {cause}", operation=operation, attempts=1)
    if operation in CREATING:
        return _maybe_accepted(operation, cause)
    return TransientError(f"{operation} failed: {cause}", operation=operation, attempts=1)


def _maybe_accepted(
    operation: str, cause: str, *, status: int | None = None, request_id: str | None = None
) -> MaybeAccepted:
    return MaybeAccepted(
        f"{operation} failed after it was sent ({cause}): Amazon may have accepted it",
        operation=operation,
        attempts=1,
        status=status,
        request_id=request_id,
    )


def _gave_up(
    operation: str, failures: int, cause: str, *, status: int | None = None
) -> TransientError:
    return TransientError(
        f"{operation} failed after {failures} attempts: {cause}",
        operation=operation,
        attempts=failures,
        status=status,
    )


def _request_id(response: httpx.Response) -> str | None:
    value: str | None = response.headers.get(REQUEST_ID_HEADER)
    return value


def _rate_limit(response: httpx.Response) -> float | None:
    raw: str | None = response.headers.get(RATE_LIMIT_HEADER)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None  # best-effort header: a garbled one is as good as none
    return value if value > 0 else None


def _errors(response: httpx.Response) -> list[ErrorDetail]:
    """Amazon's ``errors`` list, or nothing when the body is not one (HTML from a proxy…)."""
    try:
        return list(ErrorList.model_validate_json(response.content).errors)
    except ValidationError:
        return []


def _describe(errors: Iterable[ErrorDetail]) -> str:
    return "; ".join(f"{e.code}: {e.message}" if e.message else e.code for e in errors)


def _is_unauthorized(status: int, errors: Sequence[ErrorDetail]) -> bool:
    """An expired or revoked token. Amazon says 403 with code Unauthorized; a 401 or a 403
    without a readable body is treated alike (one refresh costs little)."""
    if status == 401:
        return True
    if status != 403:
        return False
    return not errors or any(e.code.lower() == "unauthorized" for e in errors)


def _segment(value: str) -> str:
    """A path parameter, escaped so an id can never change the path."""
    if not value:
        raise ValueError("an empty id in an SP-API path")
    return quote(value, safe="")


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError("SP-API times must be timezone-aware")
    return moment


def _page_size(size: int | None) -> int | None:
    if size is not None and not 1 <= size <= 100:
        raise ValueError("page size must be between 1 and 100")
    return size


def _format(value: str | int | bool | datetime | Sequence[str]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        aware = _aware(value)
        assert aware is not None
        return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, int | str):
        return str(value)
    return ",".join(value)  # SP-API arrays in a query are comma-separated


def _query(**params: QueryValue) -> dict[str, str]:
    """Query parameters under Amazon's names, with the unset ones left out."""
    query: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if not isinstance(value, str | int | bool | datetime) and len(value) == 0:
            continue
        query[name] = _format(value)
    return query


def _page_params(next_token: str | None, **filters: QueryValue) -> dict[str, str]:
    """getFeeds: ``nextToken`` must be sent alone."""
    if next_token is not None:
        return {"nextToken": next_token}
    return _query(**filters)


def _span(operation: str, method: str) -> AbstractContextManager[Span]:
    """A client span per Amazon exchange; an error (a 429 as Throttled) is recorded on it."""
    return TRACER.start_as_current_span(
        f"spapi {operation}",
        kind=SpanKind.CLIENT,
        attributes={"spapi.operation": operation, "http.request.method": method},
    )
