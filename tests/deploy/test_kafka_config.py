"""Kafka in the deployment files against the code: the broker version the project
provisions, the production cluster of docker-compose.production.yml (3 brokers of one
KRaft quorum, topics on 3 replicas with min ISR 2), and the topic settings every service
gets from compose and Kubernetes, read by the services' own settings classes."""

from __future__ import annotations

import os
import re
from typing import Any
from unittest import mock

import pytest

from devtools.provision import kafka_version
from shared.kafka.topic_check import layouts
from shared.settings import KafkaTopicSettings
from shared.topics import ALL_TOPICS, FOREVER
from tests.deploy.code_facts import REPO, accepted_env_names, load_yaml, python_module
from tests.deploy.kustomize import render

BASE: dict[str, Any] = load_yaml(REPO / "docker-compose.yml")
PRODUCTION: dict[str, Any] = load_yaml(REPO / "docker-compose.production.yml")
BROKERS = ("kafka", "kafka-2", "kafka-3")
MINUTE_MS = 60_000


def merged(name: str) -> dict[str, Any]:
    """A service as `docker compose -f docker-compose.yml -f …production.yml` sees it:
    environment and depends_on merged key by key, other keys replaced."""
    base = dict(BASE["services"].get(name, {}))
    override = PRODUCTION["services"].get(name, {})
    for key, value in override.items():
        if key in ("environment", "depends_on") and key in base:
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def env(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment as compose gives it when the operator sets none of the
    variables it interpolates (``${NAME:-default}`` is the default)."""
    return {
        str(k): re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", str(v))
        for k, v in service.get("environment", {}).items()
    }


def app_services() -> list[str]:
    return [n for n in BASE["services"] if n not in ("kafka", "mongo", "amazon_sandbox")]


def topic_settings(variables: dict[str, str]) -> KafkaTopicSettings:
    """What a service reads when these are its environment's KAFKA_* variables."""
    with mock.patch.dict(os.environ):
        for key in [k for k in os.environ if k.startswith("KAFKA_")]:
            del os.environ[key]
        os.environ.update({k: v for k, v in variables.items() if k.startswith("KAFKA_")})
        return KafkaTopicSettings()


def longest_retention_ms(settings: KafkaTopicSettings) -> int:
    """Of the delete topics; none may keep messages forever (offsets could not follow)."""
    kept = [int(t.configs["retention.ms"]) for t in layouts(ALL_TOPICS, settings)]
    deleted = [ms for t, ms in zip(ALL_TOPICS, kept, strict=True) if not t.compacted]
    assert FOREVER not in deleted
    return max(deleted)


def test_compose_runs_the_kafka_version_the_project_provisions() -> None:
    version = kafka_version()[1]
    assert version.startswith("4.")
    images = {merged(b)["image"] for b in BROKERS}
    assert images == {BASE["services"]["kafka"]["image"]} == {f"apache/kafka:{version}"}


def test_the_single_broker_keeps_offsets_as_long_as_any_topic_keeps_messages() -> None:
    broker = env(BASE["services"]["kafka"])
    assert broker["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"  # the volume, not /tmp
    services = [env(merged(n)) for n in app_services()]
    local = topic_settings({**env(BASE["services"]["throttle"])})
    assert local.kafka_replication_factor == local.kafka_min_insync_replicas == 1
    assert all(s.get("KAFKA_BOOTSTRAP_SERVERS") for s in services)
    minutes = int(broker["KAFKA_OFFSETS_RETENTION_MINUTES"])
    assert minutes * MINUTE_MS >= longest_retention_ms(local)


def test_production_is_three_brokers_of_one_quorum() -> None:
    brokers = {b: env(merged(b)) for b in BROKERS}
    assert sorted(int(e["KAFKA_NODE_ID"]) for e in brokers.values()) == [1, 2, 3]
    voters = {e["KAFKA_CONTROLLER_QUORUM_VOTERS"] for e in brokers.values()}
    assert voters == {"1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"}
    assert len({e["CLUSTER_ID"] for e in brokers.values()}) == 1
    for name, e in brokers.items():
        assert e["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert e["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        # the brokers' own topics survive a broker too
        assert e["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert e["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
        assert e["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
        assert e["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert e["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert e["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert merged(name)["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    volumes = {merged(b)["volumes"][0].split(":")[0] for b in BROKERS}
    assert len(volumes) == 3 and volumes <= set(BASE["volumes"]) | set(PRODUCTION["volumes"])


def test_production_overrides_only_what_docker_compose_yml_has() -> None:
    unknown = set(PRODUCTION["services"]) - set(BASE["services"]) - set(BROKERS)
    assert not unknown
    assert set(PRODUCTION["services"]) >= {*BROKERS, *app_services()}


@pytest.mark.parametrize("name", app_services())
def test_every_service_runs_on_the_cluster_with_replicated_topics(name: str) -> None:
    service = merged(name)
    variables = env(service)
    module = python_module(service["command"])
    assert module is not None
    unknown = sorted(set(variables) - accepted_env_names(module))
    assert not unknown, f"{name} ({module}) reads no setting named {unknown}"
    assert variables["KAFKA_BOOTSTRAP_SERVERS"].split(",") == [f"{b}:9092" for b in BROKERS]
    settings = topic_settings(variables)
    assert settings.kafka_replication_factor == 3
    assert settings.kafka_min_insync_replicas == 2
    layouts(ALL_TOPICS, settings)  # every retention override names a declared delete topic
    for broker in BROKERS:
        assert service["depends_on"][broker] == {"condition": "service_healthy"}, name
    minutes = int(env(merged("kafka"))["KAFKA_OFFSETS_RETENTION_MINUTES"])
    assert minutes * MINUTE_MS >= longest_retention_ms(settings)


def test_the_k8s_config_carries_the_production_topic_settings() -> None:
    for folder in (REPO / "deploy" / "k8s", REPO / "deploy" / "k8s" / "overlays" / "sandbox"):
        (config,) = [
            o
            for o in render(folder)
            if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "amazon-jobs-config"
        ]
        settings = topic_settings(config["data"])
        assert settings.kafka_replication_factor == 3
        assert settings.kafka_min_insync_replicas == 2
        assert settings.kafka_topic_retention_ms  # stated, for operators to change
        assert {t.name for t in layouts(ALL_TOPICS, settings)} == {t.name for t in ALL_TOPICS}


def test_the_readme_documents_every_kafka_setting() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("## Configuration") : readme.index("## Publishing events")]
    for name in KafkaTopicSettings.model_fields:
        assert f"| `{name.upper()}` |" in table, name
    assert "## Running on a production Kafka cluster" in readme
    assert "offsets.retention.minutes" in readme
