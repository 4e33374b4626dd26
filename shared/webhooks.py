"""Webhooks: a shop's notifications of finished jobs (docs/design.md §21).

A webhook is state owned by the bus like a schedule: the API publishes
:class:`WebhookDefined` (its secret sealed, a tombstone deletes it) to the compacted
``amazon.webhooks``; the notifier (``python -m services.notifier``) turns every finished
job of the webhook's shop into a :class:`WebhookDelivery`, kept on its own compacted
topic until it is delivered or given up, and records each attempt as a
:class:`WebhookAttempted` on ``amazon.webhook-deliveries``, which the projector shows as
the delivery log.

The pure part: which job events a webhook receives, the delivery's id and body, the
signature, the backoff, and which URLs are allowed.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AwareDatetime, Field

from shared.events import (
    EncryptedCredentials,
    Event,
    JobCanceled,
    JobDone,
    JobEvent,
    JobFailed,
    event,
)
from shared.jobs import JobType
from shared.limits import Identifier, JobId

WebhookEventName = Literal["job.done", "job.error", "job.canceled"]
EVENT_NAMES: tuple[WebhookEventName, ...] = ("job.done", "job.error", "job.canceled")
# The job events that finish a job (shared/jobs.py TERMINAL_STATUSES), by what a receiver
# is told. Only these: annotations of a finished job repeat its status but are not news.
_EVENT_OF: dict[type[JobEvent], WebhookEventName] = {
    JobDone: "job.done",
    JobFailed: "job.error",
    JobCanceled: "job.canceled",
}

MAX_URL = 2_048
MAX_WEBHOOKS_PER_SHOP = 20
SIGNATURE_HEADER = "Amazon-Jobs-Signature"
DELIVERY_HEADER = "Amazon-Jobs-Delivery"
EVENT_HEADER = "Amazon-Jobs-Event"
# Backoff in seconds (divided by AMAZON_JOBS_TIME_SCALE like every duration): 30 s after
# the first failure, doubling up to an hour, then hourly; no attempt starts later than a
# day after the first. About 30 attempts in all.
FIRST_DELAY_S = 30.0
MAX_DELAY_S = 3_600.0
GIVE_UP_AFTER_S = 24 * 3_600.0


# ---------------------------------------------------------------- events


@event
class WebhookDefined(Event):
    """A webhook as it now is; compacted by ``webhook_id`` (a tombstone deletes it).

    The secret is sealed like an account's credentials (shared/crypto.py), bound to
    ``webhook:<id>``: only the notifier opens it, and the projection never stores it."""

    event_type: Literal["WebhookDefined"] = "WebhookDefined"
    webhook_id: Identifier
    shop_id: Identifier
    url: str = Field(min_length=1, max_length=MAX_URL)
    events: list[WebhookEventName] = Field(min_length=1, max_length=len(EVENT_NAMES))
    job_types: list[JobType] | None = None  # None: every job type
    secret: EncryptedCredentials
    created_at: AwareDatetime


@event
class WebhookDelivery(Event):
    """A delivery not yet done, on the notifier's compacted topic by ``delivery_id``
    (a tombstone once delivered or given up). ``body`` is fixed when the delivery is made,
    so every attempt sends the same bytes; ``partition`` is the job-events partition the
    job is on: the notifier instance that owns it makes the attempts."""

    event_type: Literal["WebhookDelivery"] = "WebhookDelivery"
    delivery_id: Identifier
    webhook_id: Identifier
    shop_id: Identifier
    job_id: JobId
    event: WebhookEventName
    partition: int = Field(ge=0)
    body: str = Field(max_length=64 * 1024)
    attempts: int = Field(default=0, ge=0)  # attempts made so far
    created_at: AwareDatetime
    next_attempt_at: AwareDatetime


Outcome = Literal["delivered", "retrying", "given_up"]


@event
class WebhookAttempted(Event):
    """One attempt of a delivery, for its log (keyed by ``delivery_id``)."""

    event_type: Literal["WebhookAttempted"] = "WebhookAttempted"
    delivery_id: Identifier
    webhook_id: Identifier
    shop_id: Identifier
    job_id: JobId
    event: WebhookEventName
    attempt: int = Field(ge=1)
    status_code: int | None = None  # None: no answer (refused, timed out, not allowed)
    error: str | None = Field(default=None, max_length=500)
    outcome: Outcome
    next_attempt_at: AwareDatetime | None = None


# ---------------------------------------------------------------- what a webhook receives


def event_name(job_event: JobEvent) -> WebhookEventName | None:
    """The webhook event a job event is, if it finishes its job."""
    return _EVENT_OF.get(type(job_event))


def receives(webhook: WebhookDefined, job_event: JobEvent) -> WebhookEventName | None:
    """The event ``webhook`` is sent for ``job_event``, if any: only its own shop's jobs,
    only the events and job types it asked for, only what happened since it was made (a
    notifier reading old history must not send it)."""
    name = event_name(job_event)
    if name is None or name not in webhook.events or job_event.shop_id != webhook.shop_id:
        return None
    if webhook.job_types is not None and job_event.job_type not in webhook.job_types:
        return None
    if job_event.occurred_at < webhook.created_at:
        return None
    return name


def delivery_id(webhook_id: str, job_id: str, name: str) -> str:
    """The same for every copy of one job's end: what a receiver dedupes on."""
    digest = hashlib.sha256(f"{webhook_id}|{job_id}|{name}".encode()).hexdigest()
    return f"dlv_{digest[:24]}"


def delivery_body(dlv_id: str, name: WebhookEventName, job_event: JobEvent) -> str:
    """The JSON a receiver gets (docs/design.md §21)."""
    data = job_event.data.model_dump(mode="json")
    body = {
        "id": dlv_id,
        "type": name,
        "occurred_at": job_event.occurred_at.isoformat(),
        "job": {
            "id": job_event.job_id,
            "shop_id": job_event.shop_id,
            "account_id": job_event.account_id,
            "job_type": job_event.job_type.value,
            "status": job_event.status.value,
            **({"result": data} if data else {}),
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)


def new_delivery(
    webhook: WebhookDefined, name: WebhookEventName, job_event: JobEvent, partition: int
) -> WebhookDelivery:
    dlv_id = delivery_id(webhook.webhook_id, job_event.job_id, name)
    return WebhookDelivery(
        delivery_id=dlv_id,
        webhook_id=webhook.webhook_id,
        shop_id=webhook.shop_id,
        job_id=job_event.job_id,
        event=name,
        partition=partition,
        body=delivery_body(dlv_id, name, job_event),
        created_at=job_event.occurred_at,
        next_attempt_at=job_event.occurred_at,
    )


# ---------------------------------------------------------------- signature


def signature(secret: str, timestamp: int, body: str) -> str:
    """The signature header's value: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of
    "<t>.<body>">``. The timestamp is signed with the body, so a receiver that refuses old
    timestamps (5 minutes is usual) cannot be replayed a captured request."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: str, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver does (and the tests): the header's MAC matches and it is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).split(",v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# ---------------------------------------------------------------- retries


def next_attempt(
    delivery: WebhookDelivery, failed_at: datetime, time_scale: float
) -> datetime | None:
    """When to try again after attempt ``delivery.attempts`` failed; None: give up (the
    next attempt would start more than a day after the delivery was made)."""
    delay = min(FIRST_DELAY_S * 2 ** max(delivery.attempts - 1, 0), MAX_DELAY_S)
    at = failed_at + timedelta(seconds=delay / time_scale)
    if at > delivery.created_at + timedelta(seconds=GIVE_UP_AFTER_S / time_scale):
        return None
    return at


# ---------------------------------------------------------------- URLs


class UrlRefused(ValueError):
    """A webhook URL that may not be called."""


def address_allowed(address: str, allow_private: bool) -> bool:
    """Whether an IP address may be called: a public one, or any when private ones are
    allowed (development and tests). Loopback, private, link-local (cloud metadata at
    169.254.169.254), multicast and reserved addresses are refused by default."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return allow_private or ip.is_global


def check_url(url: str, allow_private: bool) -> str:
    """The URL if a webhook may have it, else UrlRefused saying why. A host given by name
    is resolved and checked again before every attempt (services/notifier/sending.py)."""
    if len(url) > MAX_URL:
        raise UrlRefused(f"longer than {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("must be http or https")
    host = parts.hostname
    if not host:
        raise UrlRefused("has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("must not carry a user or password")
    if port == 0:
        raise UrlRefused("port 0")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not allow_private and (host == "localhost" or host.endswith(".localhost")):
            raise UrlRefused("a loopback host is not allowed") from None
        return url
    if not address_allowed(host, allow_private):
        raise UrlRefused(f"{host} is a private, loopback or reserved address")
    return url


def webhook_doc(event: WebhookDefined) -> dict[str, Any]:
    """A webhook as the ``webhooks`` collection (and the API's answers) hold it: never
    the secret."""
    return {
        "_id": event.webhook_id,
        "shop_id": event.shop_id,
        "url": event.url,
        "events": list(event.events),
        "job_types": [t.value for t in event.job_types] if event.job_types is not None else None,
        "created_at": event.created_at,
    }
