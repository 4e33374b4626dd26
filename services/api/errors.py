"""Every error the API returns has one shape: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import PyMongoError
from starlette.exceptions import HTTPException

from services.api.publishing import BusUnavailable, PayloadTooLarge
from shared.chunking import TooLarge
from shared.kafka.producer import MessageTooLarge

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def install(app: FastAPI, retry_after_s: int) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(body(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "request"
        return JSONResponse(body("invalid", f"{field}: {first.get('msg')}"), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body that is not UTF-8 ("There was an error parsing
            # the body"): a bad body is a 422 like any other, as the schema documents.
            return JSONResponse(
                body("invalid", f"body: not valid JSON ({exc.detail})"), status_code=422
            )
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            exc.status_code, "error"
        )
        return JSONResponse(
            body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(TooLarge)
    @app.exception_handler(PayloadTooLarge)
    @app.exception_handler(MessageTooLarge)
    async def too_large(request: Request, exc: ValueError) -> JSONResponse:
        # Permanent: the same request is as large the next time, so never a 503.
        return JSONResponse(body("too_large", str(exc)), status_code=422)

    @app.exception_handler(BusUnavailable)
    async def bus_down(request: Request, exc: BusUnavailable) -> JSONResponse:
        log.warning("Kafka unavailable", extra={"error": str(exc)[:200]})
        return JSONResponse(
            body("unavailable", str(exc)),
            status_code=503,
            headers={"Retry-After": str(retry_after_s)},
        )

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        # Still a 500 (a bug), but in the one error shape callers parse.
        log.exception("unexpected error", extra={"path": request.url.path})
        return JSONResponse(body("internal", "unexpected error; it has been logged"), 500)

    @app.exception_handler(PyMongoError)
    async def database_down(request: Request, exc: PyMongoError) -> JSONResponse:
        log.warning("MongoDB unavailable", extra={"error": str(exc)[:200]})
        return JSONResponse(
            body("unavailable", "the job store is unavailable; retry shortly"),
            status_code=503,
            headers={"Retry-After": str(retry_after_s)},
        )
