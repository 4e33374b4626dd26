"""MongoDB connection on PyMongo's async API (the successor of Motor)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.uri_parser import parse_uri

DEFAULT_DATABASE = "amazon_jobs"


# Every operation's deadline unless the URL sets its own ``timeoutMS``: a server that
# takes connections and never answers (a hung disk, a half-open proxy) must end an API
# request as a 503 and a projector batch as a retry, not hang them forever (PyMongo's
# default socket timeout is none). Far longer than the projector's largest batch takes on
# FerretDB under load (a batch that timed out is written again whole); the API's requests
# use a client with a shorter one (API_MONGO_TIMEOUT_S).
OPERATION_TIMEOUT_MS = 120_000


def make_mongo_client(
    url: str, *, timeout_ms: int = OPERATION_TIMEOUT_MS, **kwargs: Any
) -> AsyncMongoClient[dict[str, Any]]:
    # Short server selection: a missing database must surface as "unavailable" quickly
    # (the API answers 503) instead of hanging a request for 30 s.
    kwargs.setdefault("serverSelectionTimeoutMS", 5_000)
    kwargs.setdefault("tz_aware", True)
    if "timeoutms" not in {k.lower() for k in parse_uri(url)["options"]}:
        kwargs.setdefault("timeoutMS", timeout_ms)
    return AsyncMongoClient(url, **kwargs)


def database_name(url: str) -> str:
    return parse_uri(url).get("database") or DEFAULT_DATABASE


def get_database(
    client: AsyncMongoClient[dict[str, Any]], url: str
) -> AsyncDatabase[dict[str, Any]]:
    return client[database_name(url)]
