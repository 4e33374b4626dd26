"""MongoDB connection on PyMongo's async API (the successor of Motor)."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.uri_parser import parse_uri

DEFAULT_DATABASE = "amazon_jobs"


def make_mongo_client(url: str, **kwargs: Any) -> AsyncMongoClient[dict[str, Any]]:
    # Short server selection: a missing database must surface as "unavailable" quickly
    # (the API answers 503) instead of hanging a request for 30 s.
    kwargs.setdefault("serverSelectionTimeoutMS", 5_000)
    kwargs.setdefault("tz_aware", True)
    return AsyncMongoClient(url, **kwargs)


def database_name(url: str) -> str:
    return parse_uri(url).get("database") or DEFAULT_DATABASE


def get_database(
    client: AsyncMongoClient[dict[str, Any]], url: str
) -> AsyncDatabase[dict[str, Any]]:
    return client[database_name(url)]
