"""Login with Amazon: ``POST /auth/o2/token`` exchanges a refresh token for an access token.

The refresh token names the seller (registered with POST /_sandbox/sellers). Errors use
OAuth 2's shape, as LWA does: ``{"error": ..., "error_description": ...}``.
``expires_in`` is 3600 Amazon seconds; under a time scale the token really lives
3600 / scale seconds, so clients must be ready for a 403 before their own clock says so.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.amazon_sandbox.gateway import sandbox_state

PATH = "/auth/o2/token"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=_NO_STORE
    )


def _form(content_type: str, body: bytes) -> dict[str, str]:
    text = body.decode("utf-8", errors="replace")
    if content_type.startswith("application/json"):
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return (
            {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
        )
    return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}


async def token(request: Request) -> Response:
    state = sandbox_state(request)
    form = _form(request.headers.get("content-type", ""), await request.body())
    grant_type = form.get("grant_type", "")
    if grant_type != "refresh_token":
        return _oauth_error(
            400, "unsupported_grant_type", f"The grant type '{grant_type}' is not supported."
        )
    if not form.get("client_id") or not form.get("client_secret"):
        return _oauth_error(401, "invalid_client", "Client authentication failed.")
    refresh_token = form.get("refresh_token", "")
    if not refresh_token:
        return _oauth_error(400, "invalid_request", "The request is missing refresh_token.")
    seller = state.seller_by_refresh_token(refresh_token)
    if seller is None:
        return _oauth_error(
            400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
        )
    access_token = state.issue_access_token(seller.seller_id)
    return JSONResponse(
        {
            "access_token": access_token,
            "token_type": "bearer",
            "expires_in": int(state.settings.access_token_ttl_s),
            "refresh_token": refresh_token,
        },
        headers=_NO_STORE,
    )


routes = [Route(PATH, token, methods=["POST"])]
