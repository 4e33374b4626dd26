"""Client for Amazon's Selling Partner API (see ``client.SpApiClient``)."""

from shared.spapi.auth import LwaCredentials, LwaTokenProvider
from shared.spapi.client import SpApiClient
from shared.spapi.endpoints import Endpoints, Region
from shared.spapi.errors import (
    AccessTokenRejected,
    AuthError,
    MalformedResponse,
    MaybeAccepted,
    NotSent,
    PermanentError,
    SpApiError,
    Throttled,
    TransientError,
)
from shared.spapi.result import ApiResult
from shared.spapi.retry import RetryPolicy

__all__ = [
    "AccessTokenRejected",
    "ApiResult",
    "AuthError",
    "Endpoints",
    "LwaCredentials",
    "LwaTokenProvider",
    "MalformedResponse",
    "MaybeAccepted",
    "NotSent",
    "PermanentError",
    "Region",
    "RetryPolicy",
    "SpApiClient",
    "SpApiError",
    "Throttled",
    "TransientError",
]
