"""The presigned document URLs: what S3 does for Amazon, the sandbox does itself.

``createFeedDocument`` hands out a PUT URL, ``getFeedDocument`` / ``getReportDocument``
GET URLs; each expires after 5 minutes (scaled) and needs no access token, like a
presigned S3 URL. An upload must carry the Content-Type given to createFeedDocument
(S3 would reject the signature otherwise). Downloads are the stored bytes as they are:
gzipped documents are not marked with Content-Encoding, so the client decompresses them
as ``compressionAlgorithm`` tells it to, exactly as with Amazon's URLs. Errors use S3's
XML error body.
"""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.amazon_sandbox.gateway import Call, sandbox_state
from services.amazon_sandbox.state import Document, DocumentUrl, Seller

PATH = "/_documents"


def document_url(call: Call, document_id: str, method: str) -> str:
    token = call.state.document_url_token(call.seller.seller_id, document_id, method)
    return f"{call.base_url()}{PATH}/{token}"


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    )
    return Response(body, status_code=status, media_type="application/xml")


def _resolve(request: Request, method: str) -> tuple[Seller, Document] | Response:
    """The seller and document a presigned URL names, or S3's refusal."""
    state = sandbox_state(request)
    url: DocumentUrl | None = state.document_urls.get(request.path_params["token"])
    if url is None or url.method != method:
        return _s3_error(403, "AccessDenied", "Access Denied")
    if state.clock.now() >= url.expires_at:
        return _s3_error(403, "AccessDenied", "Request has expired")
    seller = state.sellers.get(url.seller_id)
    document = seller.documents.get(url.document_id) if seller else None
    if seller is None or document is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return seller, document


def _media_type(value: str) -> str:
    """Content types compared as S3 signatures see them, less case and spacing."""
    return ";".join(part.strip() for part in value.lower().split(";"))


async def upload(request: Request) -> Response:
    resolved = _resolve(request, "PUT")
    if isinstance(resolved, Response):
        return resolved
    seller, document = resolved
    given = request.headers.get("content-type", "")
    if _media_type(given) != _media_type(document.content_type):
        return _s3_error(
            403,
            "SignatureDoesNotMatch",
            f"Content-Type '{given}' differs from '{document.content_type}' given to "
            "createFeedDocument.",
        )
    data = await request.body()
    async with seller.lock:
        document.data = data
    return Response(
        status_code=200,
        headers={"ETag": f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'},
    )


async def download(request: Request) -> Response:
    resolved = _resolve(request, "GET")
    if isinstance(resolved, Response):
        return resolved
    _, document = resolved
    if document.data is None:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return Response(document.data, media_type=document.content_type)


routes = [
    Route(f"{PATH}/{{token}}", upload, methods=["PUT"]),
    Route(f"{PATH}/{{token}}", download, methods=["GET"]),
]
