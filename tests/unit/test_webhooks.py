"""Webhooks' pure logic (docs/design.md §21): what a webhook receives, the signature, the
backoff, the URLs refused, and what the notifier's book offers for delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifier.book import DeliveryBook, after_attempt
from shared.crypto import CredentialsError, open_secret, seal_secret
from shared.events import JobDone, JobFailed, JobLogged
from shared.jobs import JobStatus, JobType
from shared.webhooks import (
    UrlRefused,
    WebhookDefined,
    check_url,
    new_delivery,
    next_attempt,
    receives,
    signature,
    verify,
)
from tests.stack import SECRET_KEY

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def hook(**change: object) -> WebhookDefined:
    fields: dict[str, object] = {
        "webhook_id": "whk-1",
        "shop_id": "shop1",
        "url": "https://shop.example/hook",
        "events": ["job.error"],
        "secret": seal_secret(SECRET_KEY, "whsec_x", bound_to="webhook:whk-1"),
        "created_at": T0,
    }
    fields.update(change)
    return WebhookDefined.model_validate(fields)


def failed(shop: str = "shop1", job_type: JobType = JobType.UPDATE_QTY, **kw: object) -> JobFailed:
    return JobFailed(
        job_id=f"j-{shop}",
        seq=2,
        shop_id=shop,
        account_id="acc",
        job_type=job_type,
        status=JobStatus.ERROR,
        occurred_at=kw.get("at", T0 + timedelta(seconds=1)),
    )


def test_a_webhook_receives_only_its_shops_events_of_the_kinds_and_types_it_asked_for() -> None:
    assert receives(hook(), failed()) == "job.error"
    assert receives(hook(), failed(shop="shop2")) is None
    done = JobDone(
        job_id="j", seq=3, shop_id="shop1", account_id="a", job_type=JobType.UPDATE_QTY,
        status=JobStatus.DONE, occurred_at=T0 + timedelta(seconds=1),
    )  # fmt: skip
    assert receives(hook(), done) is None
    assert receives(hook(events=["job.done", "job.error"]), done) == "job.done"
    assert receives(hook(job_types=["orders_import"]), failed()) is None
    assert receives(hook(job_types=["update_qty"]), failed()) == "job.error"
    # History from before the webhook existed is not sent (a new consumer group).
    assert receives(hook(), failed(at=T0 - timedelta(seconds=1))) is None
    # An annotation repeats a finished job's status but finishes nothing.
    note = JobLogged(
        job_id="j", seq=2, shop_id="shop1", account_id="a", job_type=JobType.UPDATE_QTY,
        status=JobStatus.ERROR, occurred_at=T0 + timedelta(seconds=1),
    )  # fmt: skip
    assert receives(hook(), note) is None


def test_the_signature_covers_timestamp_and_body_and_goes_stale() -> None:
    header = signature("whsec_a", 1_000, '{"a":1}')
    assert header.startswith("t=1000,v1=")
    assert verify("whsec_a", header, '{"a":1}', now=1_010)
    assert not verify("whsec_b", header, '{"a":1}', now=1_010)
    assert not verify("whsec_a", header, '{"a":2}', now=1_010)
    assert not verify("whsec_a", header.replace("t=1000", "t=1001"), '{"a":1}', now=1_010)
    assert not verify("whsec_a", header, '{"a":1}', now=1_000 + 301)


def test_backoff_doubles_to_an_hour_and_gives_up_after_a_day() -> None:
    d = new_delivery(hook(), "job.error", failed(at=T0), partition=3)
    assert d.delivery_id == new_delivery(hook(), "job.error", failed(at=T0), 3).delivery_id
    delays, now = [], T0
    while True:
        d = d.model_copy(update={"attempts": d.attempts + 1})
        at = next_attempt(d, now, time_scale=1.0)
        if at is None:
            break
        delays.append((at - now).total_seconds())
        now = at
    assert delays[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert set(delays[8:]) == {3600}
    assert now <= T0 + timedelta(days=1) < now + timedelta(hours=1)
    # Scaled like every duration.
    assert next_attempt(d.model_copy(update={"attempts": 1}), T0, 600.0) == T0 + timedelta(
        seconds=0.05
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://shop.example/x",
        "http://127.0.0.1:8000/x",
        "http://localhost/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "https://user:pw@shop.example/x",
        "https:///x",
    ],
)
def test_urls_that_are_not_public_http_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_url(url, allow_private=False)


def test_loopback_is_allowed_only_when_the_setting_says_so() -> None:
    assert check_url("http://127.0.0.1:8000/x", allow_private=True)
    assert check_url("https://shop.example/x", allow_private=False)
    with pytest.raises(UrlRefused):
        check_url("gopher://127.0.0.1/x", allow_private=True)


def test_a_secret_opens_only_for_its_own_webhook() -> None:
    sealed = seal_secret(SECRET_KEY, "whsec_x", bound_to="webhook:whk-1")
    assert open_secret([SECRET_KEY], sealed, bound_to="webhook:whk-1") == "whsec_x"
    with pytest.raises(CredentialsError):
        open_secret([SECRET_KEY], sealed, bound_to="webhook:whk-2")


def test_the_book_offers_due_deliveries_of_owned_partitions_once() -> None:
    book = DeliveryBook()
    book.on_webhook("whk-1", hook())
    [d] = book.deliveries_for(failed(), partition=3)
    book.keep(d)
    assert book.deliveries_for(failed(), partition=3) == []  # read again: the same delivery
    now = T0 + timedelta(seconds=5)
    assert book.due(now, room=10) == []  # partition 3 is not ours
    book.owned.add(3)
    assert book.due(now, room=10) == [d]
    book.in_flight.add(d.delivery_id)
    assert book.due(now, room=10) == []

    record, following = after_attempt(d, 500, "answered 500", now, time_scale=1.0)
    assert (record.attempt, record.outcome) == (1, "retrying")
    assert following is not None and following.next_attempt_at == now + timedelta(seconds=30)
    book.in_flight.clear()
    book.keep(following)
    book.on_delivery(d.delivery_id, d)  # its older record read back: ignored
    assert book.pending[d.delivery_id].attempts == 1
    record, following = after_attempt(book.pending[d.delivery_id], 204, None, now, 1.0)
    assert (record.attempt, record.outcome, following) == (2, "delivered", None)
    book.finish(d.delivery_id)
    book.on_delivery(d.delivery_id, d)  # before its tombstone comes back
    assert d.delivery_id not in book.pending
    book.on_delivery(d.delivery_id, None)
    assert book.finished == set()
