"""Feeds API 2021-06-30 (no ``payload`` wrapper)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.amazon_sandbox.errors import invalid_input, not_found
from services.amazon_sandbox.gateway import Call, sp_api
from services.amazon_sandbox.params import body_marketplace_ids, body_string_map, json_object
from services.amazon_sandbox.processing import RETIRED_FEED_TYPES, SUPPORTED_FEED_TYPES
from services.amazon_sandbox.routes.documents import document_url
from services.amazon_sandbox.routes.jobs import (
    cancel_queued,
    document_response,
    job_fields,
    list_response,
)
from services.amazon_sandbox.state import Document, DocumentKind, Feed

PREFIX = "/feeds/2021-06-30"


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
    feed_type = body.get("feedType")
    if not isinstance(feed_type, str) or not feed_type:
        raise invalid_input("feedType is required.")
    if feed_type not in SUPPORTED_FEED_TYPES | RETIRED_FEED_TYPES:
        raise invalid_input(
            f"Invalid feedType '{feed_type}'.",
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
    call.seller.feeds[feed.job_id] = feed
    call.seller.feed_line.waiting.append(feed)
    return JSONResponse({"feedId": feed.job_id}, status_code=202)


def get_feed(call: Call) -> Response:
    return JSONResponse(feed_json(call, _feed(call)))


def get_feeds(call: Call) -> Response:
    return list_response(call, call.seller.feeds.values(), "feedTypes", "feeds", feed_json)


def cancel_feed(call: Call) -> Response:
    return cancel_queued(call, _feed(call), call.seller.feed_line, "feed")


def get_feed_document(call: Call) -> Response:
    # Input documents too: Amazon hands out a URL for any feed document of the seller.
    kinds = frozenset({DocumentKind.FEED_INPUT, DocumentKind.FEED_RESULT})
    return document_response(call, "feedDocumentId", kinds, "Feed document")


def _feed(call: Call) -> Feed:
    feed_id = call.path("feedId")
    feed = call.seller.feeds.get(feed_id)
    if feed is None:
        raise not_found(f"Feed {feed_id} was not found.")
    return feed


def feed_json(call: Call, feed: Feed) -> dict[str, Any]:
    body: dict[str, Any] = {"feedId": feed.job_id, "feedType": feed.job_type}
    body.update(job_fields(feed, call.state.clock))
    if feed.result_document_id:
        body["resultFeedDocumentId"] = feed.result_document_id
    return body


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
    Route(f"{PREFIX}/feeds", sp_api("getFeeds", get_feeds), methods=["GET"]),
    Route(f"{PREFIX}/feeds/{{feedId}}", sp_api("getFeed", get_feed), methods=["GET"]),
    Route(f"{PREFIX}/feeds/{{feedId}}", sp_api("cancelFeed", cancel_feed), methods=["DELETE"]),
]
