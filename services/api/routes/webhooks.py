"""Webhooks: a shop's notifications of finished jobs (docs/design.md §21).

The API checks the URL, makes the secret, seals it and publishes the webhook to
``amazon.webhooks`` (deletion: a tombstone); reads (the webhooks, their delivery logs)
come from the projection. A shop key sees and deletes only its own shop's webhooks,
another's is a 404; an admin key sees all.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from services.api.bodies import StrictJsonRoute
from services.api.deps import Caller, Db, Publisher, Settings
from services.api.errors import ApiError, not_found
from services.api.models import ErrorBody, Page
from services.api.pagination import Keyset, read_page
from services.api.webhook_models import (
    DeliveryAttemptRow,
    WebhookCreate,
    WebhookCreated,
    WebhookRow,
)
from shared.crypto import seal_secret
from shared.events import utcnow
from shared.topics import WEBHOOKS
from shared.webhooks import (
    MAX_WEBHOOKS_PER_SHOP,
    UrlRefused,
    WebhookDefined,
    check_url,
    webhook_doc,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], route_class=StrictJsonRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 422, 503)
}
BY_ID = Keyset((("_id", str),))
NEWEST = Keyset((("occurred_at", datetime), ("_id", str)), descending=True)


def _row(doc: dict[str, Any]) -> WebhookRow:
    return WebhookRow(
        id=doc["_id"],
        shop_id=doc["shop_id"],
        url=doc["url"],
        events=doc["events"],
        job_types=doc.get("job_types"),
        created_at=doc["created_at"],
    )


async def _visible(db: Db, who: Caller, webhook_id: str) -> dict[str, Any]:
    doc = await db.webhooks.find_one({"_id": webhook_id})
    if doc is None or not who.sees(doc["shop_id"]):
        raise not_found(f"webhook {webhook_id!r}")
    return doc


@router.get("", response_model=Page[WebhookRow], responses=ERRORS)
async def list_webhooks(
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Page[WebhookRow]:
    """Your shop's webhooks (every shop's with an admin key); never their secrets."""
    query: dict[str, Any] = {} if who.is_admin else {"shop_id": who.shop_id}
    docs, next_cursor = await read_page(db.webhooks, query, BY_ID, limit, cursor)
    return Page[WebhookRow](data=[_row(d) for d in docs], next_cursor=next_cursor)


@router.post("", status_code=201, response_model=WebhookCreated, responses=ERRORS)
async def create_webhook(
    body: WebhookCreate, db: Db, who: Caller, publisher: Publisher, settings: Settings
) -> WebhookCreated:
    """Receive ``job.done``, ``job.error`` and/or ``job.canceled`` for the shop's jobs
    (optionally only some job types) as signed POSTs to ``url``, retried with backoff
    for a day. The answer holds the signing secret, shown only this once."""
    if who.is_admin:
        if body.shop_id is None:
            raise ApiError(422, "invalid", "shop_id: an admin key must name the shop")
        shop_id = body.shop_id
    else:
        if body.shop_id is not None and body.shop_id != who.shop_id:
            raise not_found(f"shop {body.shop_id!r}")
        shop_id = who.shop_id
    try:
        url = check_url(body.url, settings.webhooks_allow_private_urls)
    except UrlRefused as exc:
        raise ApiError(422, "invalid", f"url: {exc}") from None
    if not settings.secret_key:
        raise ApiError(503, "unavailable", "AMAZON_JOBS_SECRET_KEY is not configured")
    if await db.webhooks.count_documents({"shop_id": shop_id}) >= MAX_WEBHOOKS_PER_SHOP:
        raise ApiError(422, "invalid", f"a shop has at most {MAX_WEBHOOKS_PER_SHOP} webhooks")
    webhook_id = f"whk-{uuid.uuid4().hex[:12]}"
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    now = utcnow()
    event = WebhookDefined(
        webhook_id=webhook_id,
        shop_id=shop_id,
        url=url,
        events=sorted(set(body.events)),
        job_types=sorted(set(body.job_types)) if body.job_types is not None else None,
        secret=seal_secret(settings.secret_key, secret, bound_to=f"webhook:{webhook_id}"),
        created_at=now,
        occurred_at=now,
    )
    await publisher.publish(WEBHOOKS, webhook_id, event)
    row = _row(webhook_doc(event))
    return WebhookCreated(**row.model_dump(), secret=secret)


@router.get("/{webhook_id}/deliveries", response_model=Page[DeliveryAttemptRow], responses=ERRORS)
async def list_deliveries(
    webhook_id: str,
    db: Db,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Page[DeliveryAttemptRow]:
    """The webhook's delivery log, newest attempt first: each attempt's answer, and
    whether it was delivered, will be tried again (when) or was given up."""
    await _visible(db, who, webhook_id)
    docs, next_cursor = await read_page(
        db.webhook_deliveries, {"webhook_id": webhook_id}, NEWEST, limit, cursor
    )
    rows = [
        DeliveryAttemptRow(
            delivery_id=d["delivery_id"],
            webhook_id=d["webhook_id"],
            job_id=d["job_id"],
            event=d["event"],
            attempt=d["attempt"],
            at=d["occurred_at"],
            status_code=d.get("status_code"),
            error=d.get("error"),
            outcome=d["outcome"],
            next_attempt_at=d.get("next_attempt_at"),
        )
        for d in docs
    ]
    return Page[DeliveryAttemptRow](data=rows, next_cursor=next_cursor)


@router.delete("/{webhook_id}", status_code=204, response_class=Response, responses=ERRORS)
async def delete_webhook(webhook_id: str, db: Db, who: Caller, publisher: Publisher) -> Response:
    """Delete a webhook: nothing more is sent to it, deliveries still due included."""
    await _visible(db, who, webhook_id)
    await publisher.publish_raw(WEBHOOKS.name, webhook_id.encode(), None)
    return Response(status_code=204)
