"""Feeds API 2021-06-30 (no ``payload`` wrapper)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.amazon_sandbox.errors import invalid_input
from services.amazon_sandbox.gateway import Call, sp_api
from services.amazon_sandbox.params import body_marketplace_ids, body_string_map, json_object
from services.amazon_sandbox.processing import RETIRED_FEED_TYPES, SUPPORTED_FEED_TYPES
from services.amazon_sandbox.routes.documents import document_url
from services.amazon_sandbox.routes.jobs import JobResource, document_response
from services.amazon_sandbox.state import Document, DocumentKind, Feed

PREFIX = "/feeds/2021-06-30"

FEEDS: JobResource[Feed] = JobResource(
    "feed",
    jobs=lambda seller: seller.feeds,
    line=lambda seller: seller.feed_line,
    document_field="resultFeedDocumentId",
)


def create_feed_document(call: Call) -> Response:
    body = json_object(call.body)
    content_type = body.get("contentType")
    if not isinstance(content_type, str) or not content_type.strip():
        raise invalid_input("contentType is required.")
    document_id = call.state.new_feed_document_id()
    call.seller.documents[document_id] = Document(
        document_id, DocumentKind.FEED_INPUT, content_type
    )
    url = document_url(call, document_id, "PUT")
    return JSONResponse({"feedDocumentId": document_id, "url": url}, status_code=201)


def create_feed(call: Call) -> Response:
    body = json_object(call.body)
    feed_type = FEEDS.requested_type(
        body,
        SUPPORTED_FEED_TYPES | RETIRED_FEED_TYPES,
        "The sandbox accepts JSON_LISTINGS_FEED and POST_ORDER_FULFILLMENT_DATA.",
    )
    marketplace_ids = body_marketplace_ids(body.get("marketplaceIds"), call.seller.marketplace_ids)
    document_id = body.get("inputFeedDocumentId")
    document = call.seller.documents.get(document_id) if isinstance(document_id, str) else None
    if document is None or document.kind is not DocumentKind.FEED_INPUT:
        raise invalid_input(f"Invalid inputFeedDocumentId '{document_id}'.")
    options = body_string_map(body.get("feedOptions"), "feedOptions")
    feed = Feed(
        job_id=call.state.new_feed_id(),
        job_type=feed_type,
        marketplace_ids=marketplace_ids,
        created=call.state.clock.now(),
        input_document_id=document.document_id,
        feed_options=options,
        sabotaged=call.state.faults.fatal_feeds(call.seller.seller_id),
    )
    return FEEDS.enqueue(call, feed)


def get_feed_document(call: Call) -> Response:
    # Input documents too: Amazon hands out a URL for any feed document of the seller.
    kinds = frozenset({DocumentKind.FEED_INPUT, DocumentKind.FEED_RESULT})
    return document_response(call, "feedDocumentId", kinds, "Feed document")


routes = [
    Route(
        f"{PREFIX}/documents",
        sp_api("createFeedDocument", create_feed_document),
        methods=["POST"],
    ),
    Route(
        f"{PREFIX}/documents/{{feedDocumentId}}",
        sp_api("getFeedDocument", get_feed_document),
        methods=["GET"],
    ),
    Route(f"{PREFIX}/feeds", sp_api("createFeed", create_feed), methods=["POST"]),
    Route(f"{PREFIX}/feeds", sp_api("getFeeds", FEEDS.get_list), methods=["GET"]),
    Route(f"{PREFIX}/feeds/{{feedId}}", sp_api("getFeed", FEEDS.get), methods=["GET"]),
    Route(f"{PREFIX}/feeds/{{feedId}}", sp_api("cancelFeed", FEEDS.cancel), methods=["DELETE"]),
]
