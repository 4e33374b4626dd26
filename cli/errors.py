"""What can go wrong talking to the API, each with the message a person should read.

The client translates every HTTP and network failure into one of these at the boundary
(``raise ... from exc``); commands never see an ``httpx`` exception. All of them end the
command with exit status 1 (usage errors, handled by typer, end it with 2).
"""

from __future__ import annotations


class ApiError(Exception):
    """The API could not do what was asked; ``str(error)`` is the whole explanation."""

    exit_code = 1

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class Unreachable(ApiError):
    """No HTTP answer at all: refused, unresolvable, timed out."""


class Unauthorized(ApiError):
    """401/403: no key, or a key the API does not accept."""


class NotFound(ApiError):
    """404: absent, or belonging to a shop the key cannot see (the API does not say which)."""


class Conflict(ApiError):
    """409: the request is valid but not now (e.g. a job that is no longer cancelable)."""


class Gone(ApiError):
    """410: what was asked for is no longer there (a dead letter's original, cut by the
    topic's retention); the message says why."""


class Invalid(ApiError):
    """400/422: the API rejected a parameter or a field of the body."""


class ServerError(ApiError):
    """5xx, or an answer the CLI cannot read."""
