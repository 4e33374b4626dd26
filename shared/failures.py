"""Why a job failed, in one vocabulary, and which SP-API errors fail a job at once.

``JobFailed.data.failure`` names the reason for dashboards and alerts; every worker
writes one of :data:`Failure` (its kinds are listed in shared.job_data, beside the payload
that carries them). :func:`failure_of` is the one reading of an error from a
call to Amazon: the reason and a message when retrying cannot help, None when a later try
may pass (429s, 5xx, timeouts, a garbled answer, no token in time).
"""

from __future__ import annotations

from shared.accounts import UnknownAccount
from shared.job_data import Failure
from shared.spapi.errors import AuthError, MalformedResponse, PermanentError

__all__ = ["Failure", "failure_of"]


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
