"""Builds the API application: routes, error shapes, clients made at startup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from services.api import errors
from services.api.auth import KeyRing
from services.api.bodies import BodyLimit
from services.api.http_metrics import HttpMetrics
from services.api.projector import Projector
from services.api.replays import REPLAYS
from services.api.routes import (
    accounts,
    bulk_jobs,
    jobs,
    listing_issues,
    operations,
    schedules,
    signing,
    stats,
    webhooks,
)
from services.api.settings import ApiSettings
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import EventPublisher, make_producer
from shared.mongo import get_database, make_mongo_client
from shared.supervisor import supervise
from shared.topics import ALL_TOPICS

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"

DESCRIPTION = """The read side of Amazon Jobs: every job, its items and log, per shop (shop
keys) or across shops (admin keys), plus accounts, quota buckets and dead letters.
Authenticate with `Authorization: Bearer <key>`; another shop's resources are 404.
Errors are `{"error": {"code", "message"}}`."""


def operation_id(route: APIRoute) -> str:
    """A stable, readable operationId: the route function's name in camelCase
    (``list_job_items`` -> ``listJobItems``), not FastAPI's name-path-method default."""
    head, *rest = route.name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def create_app(settings: ApiSettings, *, run_projector: bool | None = None) -> FastAPI:
    projector_on = settings.run_projector if run_projector is None else run_projector

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(settings.kafka_bootstrap_servers, [*ALL_TOPICS, REPLAYS])
        # Requests' operations get the API's short deadline; the embedded projector has a
        # client of its own with the long default, for its large batches (§17).
        app.state.mongo = make_mongo_client(
            settings.mongo_url,
            timeout_ms=round(settings.mongo_timeout_s * 1000),
            serverSelectionTimeoutMS=2_000,
        )
        app.state.db = get_database(app.state.mongo, settings.mongo_url)
        projector_mongo = None
        producer = make_producer(settings.kafka_bootstrap_servers, client_id="api")
        await producer.start()
        app.state.publisher = EventPublisher(producer, settings.signer())
        stop = asyncio.Event()
        task = None
        if projector_on:
            projector_mongo = make_mongo_client(settings.mongo_url)
            app.state.projector = Projector(
                settings, get_database(projector_mongo, settings.mongo_url), app.state.publisher
            )
            # Supervised (docs/design.md §17): a projector that dies turns /healthz and
            # /readyz red and, under run_service, stops the process with exit 1.
            # Ending once the lifespan's own stop is set is no failure.
            task = supervise("projector", app.state.projector.run(stop), until=stop)
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 20)
            await producer.stop()
            await app.state.mongo.close()
            if projector_mongo is not None:
                await projector_mongo.close()

    app = FastAPI(
        title="Amazon Jobs API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # A server span per request when tracing is on (shared/tracing.py), no more: the
        # job's trace stays readable, and metrics are Prometheus's (http_metrics.py).
        telemetry={"operation_spans": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.keys = KeyRing(settings.api_keys)
    errors.install(app, settings.retry_after_s)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    # Outermost (added last), so a 413 before routing is counted too.
    app.add_middleware(HttpMetrics)
    # Before the jobs router: "/v1/jobs/bulk/cancel" is not the cancel of a job "bulk".
    app.include_router(bulk_jobs.router)
    app.include_router(jobs.router)
    app.include_router(accounts.router)
    app.include_router(listing_issues.router)
    app.include_router(schedules.router)
    app.include_router(webhooks.router)
    app.include_router(operations.router)
    app.include_router(signing.router)
    app.include_router(stats.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app
