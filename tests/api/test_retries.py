"""Which items a retry carries, and when there is nothing to retry (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from services.api.projection import retry_link
from services.api.retries import MAX_RETRIES_PER_JOB, NotRetryable, retry_request
from services.submitter.intake import reject
from shared.codec import decode, encode
from shared.events import JobReserved, LogLine
from shared.job_data import FailedData, ReservedData
from shared.jobs import JobStatus, JobType
from shared.topics import JOB_EVENTS
from tests import factories


def job(status: str, job_type: str = "update_qty", **more: Any) -> dict[str, Any]:
    return {
        "_id": "j1",
        "shop_id": "shop1",
        "account_id": "acc",
        "job_type": job_type,
        "status": status,
        "data": {"priority": 7, "marketplace_id": "M"},
        **more,
    }


def row(sku: str, status: str) -> dict[str, Any]:
    return {"key": sku, "status": status, "request": {"sku": sku, "quantity": 1}}


def test_the_items_that_did_not_succeed_go_again_in_request_order() -> None:
    rows = [
        row("a", "accepted"),
        row("b", "error"),
        row("c", "warning"),
        row("d", "pending"),
        row("e", "canceled"),
    ]
    request = retry_request(job("done"), rows, "j2")
    assert [i["sku"] for i in request.items or []] == ["b", "d", "e"]
    assert (request.job_id, request.retry_of, request.shop_id, request.account_id) == (
        "j2",
        "j1",
        "shop1",
        "acc",
    )
    assert (request.job_type, request.priority) == (JobType.UPDATE_QTY, 7)
    # Its marketplace alone: without one, the retry would go to every marketplace.
    assert request.marketplace_id == "M"


@pytest.mark.parametrize("status", ["reserved", "created", "processing", "waiting_for_result"])
def test_a_job_not_finished_is_not_retried(status: str) -> None:
    with pytest.raises(NotRetryable, match=f"the job is {JobStatus(status).label.lower()}"):
        retry_request(job(status), [row("a", "error")], "j2")


def test_nothing_to_retry() -> None:
    with pytest.raises(NotRetryable, match="every item of the job succeeded"):
        retry_request(job("done"), [row("a", "accepted"), row("b", "warning")], "j2")
    with pytest.raises(NotRetryable, match="recorded no items"):
        retry_request(job("error"), [], "j2")
    with pytest.raises(NotRetryable, match="the job is done"):
        retry_request(job("done", "inventory_report"), [], "j2")
    with pytest.raises(NotRetryable, match="retried 100 times"):
        retried = [f"r{n}" for n in range(MAX_RETRIES_PER_JOB)]
        retry_request(job("error", retried_by=retried), [row("a", "error")], "j2")


def test_a_job_without_items_goes_again_with_its_parameters() -> None:
    params = {"since": "2026-11-01T00:00:00Z"}
    failed = job("error", "orders_import", data={"params": params})
    request = retry_request(failed, [], "j2")
    assert (request.items, request.params, request.retry_of) == (None, params, "j1")


def test_a_retry_links_the_original_and_other_events_do_not() -> None:
    def reserved(data: ReservedData) -> JobReserved:
        return factories.reserved("j2", None, data=data, log=[LogLine(message="x")])

    link = retry_link(reserved(ReservedData(retry_of="j1")))
    assert link is not None
    assert (link.collection, link.doc_id, link.update) == (
        "job_links",
        "j1",
        {"$addToSet": {"retried_by": "j2"}},
    )
    assert retry_link(reserved(ReservedData(priority=3))) is None


def test_a_retry_refused_on_intake_still_links_the_original() -> None:
    request = retry_request(job("done"), [row("b", "error")], "j2")
    refused = reject(request, "account acc is not registered")
    assert isinstance(refused.data, FailedData) and refused.data.retry_of == "j1"
    # As it goes on the bus and comes back to the projector.
    link = retry_link(decode(encode(refused), JOB_EVENTS.event_types))  # type: ignore[arg-type]
    assert link is not None and (link.doc_id, link.update) == (
        "j1",
        {"$addToSet": {"retried_by": "j2"}},
    )
    plain = reject(request.model_copy(update={"job_id": "j3", "retry_of": None}), "x")
    assert retry_link(plain) is None
