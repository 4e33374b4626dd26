"""Reports API 2021-06-30, field for field."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.spapi.models.base import CamelModel
from shared.spapi.models.feeds import CompressionAlgorithm, ProcessingStatus


class CreateReportSpecification(CamelModel):
    report_options: dict[str, str] | None = None
    report_type: str
    data_start_time: datetime | None = None
    data_end_time: datetime | None = None
    marketplace_ids: list[str] = Field(min_length=1, max_length=25)


class CreateReportResponse(CamelModel):
    report_id: str


class Report(CamelModel):
    marketplace_ids: list[str] | None = None
    report_id: str
    report_type: str
    data_start_time: datetime | None = None
    data_end_time: datetime | None = None
    report_schedule_id: str | None = None
    created_time: datetime
    processing_status: ProcessingStatus
    processing_start_time: datetime | None = None
    processing_end_time: datetime | None = None
    report_document_id: str | None = None


class ReportDocument(CamelModel):
    report_document_id: str
    url: str  # presigned download URL; expires after 5 minutes
    compression_algorithm: CompressionAlgorithm | None = None
