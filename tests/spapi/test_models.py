"""Model conventions: Amazon's names on the wire, snake_case in Python, extra fields kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.spapi.models import (
    CreateFeedSpecification,
    CreateReportSpecification,
    Feed,
    LwaTokenResponse,
    ProcessingStatus,
)


def test_request_models_serialise_with_amazons_names_and_without_unset_fields() -> None:
    spec = CreateReportSpecification(
        report_type="GET_MERCHANT_LISTINGS_ALL_DATA", marketplace_ids=["M"]
    )
    assert spec.to_wire() == {
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "marketplaceIds": ["M"],
    }


def test_marketplace_ids_are_bounded_like_amazons_model() -> None:
    with pytest.raises(ValidationError):
        CreateFeedSpecification(feed_type="X", marketplace_ids=[], input_feed_document_id="d")
    with pytest.raises(ValidationError):
        CreateFeedSpecification(
            feed_type="X", marketplace_ids=[str(n) for n in range(26)], input_feed_document_id="d"
        )


def test_response_models_keep_unknown_fields() -> None:
    feed = Feed.model_validate(
        {
            "feedId": "1",
            "feedType": "JSON_LISTINGS_FEED",
            "createdTime": "2026-01-01T00:00:00Z",
            "processingStatus": "IN_QUEUE",
            "brandNewField": 1,
        }
    )
    assert feed.processing_status is ProcessingStatus.IN_QUEUE
    assert not feed.processing_status.is_final
    assert feed.created_time == datetime(2026, 1, 1, tzinfo=UTC)
    assert feed.model_extra == {"brandNewField": 1}


def test_lwa_token_repr_hides_the_tokens() -> None:
    token = LwaTokenResponse(access_token="Atza|secret", refresh_token="Atzr|secret")
    assert "secret" not in repr(token)
