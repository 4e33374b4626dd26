"""What one notifier instance knows (pure): every webhook, every delivery not yet done,
which job-events partitions it owns, and which deliveries are due."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shared.events import Event, JobEvent
from shared.webhooks import (
    Outcome,
    WebhookAttempted,
    WebhookDefined,
    WebhookDelivery,
    new_delivery,
    next_attempt,
    receives,
)


@dataclass
class DeliveryBook:
    webhooks: dict[str, WebhookDefined] = field(default_factory=dict)
    # Every instance's deliveries not yet done (amazon.internal.notifier-deliveries): an
    # instance that takes over a partition finds them here at once.
    pending: dict[str, WebhookDelivery] = field(default_factory=dict)
    # Finished here, their tombstone not yet read back: an older record of theirs read
    # back meanwhile must not bring them back.
    finished: set[str] = field(default_factory=set)
    owned: set[int] = field(default_factory=set)  # job-events partitions assigned
    in_flight: set[str] = field(default_factory=set)

    def on_webhook(self, key: str, event: Event | None) -> None:
        """Handler for the tail of amazon.webhooks."""
        if event is None:
            self.webhooks.pop(key, None)
        elif isinstance(event, WebhookDefined):
            self.webhooks[event.webhook_id] = event

    def on_delivery(self, key: str, event: Event | None) -> None:
        """Handler for the tail of amazon.internal.notifier-deliveries."""
        if event is None:
            self.pending.pop(key, None)
            self.finished.discard(key)
        elif isinstance(event, WebhookDelivery) and key not in self.finished:
            # The newest wins: this instance keeps its own writes before reading them back.
            known = self.pending.get(key)
            if known is None or event.attempts >= known.attempts:
                self.pending[key] = event

    def deliveries_for(self, job_event: Event, partition: int) -> list[WebhookDelivery]:
        """The new deliveries a job event makes: one per webhook that receives it, unless
        that delivery exists already (the event read again after a restart)."""
        if not isinstance(job_event, JobEvent):
            return []
        out = []
        for webhook in self.webhooks.values():
            name = receives(webhook, job_event)
            if name is None:
                continue
            delivery = new_delivery(webhook, name, job_event, partition)
            if delivery.delivery_id not in self.pending and (
                delivery.delivery_id not in self.finished
            ):
                out.append(delivery)
        return out

    def keep(self, delivery: WebhookDelivery) -> None:
        """A delivery this instance wrote (made, or tried and due again)."""
        self.pending[delivery.delivery_id] = delivery

    def finish(self, delivery_id: str) -> None:
        self.pending.pop(delivery_id, None)
        self.finished.add(delivery_id)

    def due(self, now: datetime, room: int) -> list[WebhookDelivery]:
        """Up to ``room`` deliveries to try now, oldest due first: on partitions this
        instance owns, not already being tried."""
        if room <= 0:
            return []
        ready = [
            d
            for d in self.pending.values()
            if d.partition in self.owned
            and d.delivery_id not in self.in_flight
            and d.next_attempt_at <= now
        ]
        ready.sort(key=lambda d: d.next_attempt_at)
        return ready[:room]


def after_attempt(
    delivery: WebhookDelivery,
    status_code: int | None,
    error: str | None,
    now: datetime,
    time_scale: float,
) -> tuple[WebhookAttempted, WebhookDelivery | None]:
    """The log record of an attempt and the delivery's next state (None: done, delivered
    or given up). Any 2xx answer delivers; anything else is tried again with backoff."""
    tried = delivery.model_copy(update={"attempts": delivery.attempts + 1})
    delivered = status_code is not None and 200 <= status_code < 300
    at = None if delivered else next_attempt(tried, now, time_scale)
    outcome: Outcome
    if delivered:
        outcome, following = "delivered", None
    elif at is None:
        outcome, following = "given_up", None
    else:
        outcome = "retrying"
        following = WebhookDelivery(
            **tried.model_dump(exclude={"event_id", "occurred_at", "next_attempt_at"}),
            next_attempt_at=at,
        )
    record = WebhookAttempted(
        delivery_id=delivery.delivery_id,
        webhook_id=delivery.webhook_id,
        shop_id=delivery.shop_id,
        job_id=delivery.job_id,
        event=delivery.event,
        attempt=tried.attempts,
        status_code=status_code,
        error=error[:500] if error else None,
        outcome=outcome,
        next_attempt_at=at,
        occurred_at=now,
    )
    return record, following
