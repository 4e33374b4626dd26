"""The one exception hierarchy of the SP-API client.

Library errors (httpx, pydantic) never leave the client: they are translated here, at the
boundary, with the original kept as ``__cause__``. The client sends each SP-API call once
and never repeats it, since every request to Amazon must be paid for by a quota token of
its own; whoever holds the tokens (shared/metered.py) decides on another try. What the
caller does with each:

- ``Throttled``: report it to the throttle service (which drains the bucket) and call
  again on a new grant.
- ``TransientError``: a 5xx, a timeout or a lost connection; worth another try on a fresh
  token after a backoff. ``NotSent``, one of them: the request never left, so no quota
  was spent and even ``createFeed`` may be sent again. ``MaybeAccepted``, another: a call
  that creates something failed after it was sent; Amazon may have it, so it is never
  repeated blindly.
- ``AccessTokenRejected``: Amazon refused the access token (expired early, revoked); the
  client forgot it, so one more try (with a new token) is worth it.
- ``PermanentError``: Amazon refused the request as such (4xx); retrying the same request
  cannot succeed. Carries Amazon's ``errors`` list.
- ``AuthError``: the seller's credentials no longer work; a human must re-authorise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from shared.quotas import QuotaClass
from shared.spapi.models.base import ErrorDetail


class SpApiError(Exception):
    """Base of every error the SP-API client raises."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status: int | None = None,
        request_id: str | None = None,
        errors: Sequence[ErrorDetail] = (),
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.status = status
        self.request_id = request_id
        self.errors: tuple[ErrorDetail, ...] = tuple(errors)


class Throttled(SpApiError):
    """HTTP 429: the operation's token bucket at Amazon is empty."""

    def __init__(
        self,
        operation: str,
        quota_class: QuotaClass | None,
        *,
        request_id: str | None = None,
        errors: Sequence[ErrorDetail] = (),
    ) -> None:
        where = f" (quota class {quota_class.value})" if quota_class else ""
        super().__init__(
            f"Amazon throttled {operation}{where}",
            operation=operation,
            status=429,
            request_id=request_id,
            errors=errors,
        )
        # None for operations the throttle does not meter (cancelFeed, getOrderItems, …).
        self.quota_class = quota_class


class TransientError(SpApiError):
    """5xx, timeout or connection failure: this try failed, a later one may pass.
    ``attempts`` counts the tries made (1 from the client, which never repeats a call)."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        attempts: int,
        status: int | None = None,
        request_id: str | None = None,
        errors: Sequence[ErrorDetail] = (),
    ) -> None:
        super().__init__(
            message, operation=operation, status=status, request_id=request_id, errors=errors
        )
        self.attempts = attempts


class NotSent(TransientError):
    """The request never reached Amazon: the connection was refused or never made, or no
    access token could be had. Amazon spent no quota on it, and repeating it is safe for
    any operation, ``createFeed`` included."""


class MaybeAccepted(TransientError):
    """A call that creates something at Amazon (a feed, a report) failed after it was sent:
    a 5xx or a lost answer. Amazon may have carried it out, so it is never sent again on
    the spot (neither by the client nor by Metered); whoever sends it again later knows
    (and says) that Amazon may hold it twice."""


class _SellerRefused(SpApiError):
    """Amazon refused something of one seller's: ``MESSAGE`` says what, with ``{seller}``,
    ``{operation}`` and ``{detail}``."""

    MESSAGE: ClassVar[str]

    def __init__(
        self,
        seller_id: str,
        detail: str,
        *,
        operation: str,
        status: int | None = None,
        request_id: str | None = None,
        errors: Sequence[ErrorDetail] = (),
    ) -> None:
        super().__init__(
            self.MESSAGE.format(seller=seller_id, operation=operation, detail=detail),
            operation=operation,
            status=status,
            request_id=request_id,
            errors=errors,
        )
        self.seller_id = seller_id
        self.detail = detail


class AccessTokenRejected(_SellerRefused):
    """Amazon refused the access token (403 Unauthorized: it expired early or was
    revoked). The client has forgotten that token, so a fresh attempt fetches a new one
    and is worth making once; if Amazon refuses the new token too, the credentials are
    bad (:meth:`persisting`)."""

    MESSAGE = "Amazon refused the access token of seller {seller} for {operation} ({detail})"

    def persisting(self) -> AuthError:
        """The error to raise when a fresh token was refused as well."""
        return AuthError(
            self.seller_id,
            self.detail,
            operation=self.operation,
            status=self.status,
            request_id=self.request_id,
            errors=self.errors,
        )


class PermanentError(SpApiError):
    """A 4xx other than 429 and expired-token 403: the request itself is wrong."""


class MalformedResponse(PermanentError):
    """Amazon answered 2xx with a body that does not match its published model."""


class DocumentTooLarge(MalformedResponse):
    """A document (compressed, or once inflated) larger than the reader takes: a report
    too big for one worker's memory, or a GZIP bomb. The same the next time: no retry."""


class AuthError(_SellerRefused):
    """The seller's credentials are rejected: LWA ``invalid_grant``/``invalid_client``, or a
    403 Unauthorized that persists after a fresh access token."""

    MESSAGE = "Amazon rejected the credentials of seller {seller}: re-authorise the app ({detail})"
