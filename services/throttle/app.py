"""The faust app of the throttle: the app, its source topic and its state table.

Built by a function rather than at import time because its id (the consumer group, which
also names the state topics) comes from settings, and tests run several side by side.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

from services.throttle.settings import ThrottleSettings
from shared.kafka.producer import COMPRESSION, MAX_REQUEST_BYTES
from shared.kafka.security import KafkaSecuritySettings
from shared.kafka.topic_check import layouts
from shared.topics import THROTTLE_REQUESTS, TopicSpec, faust_changelog


@dataclass(frozen=True, slots=True)
class ThrottleApp:
    app: faust.App
    requests: Any  # faust TopicT of raw bytes; decoded by the engine, which dead-letters junk
    # faust Table of raw JSON: "key:<quota key>" -> KeyRecord and
    # "req:<quota key>#<request id>" -> RequestRecord (see state_store.py for why one)
    state: Any


def state_changelog(settings: ThrottleSettings) -> TopicSpec:
    """The state table's changelog, declared like every topic so that the service creates
    and checks it before faust starts (faust then finds it and leaves it as it is)."""
    return faust_changelog(settings.consumer_group, "state", THROTTLE_REQUESTS.partitions)


def faust_credentials(security: KafkaSecuritySettings) -> faust.auth.Credentials | None:
    """The process's SASL / TLS settings (shared/kafka/security.py) as faust takes them:
    its producer, consumer and admin client then connect as every other client does."""
    context = security.ssl_context()
    if security.uses_sasl:
        return faust.SASLCredentials(
            username=security.kafka_sasl_username,
            password=security.kafka_sasl_password,
            ssl_context=context,  # SASL_SSL when given
            mechanism=security.kafka_sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def build_app(settings: ThrottleSettings) -> ThrottleApp:
    app_id = settings.consumer_group
    data_dir = settings.data_dir or str(Path(tempfile.gettempdir()) / f"faust-{app_id}")
    app = faust.App(
        app_id,
        broker=[f"kafka://{host}" for host in settings.kafka_bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(settings),
        # The changelog topics are the durable state; memory is only the working copy.
        store="memory://",
        datadir=data_dir,
        web_enabled=False,  # metrics and health go through shared.health on HEALTH_PORT
        topic_replication_factor=settings.kafka_replication_factor,
        topic_partitions=THROTTLE_REQUESTS.partitions,
        topic_disable_leader=True,
        processing_guarantee="at_least_once",  # see engine.py for why not exactly_once
        producer_acks=-1,
        producer_compression_type=COMPRESSION,
        producer_max_request_size=MAX_REQUEST_BYTES,
        consumer_auto_offset_reset=settings.new_group_from,
        # A static member (AMAZON_JOBS_INSTANCE_ID) restarted under the same id gets its
        # partitions back at once instead of after the session timeout.
        consumer_group_instance_id=settings.instance_id or None,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.session_timeout_s / 5,
        broker_commit_interval=settings.commit_interval_s,
        stream_wait_empty=True,
    )
    requests = app.topic(
        THROTTLE_REQUESTS.name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    # Should faust create it after all (the service ensures it first), it is as declared.
    declared = layouts([state_changelog(settings)], settings)[0]
    changelog = app.topic(
        declared.name,
        partitions=declared.spec.partitions,
        compacting=True,
        deleting=False,
        replicas=declared.replication_factor,
        config=declared.configs,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )
    state = app.Table(
        "state",
        partitions=THROTTLE_REQUESTS.partitions,
        key_type=bytes,
        value_type=bytes,
        changelog_topic=changelog,
    )
    return ThrottleApp(app, requests, state)
