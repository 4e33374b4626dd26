"""Pydantic models of every SP-API operation the system calls, one module per API.

Python names are snake_case; the wire names are Amazon's (aliases). Extra fields are
kept, so a field Amazon adds later never breaks a parse.
"""

from shared.spapi.models.base import CamelModel, ErrorDetail, ErrorList
from shared.spapi.models.catalog import (
    MAX_IDENTIFIERS_PER_SEARCH,
    CatalogPagination,
    IdentifiersType,
    Item,
    ItemIdentifier,
    ItemIdentifiersByMarketplace,
    ItemProductTypeByMarketplace,
    ItemSearchResults,
    ItemSummaryByMarketplace,
    Refinements,
)
from shared.spapi.models.feeds import (
    CompressionAlgorithm,
    CreateFeedDocumentResponse,
    CreateFeedDocumentSpecification,
    CreateFeedResponse,
    CreateFeedSpecification,
    Feed,
    FeedDocument,
    GetFeedsResponse,
    ProcessingStatus,
)
from shared.spapi.models.listings import (
    IssueSeverity,
    ListingsItemIdentifier,
    ListingsItemIssue,
    ListingsItemPatchRequest,
    ListingsItemSubmissionResponse,
    PatchOp,
    PatchOperation,
    SubmissionStatus,
)
from shared.spapi.models.lwa import LwaErrorResponse, LwaTokenResponse
from shared.spapi.models.orders_2026 import (
    FulfillmentStatus,
    ItemProduct,
    Money2026,
    Order2026,
    OrderItem2026,
    OrdersPagination,
    SearchOrdersResponse,
)
from shared.spapi.models.reports import (
    CreateReportResponse,
    CreateReportSpecification,
    Report,
    ReportDocument,
)

__all__ = [
    "MAX_IDENTIFIERS_PER_SEARCH",
    "CamelModel",
    "CatalogPagination",
    "CompressionAlgorithm",
    "CreateFeedDocumentResponse",
    "CreateFeedDocumentSpecification",
    "CreateFeedResponse",
    "CreateFeedSpecification",
    "CreateReportResponse",
    "CreateReportSpecification",
    "ErrorDetail",
    "ErrorList",
    "Feed",
    "FeedDocument",
    "FulfillmentStatus",
    "GetFeedsResponse",
    "IdentifiersType",
    "IssueSeverity",
    "Item",
    "ItemIdentifier",
    "ItemIdentifiersByMarketplace",
    "ItemProduct",
    "ItemProductTypeByMarketplace",
    "ItemSearchResults",
    "ItemSummaryByMarketplace",
    "ListingsItemIdentifier",
    "ListingsItemIssue",
    "ListingsItemPatchRequest",
    "ListingsItemSubmissionResponse",
    "LwaErrorResponse",
    "LwaTokenResponse",
    "Money2026",
    "Order2026",
    "OrderItem2026",
    "OrdersPagination",
    "PatchOp",
    "PatchOperation",
    "ProcessingStatus",
    "Refinements",
    "Report",
    "ReportDocument",
    "SearchOrdersResponse",
    "SubmissionStatus",
]
