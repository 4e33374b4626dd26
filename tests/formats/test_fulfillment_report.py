from __future__ import annotations

import pytest

from shared.formats.fulfillment_report import FulfillmentReportError, parse_fulfillment_report
from shared.formats.processing_report import MessageOutcome

ORDERS = {1: "302-1111111-1111111", 2: "302-2222222-2222222", 3: "302-3333333-3333333"}

REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">
  <Header><DocumentVersion>1.02</DocumentVersion><MerchantIdentifier>A1</MerchantIdentifier></Header>
  <MessageType>ProcessingReport</MessageType>
  <Message>
    <MessageID>1</MessageID>
    <ProcessingReport>
      <DocumentTransactionID>50012345</DocumentTransactionID>
      <StatusCode>Complete</StatusCode>
      <ProcessingSummary>
        <MessagesProcessed>3</MessagesProcessed>
        <MessagesSuccessful>1</MessagesSuccessful>
        <MessagesWithError>1</MessagesWithError>
        <MessagesWithWarning>1</MessagesWithWarning>
      </ProcessingSummary>
      <Result>
        <MessageID>2</MessageID>
        <ResultCode>Error</ResultCode>
        <ResultMessageCode>18028</ResultMessageCode>
        <ResultDescription>The order id 302-2222222-2222222 was not found.</ResultDescription>
        <AdditionalInfo><AmazonOrderID>302-2222222-2222222</AmazonOrderID></AdditionalInfo>
      </Result>
      <Result>
        <MessageID>77</MessageID>
        <ResultCode>Warning</ResultCode>
        <ResultMessageCode>5001</ResultMessageCode>
        <ResultDescription>Carrier not recognised.</ResultDescription>
        <AdditionalInfo><AmazonOrderID>302-3333333-3333333</AmazonOrderID></AdditionalInfo>
      </Result>
    </ProcessingReport>
  </Message>
</AmazonEnvelope>"""


def test_per_order_outcomes() -> None:
    report = parse_fulfillment_report(REPORT, ORDERS)

    assert report.status_code == "Complete"
    assert (report.messages_processed, report.messages_successful) == (3, 1)
    assert report.orders["302-1111111-1111111"].outcome is MessageOutcome.ACCEPTED
    failed = report.orders["302-2222222-2222222"]
    assert failed.outcome is MessageOutcome.ERROR
    assert failed.messages == ["18028: The order id 302-2222222-2222222 was not found."]
    # unknown MessageID, matched by the order id
    assert report.orders["302-3333333-3333333"].outcome is MessageOutcome.WARNING


def test_a_feed_level_error_fails_every_order() -> None:
    xml = b"""<AmazonEnvelope><Message><ProcessingReport><StatusCode>Complete</StatusCode>
      <ProcessingSummary><MessagesProcessed>0</MessagesProcessed>
      <MessagesSuccessful>0</MessagesSuccessful></ProcessingSummary>
      <Result><MessageID>0</MessageID><ResultCode>Error</ResultCode>
      <ResultMessageCode>5000</ResultMessageCode>
      <ResultDescription>XML parsing error</ResultDescription></Result>
    </ProcessingReport></Message></AmazonEnvelope>"""
    report = parse_fulfillment_report(xml, ORDERS)
    assert {o.outcome for o in report.orders.values()} == {MessageOutcome.ERROR}
    assert report.orders["302-1111111-1111111"].messages == ["5000: XML parsing error"]


def test_not_a_report() -> None:
    with pytest.raises(FulfillmentReportError):
        parse_fulfillment_report(b"{}", ORDERS)
    with pytest.raises(FulfillmentReportError):
        parse_fulfillment_report(b"<AmazonEnvelope/>", ORDERS)
