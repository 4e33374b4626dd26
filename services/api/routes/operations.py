"""For SREs: quota buckets, dead letters, health and metrics."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.bodies import StrictJsonRoute
from services.api.deps import Admin, Caller, Db, Publisher, Settings
from services.api.errors import ApiError, not_found
from services.api.models import DeadLetterRow, ErrorBody, Health, Page, QuotaRow, Replayed
from services.api.pagination import Keyset, read_page
from services.api.publishing import BusUnavailable
from services.api.replays import REPLAYS, DeadLetterReplayed, original_of
from shared.events import DeadLettered
from shared.health import LIVENESS
from shared.kafka.dead_letters import OriginalUnavailable
from shared.quotas import QuotaClass

router = APIRouter(tags=["operations"], route_class=StrictJsonRoute)
BY_ID = Keyset((("_id", str),))
NEWEST_LETTER_FIRST = Keyset((("occurred_at", datetime), ("_id", str)), descending=True)
READY_TIMEOUT_S = 2.0

LETTER_FIELDS = (
    "original_topic",
    "partition",
    "offset",
    "key",
    "raw_value",
    "raw_encoding",
    "raw_stored",
    "raw_size",
    "raw_sha256",
    "raw_head",
    "error",
    "consumer_group",
    "occurred_at",
    "signature",
)
# A replay record can reach the projector before its letter does (different topics);
# until the letter itself is there, there is nothing to show.
LETTER: dict[str, Any] = {"original_topic": {"$exists": True}}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 422, 503)
}
REPLAY_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    410: {
        "model": ErrorBody,
        "description": "The letter refers to its original and the topic no longer has it: "
        "retention or compaction removed its offset, or the offset holds other bytes now "
        "(size or SHA-256 differ). The message says which; the letter's `raw_head` is all "
        "that is left.",
    },
}


@router.get("/v1/throttle", response_model=Page[QuotaRow], responses=ERRORS)
async def list_quotas(
    db: Db,
    who: Caller,
    seller_id: Annotated[str | None, Query(min_length=1)] = None,
    account_id: Annotated[str | None, Query(min_length=1)] = None,
    quota_class: QuotaClass | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    cursor: str | None = None,
) -> Page[QuotaRow]:
    """The quota buckets of the sellers of the caller's accounts (tokens, queue, next
    grant), by seller, region and quota class. Amazon counts calls per selling partner, so
    every account (and shop) of one seller shares its buckets; ``account_id`` selects the
    buckets of that account's seller and region."""
    clauses: list[dict[str, Any]] = []
    if not who.is_admin:
        clauses.append(await _sellers_of(db, {"shop_id": who.shop_id}))
    if account_id:
        clauses.append(await _sellers_of(db, {"_id": account_id}))
    if seller_id:
        clauses.append({"seller_id": seller_id})
    if quota_class:
        clauses.append({"quota_class": quota_class.value})
    query: dict[str, Any] = {"$and": clauses} if clauses else {}
    # The _id is the quota key "seller|region|class": its order is seller, region, class.
    docs, next_cursor = await read_page(db.quotas, query, BY_ID, limit, cursor)
    return Page[QuotaRow](data=[QuotaRow(**d) for d in docs], next_cursor=next_cursor)


async def _sellers_of(db: Any, accounts: dict[str, Any]) -> dict[str, Any]:
    """A filter on the (seller, region) pairs of the accounts ``accounts`` selects."""
    pairs = {
        (d["seller_id"], d["region"])
        async for d in db.accounts.find(accounts, {"seller_id": 1, "region": 1})
    }
    if not pairs:
        return {"_id": {"$in": []}}  # no account: no bucket
    return {"$or": [{"seller_id": s, "region": r} for s, r in sorted(pairs)]}


@router.get("/v1/dead-letters", response_model=Page[DeadLetterRow], responses=ERRORS)
async def list_dead_letters(
    db: Db,
    who: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Page[DeadLetterRow]:
    """What could not be processed, newest first, with the reason."""
    docs, next_cursor = await read_page(
        db.dead_letters, dict(LETTER), NEWEST_LETTER_FIRST, limit, cursor
    )
    return Page[DeadLetterRow](
        data=[
            DeadLetterRow(id=d["_id"], **{k: v for k, v in d.items() if k != "_id"}) for d in docs
        ],
        next_cursor=next_cursor,
    )


@router.post(
    "/v1/dead-letters/{letter_id}/replay",
    status_code=202,
    response_model=Replayed,
    responses=REPLAY_ERRORS,
)
async def replay_dead_letter(
    letter_id: str, db: Db, who: Admin, publisher: Publisher, settings: Settings
) -> Replayed:
    """Send the original message again, to its original topic and key, once fixed.

    A copied original is sent from the letter; a referenced one is read back from its
    topic first (checked against its size and SHA-256): 410 when the topic no longer has
    it. The replay is recorded on the letter (``replays``) as soon as the projector has
    folded it in."""
    doc = await db.dead_letters.find_one({"_id": letter_id, **LETTER})
    if doc is None:
        raise not_found(f"dead letter {letter_id!r}")
    letter = DeadLettered(event_id=doc["_id"], **{k: doc[k] for k in LETTER_FIELDS if k in doc})
    try:
        original = await original_of(
            letter, settings.kafka_bootstrap_servers, settings.publish_timeout_s
        )
    except OriginalUnavailable as exc:
        raise ApiError(410, "gone", f"cannot replay dead letter {letter_id!r}: {exc}") from exc
    except (TimeoutError, KafkaError, OSError) as exc:
        raise BusUnavailable(
            f"Kafka did not give back the original of dead letter {letter_id!r} in time "
            f"({type(exc).__name__}); retry shortly"
        ) from exc
    sent = await publisher.publish_raw(
        letter.original_topic, original.key, original.value, original.headers
    )
    record = DeadLetterReplayed(
        letter_id=letter_id,
        topic=letter.original_topic,
        partition=sent.partition,
        offset=sent.offset,
    )
    await publisher.publish(REPLAYS, letter_id, record)
    return Replayed(
        id=letter_id,
        topic=letter.original_topic,
        partition=sent.partition,
        offset=sent.offset,
        raw_stored=letter.raw_stored,
        size=len(original.value) if original.value is not None else None,
    )


def _liveness() -> dict[str, str]:
    """The process's own parts (the projector): what died or stalled, if anything."""
    problems = LIVENESS.problems()
    return {"process": "; ".join(problems)} if problems else {}


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def get_liveness() -> Any:
    """Liveness: the process answers, and none of its parts (the projector) died or
    stalled; 503 naming it otherwise (the process is then on its way out)."""
    checks = _liveness()
    if checks:
        health = Health(status="unavailable", checks=checks)
        return JSONResponse(health.model_dump(), status_code=503)
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def get_readiness(request: Request) -> Any:
    """Readiness: alive (as /healthz), and Kafka and MongoDB reachable (each given two
    seconds)."""
    checks: dict[str, str] = _liveness()
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await request.app.state.mongo.admin.command("ping")
        checks["mongodb"] = "ok"
    except Exception as exc:
        checks["mongodb"] = f"unavailable: {type(exc).__name__}"
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await request.app.state.publisher.producer.client.fetch_all_metadata()
        checks["kafka"] = "ok"
    except Exception as exc:
        checks["kafka"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    health = Health(status="ok" if ok else "unavailable", checks=checks)
    return health if ok else JSONResponse(health.model_dump(), status_code=503)


@router.get("/metrics", response_class=Response)
async def get_metrics() -> Response:
    """Prometheus metrics of this process (projector included)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
