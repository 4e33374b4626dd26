"""Amazon's error responses: ``{"errors": [{code, message, details?}]}`` and their headers."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

# Byte for byte what SP-API answers when a bucket is empty (SPAPI.md, Throttling).
QUOTA_EXCEEDED_BODY: dict[str, Any] = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}

UNAUTHORIZED_MESSAGE = "Access to requested resource is denied."

# Error code and message Amazon uses per HTTP status, for injected faults.
_STATUS_ERRORS: dict[int, tuple[str, str]] = {
    400: ("InvalidInput", "Invalid input."),
    403: ("Unauthorized", UNAUTHORIZED_MESSAGE),
    404: ("NotFound", "The requested resource was not found."),
    413: ("RequestEntityTooLarge", "The request is too large."),
    415: ("UnsupportedMediaType", "The request payload is in an unsupported format."),
    429: ("QuotaExceeded", "You exceeded your quota for the requested resource."),
    500: ("InternalFailure", "We encountered an internal error. Please try again."),
    503: ("ServiceUnavailable", "Service temporarily unavailable. Please try again later."),
}

# x-amzn-ErrorType values Amazon sends with these statuses.
_ERROR_TYPES: dict[int, str] = {
    403: "AccessDeniedException",
    429: "TooManyRequestsException",
}


class ApiError(Exception):
    """An SP-API error response, raised anywhere below a route and rendered at the top."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"errors": [error]}

    def response(self) -> JSONResponse:
        if self.status == 429:
            return throttled_response()
        headers = {}
        if self.status in _ERROR_TYPES:
            headers["x-amzn-ErrorType"] = _ERROR_TYPES[self.status]
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def invalid_input(message: str, details: str | None = None) -> ApiError:
    return ApiError(400, "InvalidInput", message, details)


def not_found(message: str) -> ApiError:
    return ApiError(404, "NotFound", message)


def unauthorized(details: str) -> ApiError:
    return ApiError(403, "Unauthorized", UNAUTHORIZED_MESSAGE, details)


def for_status(status: int) -> ApiError:
    """The error Amazon would send with ``status``, for fault injection."""
    code, message = _STATUS_ERRORS.get(status, (str(status), "Injected failure."))
    return ApiError(status, code, message)


def throttled_response() -> JSONResponse:
    return JSONResponse(
        QUOTA_EXCEEDED_BODY,
        status_code=429,
        headers={"x-amzn-ErrorType": _ERROR_TYPES[429]},
    )
