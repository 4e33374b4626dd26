"""Why a job failed, in one vocabulary, and which SP-API errors fail a job at once.

``JobFailed.data["failure"]`` names the reason for dashboards and alerts; every worker
writes one of :data:`Failure`. :func:`failure_of` is the one reading of an error from a
call to Amazon: the reason and a message when retrying cannot help, None when a later try
may pass (429s, 5xx, timeouts, a garbled answer, no token in time).
"""

from __future__ import annotations

from typing import Literal

from shared.accounts import UnknownAccount
from shared.spapi.errors import AuthError, MalformedResponse, PermanentError

Failure = Literal[
    "rejected",  # the request was refused on arrival (intake)
    "refused",  # Amazon refused the call itself (a bad request, an unknown id, …)
    "credentials",  # the seller's authorisation no longer works
    "unknown_account",  # the job's account is not (or no longer) registered
    "unavailable",  # Amazon or the network kept failing until the attempts ran out
    "fatal",  # Amazon aborted the feed or report
    "cancelled",  # Amazon cancelled the feed
    "timeout",  # Amazon did not finish within the waiting limit
    "no_submission",  # the job's data names no feed or report to poll
    "malformed_result",  # the result document (or the submission data) cannot be read
    "internal",  # a bug on our side; the service's log has the traceback
]


def failure_of(exc: Exception, doing: str) -> tuple[Failure, str] | None:
    """The failure an error of a call to Amazon means, with a message for the merchant
    (``doing`` says what was being done), or None when it is worth another try."""
    if isinstance(exc, UnknownAccount):
        return "unknown_account", f"cannot {doing}: {exc}. Register the account again."
    if isinstance(exc, AuthError):
        return "credentials", f"cannot {doing}: {exc}"
    if isinstance(exc, PermanentError) and not isinstance(exc, MalformedResponse):
        return "refused", f"Amazon refused to {doing}: {exc}"
    return None
