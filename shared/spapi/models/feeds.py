"""Feeds API 2021-06-30, field for field (no ``payload`` wrapper in this version)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.spapi.models.base import CamelModel


class ProcessingStatus(StrEnum):
    """Shared by feeds and reports."""

    IN_QUEUE = "IN_QUEUE"  # not started; the only status a feed can be cancelled in
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"  # finished; the result document tells what was applied
    CANCELLED = "CANCELLED"  # cancelled, or (reports) there was no data to return
    FATAL = "FATAL"  # aborted: some, none or all messages may have been applied

    @property
    def is_final(self) -> bool:
        return self in (ProcessingStatus.DONE, ProcessingStatus.CANCELLED, ProcessingStatus.FATAL)


class CompressionAlgorithm(StrEnum):
    GZIP = "GZIP"


class CreateFeedDocumentSpecification(CamelModel):
    content_type: str


class CreateFeedDocumentResponse(CamelModel):
    feed_document_id: str
    url: str  # presigned upload URL; expires after 5 minutes


class CreateFeedSpecification(CamelModel):
    feed_type: str
    marketplace_ids: list[str] = Field(min_length=1, max_length=25)
    input_feed_document_id: str
    feed_options: dict[str, str] | None = None


class CreateFeedResponse(CamelModel):
    feed_id: str


class Feed(CamelModel):
    feed_id: str
    feed_type: str
    marketplace_ids: list[str] | None = None
    created_time: datetime
    processing_status: ProcessingStatus
    processing_start_time: datetime | None = None
    processing_end_time: datetime | None = None
    result_feed_document_id: str | None = None


class GetFeedsResponse(CamelModel):
    feeds: list[Feed]
    next_token: str | None = None


class FeedDocument(CamelModel):
    feed_document_id: str
    url: str  # presigned download URL; expires after 5 minutes
    compression_algorithm: CompressionAlgorithm | None = None
