"""docker-compose.yml against the code, without a Docker engine: structure, healthchecks,
start order, commands that name real modules and variables that are real settings."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.service import CANCEL_GRACE_S, TEARDOWN_GRACE_S
from shared.settings import ServiceSettings
from tests.deploy.code_facts import (
    API_PORT,
    REPO,
    REQUIRED_VARIABLES,
    WORKER_HEALTH_PORT,
    accepted_env_names,
    is_worker,
    load_yaml,
    module_exists,
    python_module,
    service_packages,
)

INFRASTRUCTURE = ("kafka", "mongo")
COMPOSE: dict[str, Any] = load_yaml(REPO / "docker-compose.yml")
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = {name: spec for name, spec in SERVICES.items() if name not in INFRASTRUCTURE}


def module_of(name: str) -> str:
    module = python_module(OURS[name].get("command", []))
    assert module is not None, f"{name}: command is not `python -m <module>`"
    return module


def environment(name: str) -> dict[str, str]:
    env = OURS[name].get("environment", {})
    assert isinstance(env, dict), f"{name}: use the mapping form of environment"
    return {str(k): str(v) for k, v in env.items()}


def test_the_file_has_the_expected_shape() -> None:
    assert set(COMPOSE) >= {"services", "volumes"}
    assert set(INFRASTRUCTURE) <= set(SERVICES)
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:")
    assert SERVICES["mongo"]["image"].startswith("mongo:")
    for name, spec in OURS.items():
        assert spec.get("image") or spec.get("build"), name
        assert isinstance(spec.get("command"), list), f"{name}: command as an exec list"


def test_every_service_package_runs_in_a_container() -> None:
    modules = {module_of(name) for name in OURS}
    for package in service_packages():
        assert f"services.{package}" in modules, f"no compose service runs services.{package}"
    assert "services.api.projector" in modules


@pytest.mark.parametrize("name", sorted(OURS))
def test_command_names_a_module_that_exists(name: str) -> None:
    module = module_of(name)
    assert module_exists(module), f"{name}: no module {module}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck(name: str) -> None:
    check = SERVICES[name].get("healthcheck")
    assert check and check.get("test"), f"{name} has no healthcheck"
    assert check["test"][0] in ("CMD", "CMD-SHELL")


@pytest.mark.parametrize("name", sorted(set(OURS) - {"amazon_sandbox"}))
def test_services_wait_for_a_healthy_kafka(name: str) -> None:
    depends = OURS[name].get("depends_on")
    assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
    assert depends.get("kafka") == {"condition": "service_healthy"}, name
    for dependency, condition in depends.items():
        assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
        assert condition == {"condition": "service_healthy"}, f"{name} → {dependency}"


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_variable_is_a_setting_of_that_service(name: str) -> None:
    module = module_of(name)
    accepted = accepted_env_names(module)
    unknown = sorted(set(environment(name)) - accepted)
    assert not unknown, f"{name} ({module}) reads no setting named {unknown}"


def test_required_settings_must_be_given() -> None:
    seen: set[str] = set()
    for name in OURS:
        for var, value in environment(name).items():
            if var in REQUIRED_VARIABLES:
                seen.add(var)
                assert re.fullmatch(rf"\$\{{{var}:\?.+\}}", value), (
                    f"{name}: {var} must be ${{{var}:?message}}, not {value!r}"
                )
    assert seen == REQUIRED_VARIABLES


@pytest.mark.parametrize("name", sorted(OURS))
def test_services_that_open_credentials_get_the_secret_key(name: str) -> None:
    if module_of(name) != "services.amazon_sandbox":
        assert "AMAZON_JOBS_SECRET_KEY" in environment(name), name


def test_the_api_gets_its_keys_and_port() -> None:
    env = environment("api")
    assert "AMAZON_JOBS_API_KEYS" in env
    assert env["API_PORT"] == str(API_PORT)
    assert f"{API_PORT}:{API_PORT}" in SERVICES["api"]["ports"]


def _probe_port(name: str) -> int:
    test = " ".join(SERVICES[name]["healthcheck"]["test"])
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", test)
    assert match, f"{name}: healthcheck is not an HTTP probe of localhost"
    return int(match.group(1))


@pytest.mark.parametrize("name", sorted(OURS))
def test_healthchecks_probe_the_port_the_service_listens_on(name: str) -> None:
    module = module_of(name)
    env = environment(name)
    port = _probe_port(name)
    if is_worker(module):
        assert env.get("HEALTH_PORT") == str(port) == str(WORKER_HEALTH_PORT), name
        assert "/healthz" in " ".join(SERVICES[name]["healthcheck"]["test"])
    elif module == "services.api":
        assert port == API_PORT
    else:
        command = OURS[name]["command"]
        assert command[command.index("--port") + 1] == str(port)


@pytest.mark.parametrize("name", sorted(OURS))
def test_every_service_is_started_again_when_it_exits(name: str) -> None:
    # Compose restarts on exit only (never on "unhealthy"): services exit when a part of
    # them dies or a consumer loop stalls, so the policy must cover non-zero exits.
    assert OURS[name].get("restart") in ("always", "unless-stopped", "on-failure"), name


@pytest.mark.parametrize("name", sorted(set(OURS) - {"amazon_sandbox"}))
def test_our_services_are_probed_on_healthz(name: str) -> None:
    check = SERVICES[name]["healthcheck"]
    assert re.search(r"http://127\.0\.0\.1:\d+/healthz'", " ".join(check["test"])), name
    assert _seconds(check["timeout"]) < _seconds(check["interval"]), name
    assert check["retries"] >= 2, f"{name}: one slow answer is not a dead process"


@pytest.mark.parametrize("name", sorted(OURS))
def test_services_get_longer_to_stop_than_they_take(name: str) -> None:
    stopping_s = ServiceSettings().stop_timeout_s + CANCEL_GRACE_S + TEARDOWN_GRACE_S
    grace = _seconds(OURS[name].get("stop_grace_period", "10s"))  # compose's default
    assert grace > stopping_s, f"{name}: killed before it could commit"


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", duration)
    assert match, f"unexpected duration {duration!r}"
    return int(match.group(1)) * {"ms": 0.001, "s": 1.0, "m": 60.0}[match.group(2)]


@pytest.mark.parametrize("name", sorted(set(OURS) - {"amazon_sandbox"}))
def test_scalable_services_declare_replicas(name: str) -> None:
    replicas = OURS[name].get("deploy", {}).get("replicas")
    assert isinstance(replicas, int) and replicas >= 1, f"{name}: deploy.replicas"
