"""The bodies and answers of /v1/webhooks (docs/design.md §21)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.api.models import example
from shared.jobs import JobType
from shared.limits import Identifier
from shared.webhooks import EVENT_NAMES, MAX_URL, Outcome, WebhookEventName


class WebhookCreate(BaseModel):
    """The body of ``POST /v1/webhooks``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://shop.example/amazon-jobs/hook", "events": ["job.error"]},
                {
                    "url": "https://shop.example/amazon-jobs/hook",
                    "events": ["job.done", "job.error", "job.canceled"],
                    "job_types": ["orders_import"],
                },
            ]
        },
    )

    url: str = Field(
        min_length=1,
        max_length=MAX_URL,
        description="http(s) URL the events are POSTed to; private, loopback and "
        "link-local addresses are refused unless WEBHOOKS_ALLOW_PRIVATE_URLS is set.",
    )
    events: list[WebhookEventName] = Field(
        default_factory=lambda: list(EVENT_NAMES), min_length=1, max_length=len(EVENT_NAMES)
    )
    job_types: list[JobType] | None = Field(
        default=None, min_length=1, description="Only jobs of these types; null: every type."
    )
    shop_id: Identifier | None = Field(
        default=None, description="The shop (admin keys only; a shop key makes its own)."
    )


class WebhookRow(BaseModel):
    model_config = example(
        {
            "id": "whk-4f1c2a9be0d3",
            "shop_id": "shop1",
            "url": "https://shop.example/amazon-jobs/hook",
            "events": ["job.error"],
            "job_types": None,
            "created_at": "2026-12-03T09:00:00Z",
        }
    )

    id: str
    shop_id: str
    url: str
    events: list[str]
    job_types: list[str] | None = None
    created_at: datetime


class WebhookCreated(WebhookRow):
    """A new webhook with its secret: shown this once, never again."""

    model_config = example(
        {
            "id": "whk-4f1c2a9be0d3",
            "shop_id": "shop1",
            "url": "https://shop.example/amazon-jobs/hook",
            "events": ["job.error"],
            "job_types": None,
            "created_at": "2026-12-03T09:00:00Z",
            "secret": "whsec_0Jk3cV6mQ2o1hX9bY8zT4rW7uN5pL0aE3sD6fG9hJ2k",
        }
    )

    secret: str = Field(
        description="Signs every delivery (Amazon-Jobs-Signature: t=<unix>,v1=<hex HMAC-SHA256 "
        'of "<t>.<body>">). Shown only in this answer.'
    )


class DeliveryAttemptRow(BaseModel):
    """One attempt of one delivery, newest first in the log."""

    model_config = example(
        {
            "delivery_id": "dlv_2c0f9a7d41be83a06e5d1f47",
            "webhook_id": "whk-4f1c2a9be0d3",
            "job_id": "ps-shop1-000123",
            "event": "job.error",
            "attempt": 2,
            "at": "2026-12-03T09:00:31Z",
            "status_code": 500,
            "error": "answered 500",
            "outcome": "retrying",
            "next_attempt_at": "2026-12-03T09:01:31Z",
        }
    )

    delivery_id: str = Field(description="The same in every attempt: what a receiver dedupes on.")
    webhook_id: str
    job_id: str
    event: str
    attempt: int
    at: datetime
    status_code: int | None = None
    error: str | None = None
    outcome: Outcome
    next_attempt_at: datetime | None = None
