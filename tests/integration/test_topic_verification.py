"""ensure_topics against a real broker: existing topics are checked against their
declaration, services refuse to start on a partition count or cleanup policy that differs
(saying how to fix it), and other declared configs are brought to their values."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from devtools import REPO_ROOT
from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.provision import provision
from shared.kafka.admin import TopicMismatch, TopicSetupError, ensure_topics
from shared.settings import KafkaTopicSettings
from shared.topics import DAY_MS, INTERNAL_PREFIX, JOB_EVENTS, THROTTLE_REQUESTS, TopicSpec
from tests.stack import SECRET_KEY
from tests.waiting import eventually

pytestmark = pytest.mark.integration

LOCAL = KafkaTopicSettings(kafka_replication_factor=1, kafka_min_insync_replicas=1)


def name(what: str) -> str:
    return f"{INTERNAL_PREFIX}verify-{what}-{uuid.uuid4().hex[:6]}"


async def precreate(bootstrap: str, topic: str, partitions: int, **configs: str) -> None:
    """The topic as someone else made it: by hand, or by an older version."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(topic, partitions, 1, topic_configs=configs)]
        )
        assert all(e["error_code"] == 0 for e in response.to_object()["topic_errors"])
    finally:
        await admin.close()


async def configs(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
        (resource,) = response.to_object()["resources"]
        return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}
    finally:
        await admin.close()


async def test_a_wrong_partition_count_is_refused_with_the_fix(kafka_bootstrap: str) -> None:
    spec = TopicSpec(name("parts"), 12, key="job_id")
    await precreate(kafka_bootstrap, spec.name, 3)

    with pytest.raises(TopicMismatch) as caught:
        await ensure_topics(kafka_bootstrap, [spec], LOCAL)

    message = str(caught.value)
    assert f"{spec.name} has 3 partition(s), declared 12" in message
    assert (
        f"kafka-topics.sh --bootstrap-server {kafka_bootstrap} --delete --topic {spec.name}"
        in message
    )
    assert f"--alter --topic {spec.name} --partitions 12" in message
    assert caught.value.problems == [p for p in caught.value.problems if spec.name in p]


async def test_more_partitions_than_declared_is_refused_too(kafka_bootstrap: str) -> None:
    spec = TopicSpec(name("more"), 1)
    await precreate(kafka_bootstrap, spec.name, 2)
    with pytest.raises(TopicMismatch, match=r"has 2 partition\(s\), declared 1") as caught:
        await ensure_topics(kafka_bootstrap, [spec], LOCAL)
    # partitions cannot be removed: recreating is the only fix offered
    assert "--partitions" not in str(caught.value)


async def test_a_wrong_cleanup_policy_is_refused_with_the_fix(kafka_bootstrap: str) -> None:
    compacted = TopicSpec(name("compact"), 2, compacted=True)
    deleted = TopicSpec(name("delete"), 2)
    await precreate(kafka_bootstrap, compacted.name, 2, **{"cleanup.policy": "delete"})
    await precreate(kafka_bootstrap, deleted.name, 2, **{"cleanup.policy": "compact"})

    with pytest.raises(TopicMismatch) as caught:
        await ensure_topics(kafka_bootstrap, [compacted, deleted], LOCAL)

    problems = caught.value.problems
    assert len(problems) == 2, problems
    assert f"{compacted.name} has cleanup.policy=delete, declared compact" in problems[0]
    assert (
        f"kafka-configs.sh --bootstrap-server {kafka_bootstrap} --alter --entity-type topics "
        f"--entity-name {compacted.name} --add-config cleanup.policy=compact" in problems[0]
    )
    assert f"{deleted.name} has cleanup.policy=compact, declared delete" in problems[1]
    # nothing was changed behind the operator's back
    assert (await configs(kafka_bootstrap, compacted.name))["cleanup.policy"] == "delete"


async def test_other_configs_are_brought_to_the_declared_values(kafka_bootstrap: str) -> None:
    spec = TopicSpec(name("align"), 2, retention_ms=3 * DAY_MS)
    await precreate(
        kafka_bootstrap,
        spec.name,
        2,
        **{"retention.ms": "1000", "max.message.bytes": "5000", "segment.bytes": "10485760"},
    )

    assert await ensure_topics(kafka_bootstrap, [spec], LOCAL) == []

    found: dict[str, str] = {}

    async def aligned() -> bool:
        found.update(await configs(kafka_bootstrap, spec.name))
        return found["retention.ms"] == str(3 * DAY_MS)

    await eventually(aligned, "the declared retention on the topic")
    assert found["max.message.bytes"] == str(1024 * 1024)
    assert found["min.insync.replicas"] == "1"
    # what an operator set beside the declared configs stays as it was
    assert found["segment.bytes"] == "10485760"


async def test_retention_overrides_apply_and_report_only_leaves_them(
    kafka_bootstrap: str,
) -> None:
    spec = TopicSpec(name("retain"), 1)
    await ensure_topics(kafka_bootstrap, [spec], LOCAL)
    assert (await configs(kafka_bootstrap, spec.name))["retention.ms"] == str(7 * DAY_MS)

    report_only = KafkaTopicSettings(
        kafka_topic_retention_ms={spec.name: 2 * DAY_MS}, kafka_alter_topic_configs=False
    )
    await ensure_topics(kafka_bootstrap, [spec], report_only)
    assert (await configs(kafka_bootstrap, spec.name))["retention.ms"] == str(7 * DAY_MS)

    override = KafkaTopicSettings(kafka_topic_retention_ms={spec.name: 2 * DAY_MS})
    await ensure_topics(kafka_bootstrap, [spec], override)

    async def overridden() -> bool:
        return (await configs(kafka_bootstrap, spec.name))["retention.ms"] == str(2 * DAY_MS)

    await eventually(overridden, "the retention override on the topic")


async def test_fewer_replicas_than_min_isr_is_refused(kafka_bootstrap: str) -> None:
    spec = TopicSpec(name("isr"), 1)
    await precreate(kafka_bootstrap, spec.name, 1)
    production = KafkaTopicSettings(kafka_replication_factor=3, kafka_min_insync_replicas=2)
    with pytest.raises(TopicMismatch, match=r"has 1 replica\(s\) but min\.insync\.replicas 2"):
        await ensure_topics(kafka_bootstrap, [spec], production)


async def test_more_replicas_than_brokers_fails_to_create_saying_why(
    kafka_bootstrap: str,
) -> None:
    spec = TopicSpec(name("rf"), 1)
    production = KafkaTopicSettings(kafka_replication_factor=3, kafka_min_insync_replicas=2)
    with pytest.raises(TopicSetupError, match="InvalidReplicationFactor") as caught:
        await ensure_topics(kafka_bootstrap, [spec], production, timeout_s=2)
    assert spec.name in str(caught.value)
    assert "KAFKA_REPLICATION_FACTOR=3" in str(caught.value)


@pytest.fixture(scope="module")
async def broken_broker(servers_root: Path) -> AsyncIterator[str]:
    """A broker of its own where two topics the services use were made wrong."""
    provision()
    server = KafkaServer(free_port(), servers_root / f"kafka-broken-{uuid.uuid4().hex[:6]}")
    await asyncio.to_thread(server.start)
    try:
        await precreate(server.bootstrap_servers, JOB_EVENTS.name, 4)
        await precreate(
            server.bootstrap_servers, THROTTLE_REQUESTS.name, 12, **{"cleanup.policy": "compact"}
        )
        yield server.bootstrap_servers
    finally:
        await asyncio.to_thread(server.stop)


@pytest.mark.parametrize(
    "module", ["services.throttle", "services.submitter", "services.api", "services.api.projector"]
)
async def test_services_refuse_to_start_on_mismatched_topics(
    broken_broker: str, module: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "KAFKA_"))},
        "KAFKA_BOOTSTRAP_SERVERS": broken_broker,
        "AMAZON_JOBS_SECRET_KEY": SECRET_KEY,
        "AMAZON_JOBS_INSTANCE_ID": f"verify-{uuid.uuid4().hex[:6]}",
        "AMAZON_JOBS_API_KEYS": "*:verify-admin-key",
        "API_PORT": str(free_port()),
        "MONGO_URL": "mongodb://127.0.0.1:9/never-reached",
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", module],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "TopicMismatch" in output
    assert f"{JOB_EVENTS.name} has 4 partition(s), declared 12" in output
    assert f"{THROTTLE_REQUESTS.name} has cleanup.policy=compact, declared delete" in output
    # and it never got as far as working
    assert "worker ready" not in output and "throttle ready" not in output
    assert "Application startup complete" not in output
