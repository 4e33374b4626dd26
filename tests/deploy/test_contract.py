"""The configuration names of the contract (docs/design.md §6, §8) are settings the code
really reads, so renaming one fails here even where no deployment file names it."""

from __future__ import annotations

from tests.deploy.code_facts import (
    CONTRACT_VARIABLES,
    all_env_names,
    consumer_group,
    env_names,
    service_env_names,
    service_packages,
    settings_classes,
)


def test_every_contract_variable_is_read_by_some_service() -> None:
    missing = CONTRACT_VARIABLES - all_env_names()
    assert not missing, f"no settings class reads {sorted(missing)}"


def test_every_worker_reads_the_shared_settings() -> None:
    shared = {
        "KAFKA_BOOTSTRAP_SERVERS",
        "MONGO_URL",
        "SPAPI_ENDPOINT",
        "LWA_ENDPOINT",
        "AMAZON_JOBS_TIME_SCALE",
        "AMAZON_JOBS_SECRET_KEY",
        "HEALTH_PORT",
    }
    for service in service_packages():
        if service != "amazon_sandbox":
            assert shared <= service_env_names(service), service
    assert "AMAZON_JOBS_TIME_SCALE" in service_env_names("amazon_sandbox")


def test_consumer_groups_are_distinct_and_named_for_their_service() -> None:
    groups = {
        s: consumer_group(f"services.{s}") for s in service_packages() if s != "amazon_sandbox"
    }
    assert len(set(groups.values())) == len(groups), groups
    # The api service's only consumer is its projector, deployable on its own.
    named = {"api": "projector"}
    for service, group in groups.items():
        assert group == f"amazon-jobs-{named.get(service, service)}", (service, group)


def test_env_names_follow_prefixes_and_aliases() -> None:
    (sandbox,) = settings_classes("amazon_sandbox")
    names = env_names(sandbox)
    assert {"SANDBOX_PORT", "SANDBOX_FEED_QUEUE_S", "AMAZON_JOBS_TIME_SCALE"} <= names
    assert "PORT" not in names
