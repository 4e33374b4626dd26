"""Login with Amazon: access tokens from a seller's refresh token, cached per credential.

An access token lives an hour. It is refreshed ~60 s before it expires, and under
concurrency exactly one refresh per credential is in flight (an ``asyncio.Lock`` per
credential): a burst of calls for one seller must not become a burst of LWA calls.
Secrets never reach a log line, an exception message or a repr.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from pydantic import ValidationError

from shared.spapi.deadline import CALL_DEADLINE_S, within
from shared.spapi.errors import AuthError, MalformedResponse, PermanentError, TransientError
from shared.spapi.models.lwa import LwaErrorResponse, LwaTokenResponse
from shared.spapi.retry import RetryPolicy

logger = logging.getLogger(__name__)

LWA_OPERATION = "lwaRefreshAccessToken"  # our name for the LWA call in logs and errors
DEFAULT_REFRESH_MARGIN_S = 60.0

# OAuth error codes that mean the credentials themselves are bad, not the request.
_CREDENTIAL_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client"})


@dataclass(frozen=True, slots=True)
class LwaCredentials:
    """One seller authorisation of our app. Secrets are left out of ``repr``."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    seller_id: str

    @property
    def cache_key(self) -> str:
        # A digest, so the cache keys (which may end up in a debugger or a dump) hold no
        # secret; client id included because one refresh token belongs to one app.
        raw = f"{self.client_id}\0{self.refresh_token}".encode()
        return hashlib.sha256(raw).hexdigest()


@dataclass(slots=True)
class _CachedToken:
    value: str = field(repr=False)
    expires_at: float  # on the provider's clock


class LwaTokenProvider:
    """Hands out access tokens; share one per process so every client reuses its cache."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        lwa_url: str,
        *,
        retry: RetryPolicy | None = None,
        refresh_margin_s: float = DEFAULT_REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
        deadline_s: float = CALL_DEADLINE_S,
    ) -> None:
        self.lwa_url = lwa_url
        self._deadline_s = deadline_s
        self._http = http
        self._retry = retry or RetryPolicy()
        self._margin = refresh_margin_s
        self._clock = clock
        self._tokens: dict[str, _CachedToken] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def access_token(self, credentials: LwaCredentials) -> str:
        key = credentials.cache_key
        cached = self._tokens.get(key)
        if cached is not None and self._is_fresh(cached):
            return cached.value
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            # Whoever held the lock before us may have refreshed already.
            cached = self._tokens.get(key)
            if cached is not None and self._is_fresh(cached):
                return cached.value
            fresh = await self._refresh(credentials)
            self._tokens[key] = fresh
            return fresh.value

    def invalidate(self, credentials: LwaCredentials, rejected_token: str) -> None:
        """Forget ``rejected_token`` (Amazon answered 403 to it).

        Only that exact token: if a concurrent call already replaced it, the newer token
        stays and no second refresh happens.
        """
        key = credentials.cache_key
        cached = self._tokens.get(key)
        if cached is not None and cached.value == rejected_token:
            del self._tokens[key]

    def _is_fresh(self, token: _CachedToken) -> bool:
        return self._clock() < token.expires_at - self._margin

    async def _refresh(self, credentials: LwaCredentials) -> _CachedToken:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.refresh_token,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        }
        seller = credentials.seller_id
        attempt = 0
        while True:
            attempt += 1
            requested_at = self._clock()
            try:
                response = await within(
                    self._deadline_s,
                    self._http.post(
                        self.lwa_url, data=form, headers={"accept": "application/json"}
                    ),
                )
            except httpx.TransportError as exc:
                logger.warning(
                    "lwa refresh seller=%s failed: %s",
                    seller,
                    type(exc).__name__,
                    extra={"operation": LWA_OPERATION, "seller_id": seller, "attempt": attempt},
                )
                unreachable = TransientError(
                    f"Login with Amazon unreachable for seller {seller}: {type(exc).__name__}",
                    operation=LWA_OPERATION,
                    attempts=attempt,
                )
                await self._retry.again_or_raise(attempt, unreachable, exc)
                continue
            status = response.status_code
            logger.info(
                "lwa refresh seller=%s status=%s",
                seller,
                status,
                extra={
                    "operation": LWA_OPERATION,
                    "http_status": status,
                    "seller_id": seller,
                    "attempt": attempt,
                },
            )
            if status == 200:
                try:
                    body = LwaTokenResponse.model_validate_json(response.content)
                except ValidationError as exc:
                    raise MalformedResponse(
                        "Login with Amazon answered 200 without an access token",
                        operation=LWA_OPERATION,
                        status=status,
                    ) from exc
                # Expiry counted from the request, not the answer: errs on the early side.
                return _CachedToken(body.access_token, requested_at + body.expires_in)
            if status == 429 or status >= 500:
                # LWA is not metered by the throttle service, so backing off here is right.
                failed = TransientError(
                    f"Login with Amazon answered {status} for seller {seller}",
                    operation=LWA_OPERATION,
                    attempts=attempt,
                    status=status,
                )
                await self._retry.again_or_raise(attempt, failed)
                continue
            error = _lwa_error(response)
            if (error is not None and error.error in _CREDENTIAL_ERRORS) or status == 401:
                detail = error.error if error is not None else f"HTTP {status}"
                raise AuthError(
                    seller, f"Login with Amazon: {detail}", operation=LWA_OPERATION, status=status
                )
            raise PermanentError(
                f"Login with Amazon refused the token request for seller {seller}: "
                f"{error.error if error else f'HTTP {status}'}",
                operation=LWA_OPERATION,
                status=status,
            )


def _lwa_error(response: httpx.Response) -> LwaErrorResponse | None:
    try:
        return LwaErrorResponse.model_validate_json(response.content)
    except ValidationError:
        return None
