"""Fulfillment and inventory results, the dispatch by job type, and the applier's events."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.applier.applied import ResultError
from services.applier.decision import (
    apply_result,
    done_event,
    error_failure,
    failed_event,
    result_document_id,
)
from shared.accounts import UnknownAccount
from shared.events import ItemState, JobDone, JobFailed
from shared.job_data import said
from shared.job_state import JobState
from shared.jobs import JobStatus, JobType
from shared.spapi.errors import (
    AuthError,
    MalformedResponse,
    PermanentError,
    Throttled,
    TransientError,
)
from tests.applier.jobs import ready_job

ORDER_1, ORDER_2 = "302-1111111-1111111", "302-2222222-2222222"

FULFILLMENT_REPORT = f"""<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope>
  <Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>S1</MerchantIdentifier></Header>
  <MessageType>ProcessingReport</MessageType>
  <Message><MessageID>1</MessageID><ProcessingReport>
    <DocumentTransactionID>F2</DocumentTransactionID><StatusCode>Complete</StatusCode>
    <ProcessingSummary><MessagesProcessed>2</MessagesProcessed>
      <MessagesSuccessful>1</MessagesSuccessful><MessagesWithError>1</MessagesWithError>
      <MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>
    <Result><MessageID>2</MessageID><ResultCode>Error</ResultCode>
      <ResultMessageCode>99101</ResultMessageCode>
      <ResultDescription>Order {ORDER_2} was not found for this seller.</ResultDescription>
      <AdditionalInfo><AmazonOrderID>{ORDER_2}</AmazonOrderID></AdditionalInfo></Result>
  </ProcessingReport></Message>
</AmazonEnvelope>""".encode()

TSV = (
    b"item-name\tlisting-id\tseller-sku\tprice\tquantity\tasin1\tfulfillment-channel\tstatus\n"
    b"Red shirt\t0101AAA\tSHIRT-RED\t19.99\t7\tB000000001\tDEFAULT\tActive\n"
    b"Blue shirt\t0101BBB\tSHIRT-BLUE\t\t\tB000000002\tAMAZON_EU\tActive\n"
    b"Broken\t0101CCC\tBROKEN\tcheap\t1\tB000000003\tDEFAULT\tActive\n"
)


def _fulfillment_job() -> JobState:
    items = [
        ItemState(key=order, request={"amazon_order_id": order, "carrier": "DHL"})
        for order in (ORDER_1, ORDER_2)
    ]
    return ready_job(
        JobType.ORDERS_FULFILLMENT,
        items,
        {
            "feed_id": "F2",
            "feed_type": "POST_ORDER_FULFILLMENT_DATA",
            "messages": {"1": ORDER_1, "2": ORDER_2},
        },
        listings_marked=False,
    )


def _inventory_job(result: dict[str, object] | None = None) -> JobState:
    return ready_job(
        JobType.INVENTORY_REPORT,
        [],
        {"report_id": "R1", "report_type": "GET_MERCHANT_LISTINGS_ALL_DATA"},
        listings_marked=False,
        result=result,
    )


def test_fulfillment_confirms_each_order_or_says_why_not() -> None:
    state = _fulfillment_job()
    applied = apply_result(state, FULFILLMENT_REPORT)
    assert [(i.key, i.status) for i in applied.items] == [(ORDER_1, "accepted"), (ORDER_2, "error")]
    assert applied.items[1].messages == [f"99101: Order {ORDER_2} was not found for this seller."]
    assert applied.counts == {"processed": 2, "accepted": 1, "errors": 1, "warnings": 0}
    assert applied.listings == [] and applied.inventory == []


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b"not xml at all", "not XML"),
        (b"<AmazonEnvelope><Message/></AmazonEnvelope>", "no ProcessingReport"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DOCTYPE"),
    ],
)
def test_malformed_fulfillment_reports_are_refused(document: bytes, reason: str) -> None:
    with pytest.raises(ResultError, match=reason):
        apply_result(_fulfillment_job(), document)


def test_inventory_rows_become_records_and_stale_rows_go() -> None:
    state = _inventory_job()
    applied = apply_result(state, TSV, inventory={"SHIRT-RED", "SOLD-OUT-LAST-WEEK"})
    rows = {row.sku: row for row in applied.inventory}
    assert set(rows) == {"SHIRT-RED", "SHIRT-BLUE"}
    red = rows["SHIRT-RED"]
    assert (red.account_id, red.shop_id, red.asin, red.title) == (
        "acc1",
        "shop1",
        "B000000001",
        "Red shirt",
    )
    assert (red.quantity, red.price, red.status, red.fulfillment_channel) == (
        7,
        Decimal("19.99"),
        "Active",
        "DEFAULT",
    )
    assert (red.report_id, red.job_id) == ("R1", "job-1")
    assert rows["SHIRT-BLUE"].quantity is None  # Amazon-fulfilled: no merchant quantity
    assert applied.removed_inventory == ["SOLD-OUT-LAST-WEEK"]
    assert applied.counts == {
        "processed": 3,
        "accepted": 2,
        "errors": 1,
        "warnings": 0,
        "rows": 2,
        "removed": 1,
    }
    assert any("line 4: BROKEN" in line.message for line in applied.log)


def test_a_report_without_data_empties_the_inventory() -> None:
    state = _inventory_job(
        {"result_document_id": None, "processing_status": "CANCELLED", "no_data": True}
    )
    assert result_document_id(state) is None
    applied = apply_result(state, None, inventory={"A", "B"})
    assert applied.inventory == [] and applied.removed_inventory == ["A", "B"]
    assert applied.counts["rows"] == 0
    assert "no data" in applied.log[0].message


@pytest.mark.parametrize("document", [b"", b"<html><body>Service Unavailable</body></html>"])
def test_an_unreadable_inventory_report_is_refused(document: bytes) -> None:
    with pytest.raises(ResultError, match="report R1 cannot be read"):
        apply_result(_inventory_job(), document)


def test_the_document_to_download() -> None:
    assert result_document_id(_fulfillment_job()) == "DOC-1"
    feed_without = ready_job(
        JobType.UPDATE_QTY, [], {"feed_id": "F"}, result={"processing_status": "DONE"}
    )
    with pytest.raises(ResultError, match="no result document"):
        result_document_id(feed_without)
    with pytest.raises(ResultError, match="no processing report"):
        apply_result(feed_without, None)


def test_done_event_carries_items_counts_and_log() -> None:
    state = _fulfillment_job()
    applied = apply_result(state, FULFILLMENT_REPORT)
    done = done_event(state, applied)
    assert isinstance(done, JobDone)
    assert (done.seq, done.status) == (state.seq + 1, JobStatus.DONE)
    assert said(done.data) == applied.counts and done.items == applied.items
    assert done.log == applied.log


def test_failed_event_marks_pending_items() -> None:
    state = _fulfillment_job()
    failed = failed_event(state, "malformed_result", "the processing report is not XML")
    assert isinstance(failed, JobFailed) and failed.status is JobStatus.ERROR
    assert said(failed.data) == {
        "failure": "malformed_result",
        "error": "the processing report is not XML",
    }
    assert failed.items is not None
    assert {i.status for i in failed.items} == {"error"}


def _failure(exc: Exception) -> str | None:
    decided = error_failure(exc)
    return decided[0] if decided is not None else None


def test_which_errors_fail_the_job() -> None:
    assert _failure(ResultError("bad")) == "malformed_result"
    corrupt = MalformedResponse("document is not valid GZIP", operation="downloadDocument")
    assert _failure(corrupt) == "malformed_result"
    assert _failure(UnknownAccount("gone")) == "unknown_account"
    assert _failure(AuthError("S1", "invalid_grant", operation="getFeedDocument")) == "credentials"
    assert (
        _failure(PermanentError("not found", operation="getFeedDocument", status=404)) == "refused"
    )
    for retried in (
        PermanentError("URL expired", operation="downloadDocument", status=403),
        Throttled("getFeedDocument", None),
        TransientError("503", operation="getFeedDocument", attempts=4),
        MalformedResponse("garbled", operation="getFeedDocument"),
        TimeoutError(),
    ):
        assert _failure(retried) is None
