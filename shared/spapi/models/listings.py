"""Listings Items API 2021-08-01: what ``patchListingsItem`` takes and answers."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from shared.spapi.models.base import CamelModel


class PatchOp(StrEnum):
    ADD = "add"
    REPLACE = "replace"
    MERGE = "merge"
    DELETE = "delete"


class PatchOperation(CamelModel):
    """One JSON Patch operation on a top-level listing attribute (``/attributes/<name>``)."""

    op: PatchOp
    path: str
    value: list[dict[str, Any]] | None = None  # left out for delete


class ListingsItemPatchRequest(CamelModel):
    product_type: str
    patches: list[PatchOperation] = Field(min_length=1)


class SubmissionStatus(StrEnum):
    ACCEPTED = "ACCEPTED"  # taken for processing (applied within seconds)
    INVALID = "INVALID"  # refused: the issues say why; nothing changed
    VALID = "VALID"  # VALIDATION_PREVIEW only: it would be accepted


class IssueSeverity(StrEnum):
    ERROR = "ERROR"  # prevented the submission
    WARNING = "WARNING"  # applied, but worth a look
    INFO = "INFO"


class ListingsItemIssue(CamelModel):
    code: str
    message: str
    severity: IssueSeverity
    attribute_names: list[str] | None = None
    # Required by the model; tolerated when absent, as Amazon adds and drops such fields.
    categories: list[str] = []

    def describe(self) -> str:
        """The issue in one line, as the processing report's issues are written."""
        where = f" [{', '.join(self.attribute_names)}]" if self.attribute_names else ""
        return f"{self.code}: {self.message}{where}"


class ListingsItemIdentifier(CamelModel):
    marketplace_id: str | None = None
    asin: str | None = None


class ListingsItemSubmissionResponse(CamelModel):
    sku: str
    status: SubmissionStatus
    submission_id: str
    issues: list[ListingsItemIssue] = []
    identifiers: list[ListingsItemIdentifier] | None = None
