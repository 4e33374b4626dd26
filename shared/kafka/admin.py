"""Create the declared topics as declared, and check the existing ones, at every start.

Nothing relies on auto-creation: every service calls :func:`ensure_topics` before it
consumes or produces, which creates what is missing with the full declared configuration
(shared/topics.py plus the cluster settings), then compares every topic with its
declaration (shared/kafka/topic_check.py says what counts as which kind of difference)
and raises :class:`TopicMismatch` — the service does not start — when the partition count
or cleanup policy differ. docs/design.md §16.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError, for_code

from shared.kafka.clients import new_admin
from shared.kafka.security import check_credentials
from shared.kafka.topic_check import ObservedTopic, TopicLayout, TopicMismatch, compare, layouts
from shared.settings import KafkaTopicSettings
from shared.topics import ALL_TOPICS, TopicSpec

__all__ = ["TopicMismatch", "TopicSetupError", "ensure_topics"]

log = logging.getLogger(__name__)

_UNKNOWN_TOPIC_OR_PARTITION = 3
_TOPIC_ALREADY_EXISTS = 36
_INVALID_REPLICATION_FACTOR = 38
_DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs config_source of a topic's own config
_RETRY_S = 1.0


class TopicSetupError(RuntimeError):
    """The cluster refused to create, describe or alter a topic (not a mismatch)."""


def _error(code: int, message: str | None) -> str:
    return f"{for_code(code).__name__}" + (f": {message}" if message else "")


async def ensure_topics(
    bootstrap_servers: str,
    topics: Iterable[TopicSpec] = ALL_TOPICS,
    settings: KafkaTopicSettings | None = None,
    *,
    timeout_s: float = 60.0,
) -> list[str]:
    """Create every missing topic as declared and verify all of them; return the names
    created. Safe to run repeatedly and from several services at once.

    ``settings`` (replication factor, min ISR, retention overrides) default to the
    environment's. Raises :class:`TopicMismatch` when an existing topic's partition count
    or cleanup policy differs from its declaration; brings its other declared configs to
    the declared values unless ``KAFKA_ALTER_TOPIC_CONFIGS`` is false."""
    settings = settings if settings is not None else KafkaTopicSettings()
    wanted = layouts(topics, settings)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    admin = new_admin(bootstrap_servers, settings)
    while True:
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            # Refused credentials are final (KafkaAuthenticationError), unlike a broker
            # that is not up yet.
            await check_credentials(bootstrap_servers, settings)
            if loop.time() > deadline:
                raise
            await asyncio.sleep(_RETRY_S)
    try:
        existing = set(await admin.list_topics())
        created = await _create(admin, [t for t in wanted if t.name not in existing], deadline)
        observed = await _observe(admin, [t.name for t in wanted], deadline)
        verdict = compare(wanted, observed, bootstrap_servers)
        for warning in verdict.warnings:
            log.warning("topic below its declared replication", extra={"problem": warning})
        if verdict.fatal:
            for problem in verdict.fatal:
                log.error("topic differs from its declaration", extra={"problem": problem})
            raise TopicMismatch(verdict.fatal)
        if verdict.alterable:
            changes = [str(d) for d in verdict.alterable]
            if settings.kafka_alter_topic_configs:
                await _alter(admin, verdict.alterations(observed))
                log.warning("topic configs set to the declared values", extra={"changes": changes})
            else:
                log.warning(
                    "topic configs differ from the declared values; left as they are "
                    "(KAFKA_ALTER_TOPIC_CONFIGS=false)",
                    extra={"changes": changes},
                )
        return created
    finally:
        await admin.close()


async def _create(
    admin: AIOKafkaAdminClient, missing: list[TopicLayout], deadline: float
) -> list[str]:
    """Create ``missing``; another service creating some at the same moment is fine. A
    cluster with fewer brokers than the replication factor (still starting) is waited for
    until the deadline."""
    loop = asyncio.get_running_loop()
    created: list[str] = []
    while missing:
        response = await admin.create_topics(
            [
                NewTopic(
                    name=t.name,
                    num_partitions=t.spec.partitions,
                    replication_factor=t.replication_factor,
                    topic_configs=t.configs,
                )
                for t in missing
            ]
        )
        retry: list[TopicLayout] = []
        failures: list[str] = []
        by_name = {t.name: t for t in missing}
        for topic, code, message in _topic_errors(response):
            if code == 0:
                created.append(topic)
            elif code == _TOPIC_ALREADY_EXISTS:
                pass
            elif code == _INVALID_REPLICATION_FACTOR and loop.time() < deadline:
                retry.append(by_name[topic])
            else:
                failures.append(f"{topic}: {_error(code, message)}")
        if failures:
            raise TopicSetupError(
                "could not create topics (KAFKA_REPLICATION_FACTOR="
                f"{missing[0].replication_factor}):\n" + "\n".join(failures)
            )
        if retry:
            log.info(
                "fewer brokers than the replication factor yet; waiting to create topics",
                extra={"topics": [t.name for t in retry]},
            )
            await asyncio.sleep(_RETRY_S)
        missing = retry
    if created:
        log.info("topics created", extra={"topics": created})
    return created


def _topic_errors(response: Any) -> list[tuple[str, int, str | None]]:
    out = []
    for entry in response.to_object()["topic_errors"]:
        out.append((entry["topic"], entry["error_code"], entry.get("error_message")))
    return out


async def _observe(
    admin: AIOKafkaAdminClient, names: list[str], deadline: float
) -> dict[str, ObservedTopic]:
    """Partitions, replicas and configs of ``names``. A topic created a moment ago may be
    unknown yet to the broker a request goes to: it is asked again until the deadline."""
    loop = asyncio.get_running_loop()
    while True:
        described = {t["topic"]: t for t in await admin.describe_topics(names)}
        pending = [
            f"{n}: {_error(described[n]['error_code'], None)}" if n in described else n
            for n in names
            if n not in described
            or described[n]["error_code"] != 0
            or not described[n]["partitions"]
        ]
        if not pending:
            configs, unknown = await _configs(admin, names)
            pending = [f"{n}: describe configs: UnknownTopicOrPartitionError" for n in unknown]
        if not pending:
            break
        if loop.time() > deadline:
            raise TopicSetupError("topics not available:\n" + "\n".join(pending))
        await asyncio.sleep(_RETRY_S / 4)
    observed = {}
    for name in names:
        partitions = described[name]["partitions"]
        current, overrides = configs[name]
        observed[name] = ObservedTopic(
            name=name,
            partitions=len(partitions),
            replication_factor=min(len(p["replicas"]) for p in partitions),
            configs=current,
            overrides=overrides,
        )
    return observed


async def _configs(
    admin: AIOKafkaAdminClient, names: list[str]
) -> tuple[dict[str, tuple[dict[str, str], dict[str, str]]], list[str]]:
    """Per topic: every config's current value and the topic's own (dynamic) configs;
    and the topics the answering broker does not know yet."""
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    )
    out: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    unknown: list[str] = []
    for response in responses:
        for resource in response.to_object()["resources"]:
            name = resource["resource_name"]
            if resource["error_code"] == _UNKNOWN_TOPIC_OR_PARTITION:
                unknown.append(name)
                continue
            if resource["error_code"] != 0:
                raise TopicSetupError(
                    f"describe configs of {name}: "
                    + _error(resource["error_code"], resource["error_message"])
                )
            current: dict[str, str] = {}
            overrides: dict[str, str] = {}
            for entry in resource["config_entries"]:
                key, value = entry["config_names"], entry["config_value"]
                if value is None:
                    continue
                current[key] = value
                own = (
                    entry["config_source"] == _DYNAMIC_TOPIC_CONFIG
                    if "config_source" in entry
                    else not entry["is_default"]
                )
                if own:
                    overrides[key] = value
            out[name] = (current, overrides)
    return out, unknown


async def _alter(admin: AIOKafkaAdminClient, alterations: dict[str, dict[str, str]]) -> None:
    """Write each topic's complete config set (AlterConfigs replaces it whole; aiokafka
    has no incremental variant)."""
    responses = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n, c) for n, c in alterations.items()]
    )
    failures = [
        f"{r['resource_name']}: {_error(r['error_code'], r['error_message'])}"
        for response in responses
        for r in response.to_object()["resources"]
        if r["error_code"] != 0
    ]
    if failures:
        raise TopicSetupError("could not alter topic configs:\n" + "\n".join(failures))
