"""Dependencies of the routes: who is calling, and the resources they reach."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.auth import KeyRing, Principal
from services.api.errors import ApiError, not_found
from services.api.publishing import Publishing
from services.api.settings import ApiSettings
from services.api.store import Database


def settings(request: Request) -> ApiSettings:
    value: ApiSettings = request.app.state.settings
    return value


def database(request: Request) -> Database:
    value: Database = request.app.state.db
    return value


def publisher(request: Request) -> Publishing:
    settings: ApiSettings = request.app.state.settings
    return Publishing(request.app.state.publisher, settings.publish_timeout_s)


# Declared as the OpenAPI security scheme of every /v1 operation; a missing or wrong key
# is answered here (401 in the API's error shape), not by FastAPI's own 403.
BEARER = HTTPBearer(
    scheme_name="apiKey",
    bearerFormat="API key",
    description="A shop key (its own resources) or an admin key (every shop's): "
    "`Authorization: Bearer <key>`.",
    auto_error=False,
)


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> Principal:
    keys: KeyRing = request.app.state.keys
    token = credentials.credentials.strip() if credentials is not None else ""
    found = keys.principal(token) if token else None
    if found is None:
        raise ApiError(
            401, "unauthorized", "a valid API key is required: Authorization: Bearer <key>"
        )
    return found


def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if not who.is_admin:
        raise ApiError(403, "forbidden", "this needs an admin key")
    return who


Db = Annotated[Database, Depends(database)]
Publisher = Annotated[Publishing, Depends(publisher)]
Caller = Annotated[Principal, Depends(principal)]
Admin = Annotated[Principal, Depends(admin)]
Settings = Annotated[ApiSettings, Depends(settings)]


async def visible(collection: Any, what: str, who: Principal, doc_id: str) -> dict[str, Any]:
    """A document of a shop's (``shop_id``), if the caller may see it; another shop's is
    'not found', like one that does not exist."""
    doc: dict[str, Any] | None = await collection.find_one({"_id": doc_id})
    if doc is None or not who.sees(doc["shop_id"]):
        raise not_found(f"{what} {doc_id!r}")
    return doc


async def visible_account(db: Database, who: Principal, account_id: str) -> dict[str, Any]:
    """The account, if the caller may see it; another shop's is 'not found'."""
    return await visible(db.accounts, "account", who, account_id)


async def visible_job(db: Database, who: Principal, job_id: str) -> dict[str, Any]:
    return await visible(db.jobs, "job", who, job_id)
