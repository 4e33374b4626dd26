"""A small typed client of the HTTP API (docs/design.md §6).

One class around an ``httpx.Client``; tests hand it an ``httpx.MockTransport``. Every
failure leaves as a :mod:`cli.errors` exception with a message meant for a person.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from cli.errors import (
    ApiError,
    Conflict,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    Unauthorized,
    Unreachable,
)
from cli.models import (
    Account,
    Bucket,
    BulkResults,
    DeadLetter,
    DeadLetterReplayed,
    DeliveryAttempt,
    JobAccepted,
    JobDetail,
    JobItem,
    JobRow,
    LogEntry,
    NewAccount,
    Page,
    RetryAccepted,
    Schedule,
    Webhook,
)

DEFAULT_URL = "http://127.0.0.1:8080"
M = TypeVar("M", bound=BaseModel)
# The most rows the API gives in one page of a job's items or log: 25 requests for a job
# of 25,000 items instead of 125.
LONGEST_PAGE = 1000


@dataclass(frozen=True)
class JobFilters:
    """The filters of ``GET /v1/jobs``; None means "any"."""

    account_id: str | None = None
    job_type: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def params(self) -> dict[str, str]:
        given: dict[str, str | datetime | None] = {
            "account_id": self.account_id,
            "job_type": self.job_type,
            "status": self.status,
            "created_from": self.created_from,
            "created_to": self.created_to,
        }
        return {
            k: v.isoformat() if isinstance(v, datetime) else v
            for k, v in given.items()
            if v is not None
        }


class ApiClient:
    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "amazon-jobs-cli"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------ jobs

    def list_jobs(
        self, filters: JobFilters, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[JobRow]:
        params = filters.params()
        if limit is not None:
            params["limit"] = str(limit)
        if cursor:
            params["cursor"] = cursor
        return self._read(Page[JobRow], self._call("GET", "/v1/jobs", params=params))

    def iter_jobs(
        self, filters: JobFilters, *, limit: int | None = None, follow: bool = False
    ) -> Iterator[JobRow]:
        """One page, or every page when ``follow`` (``limit`` is then the page size)."""
        cursor: str | None = None
        while True:
            page = self.list_jobs(filters, limit=limit, cursor=cursor)
            yield from page.data
            cursor = page.next_cursor
            if not follow or not cursor:
                return

    def get_job(self, job_id: str) -> JobDetail:
        body = self._call("GET", f"/v1/jobs/{_seg(job_id)}")
        return self._read(JobDetail, _unwrap(body))

    def job_items(self, job_id: str) -> list[JobItem]:
        """Every item of the job, page after page (a job has up to 25,000)."""
        path = f"/v1/jobs/{_seg(job_id)}/items"
        return list(self._pages(JobItem, path, limit=LONGEST_PAGE))

    def job_log(self, job_id: str) -> list[LogEntry]:
        return list(self._pages(LogEntry, f"/v1/jobs/{_seg(job_id)}/log", limit=LONGEST_PAGE))

    def create_job(self, request: Mapping[str, Any]) -> str:
        body = self._call("POST", "/v1/jobs", json=dict(request))
        return self._read(JobAccepted, _unwrap(body)).job_id

    def cancel_job(self, job_id: str) -> None:
        self._call("POST", f"/v1/jobs/{_seg(job_id)}/cancel")

    def retry_job(self, job_id: str, new_job_id: str | None = None) -> RetryAccepted:
        """A new job with the items that did not succeed (all when the job failed)."""
        body = {"job_id": new_job_id} if new_job_id else None
        answer = self._call("POST", f"/v1/jobs/{_seg(job_id)}/retry", json=body)
        return self._read(RetryAccepted, _unwrap(answer))

    def bulk(
        self,
        action: str,
        *,
        job_ids: list[str] | None = None,
        filters: JobFilters | None = None,
        request_id: str | None = None,
    ) -> BulkResults:
        """Cancel or retry (``action``) the jobs named, or every job the filters match;
        ``request_id`` makes a retry safe to send again."""
        body: dict[str, Any] = (
            {"job_ids": job_ids} if job_ids else {"filter": (filters or JobFilters()).params()}
        )
        if request_id is not None:
            body["request_id"] = request_id
        return self._read(BulkResults, self._call("POST", f"/v1/jobs/bulk/{action}", json=body))

    # ------------------------------------------------------------------ the rest

    def buckets(self) -> list[Bucket]:
        return list(self._pages(Bucket, "/v1/throttle"))

    def dead_letters(self, *, limit: int | None = None, follow: bool = False) -> list[DeadLetter]:
        return list(self._pages(DeadLetter, "/v1/dead-letters", limit=limit, follow=follow))

    def replay_dead_letter(self, dead_letter_id: str) -> DeadLetterReplayed:
        body = self._call("POST", f"/v1/dead-letters/{_seg(dead_letter_id)}/replay")
        return self._read(DeadLetterReplayed, body or {})

    def accounts(self) -> list[Account]:
        return list(self._pages(Account, "/v1/accounts"))

    def add_account(self, account: NewAccount) -> None:
        self._call("POST", "/v1/accounts", json=account.model_dump(mode="json"))

    def schedules(self) -> list[Schedule]:
        return list(self._pages(Schedule, "/v1/schedules"))

    def add_schedule(self, body: Mapping[str, Any]) -> Schedule:
        return self._read(Schedule, self._call("POST", "/v1/schedules", json=dict(body)))

    def update_schedule(self, schedule_id: str, change: Mapping[str, Any]) -> Schedule:
        path = f"/v1/schedules/{_seg(schedule_id)}"
        return self._read(Schedule, self._call("PATCH", path, json=dict(change)))

    def delete_schedule(self, schedule_id: str) -> None:
        self._call("DELETE", f"/v1/schedules/{_seg(schedule_id)}")

    def webhooks(self) -> list[Webhook]:
        return list(self._pages(Webhook, "/v1/webhooks"))

    def add_webhook(self, body: Mapping[str, Any]) -> Webhook:
        return self._read(Webhook, self._call("POST", "/v1/webhooks", json=dict(body)))

    def webhook_deliveries(self, webhook_id: str, limit: int) -> list[DeliveryAttempt]:
        path = f"/v1/webhooks/{_seg(webhook_id)}/deliveries"
        return list(self._pages(DeliveryAttempt, path, limit=limit, follow=False))

    def delete_webhook(self, webhook_id: str) -> None:
        self._call("DELETE", f"/v1/webhooks/{_seg(webhook_id)}")

    # ------------------------------------------------------------------ plumbing

    def _pages(
        self, model: type[M], path: str, *, limit: int | None = None, follow: bool = True
    ) -> Iterator[M]:
        cursor: str | None = None
        while True:
            params: dict[str, str] = {}
            if limit is not None:
                params["limit"] = str(limit)
            if cursor:
                params["cursor"] = cursor
            page = self._read(Page[model], self._call("GET", path, params=params))  # type: ignore[valid-type]
            yield from page.data
            cursor = page.next_cursor
            if not follow or not cursor:
                return

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.ConnectError as exc:
            raise Unreachable(
                f"cannot connect: is the API running at {self.base_url}? "
                "(set --url or AMAZON_JOBS_URL)"
            ) from exc
        except httpx.TimeoutException as exc:
            raise Unreachable(f"{self.base_url} did not answer in time ({method} {path})") from exc
        except httpx.HTTPError as exc:
            raise Unreachable(f"{method} {path} failed: {exc}") from exc
        if response.is_success:
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise ServerError(
                    f"{method} {path}: the API answered something that is not JSON",
                    status=response.status_code,
                ) from exc
        raise error_for(response)

    def _read(self, model: type[M], body: Any) -> M:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise ServerError(f"unexpected answer from the API: {exc}") from exc


def error_for(response: httpx.Response) -> ApiError:
    """The exception for an error answer, worded from the API's ``{"error": …}`` body."""
    status = response.status_code
    code, message, field = _error_body(response)
    what = f"{response.request.method} {response.request.url.path}"
    if status in (401, 403):
        hint = "" if "authorization" in response.request.headers else " (no key given)"
        return Unauthorized(
            f"the API key was refused{hint}: set --key or AMAZON_JOBS_API_KEY",
            status=status,
            code=code,
        )
    if status == 404:
        return NotFound(
            f"not found: {message or what}" + ("" if message else " (or not visible to this key)"),
            status=status,
            code=code,
        )
    if status == 409:
        return Conflict(message or f"{what} conflicts with the current state", status=status)
    if status == 410:
        return Gone(message or f"{what}: no longer there", status=status, code=code)
    if status in (400, 422):
        text = message or "the request was rejected"
        if field and field not in text:
            text = f"{field}: {text}"
        return Invalid(f"invalid request: {text}", status=status, code=code)
    return ServerError(
        f"the API failed ({status}) on {what}" + (f": {message}" if message else ""),
        status=status,
        code=code,
    )


def _error_body(response: httpx.Response) -> tuple[str | None, str | None, str | None]:
    """(code, message, field) from ``{"error": {"code", "message", "field"?}}``, or from
    FastAPI's ``{"detail": [{"loc": [...], "msg": …}]}``, or nothing."""
    try:
        body = response.json()
    except ValueError:
        return None, (response.text.strip()[:200] or None), None
    if not isinstance(body, dict):
        return None, None, None
    error = body.get("error")
    if isinstance(error, dict):
        field = error.get("field")
        return (
            _str(error.get("code")),
            _str(error.get("message")),
            _str(field) if field is not None else None,
        )
    detail = body.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        loc = [str(p) for p in detail[0].get("loc", []) if p not in ("body", "query", "path")]
        return None, _str(detail[0].get("msg")), ".".join(loc) or None
    if isinstance(detail, str):
        return None, detail, None
    return None, None, None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _unwrap(body: Any) -> Any:
    """A single resource may come bare or as ``{"data": {...}}``."""
    if isinstance(body, dict) and set(body) == {"data"} and isinstance(body["data"], dict):
        return body["data"]
    return body


def _seg(value: str) -> str:
    """One path segment: job ids may hold ``:`` or ``@`` (see JobRequested.job_id)."""
    return quote(value, safe="")
