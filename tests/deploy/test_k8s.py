"""deploy/k8s against the code, without a cluster: every object well formed, each
Deployment runs a real module with real settings, probes hit real ports and paths, and each
KEDA ScaledObject scales a real Deployment on a real consumer group and topic."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped, unused-ignore]  # types-jsonschema: not in dev extras
import pytest
from starlette.routing import Route

from devtools.asyncapi import ROLES
from services.amazon_sandbox.app import create_app
from services.amazon_sandbox.settings import SandboxSettings
from shared.health import HealthServer, Liveness, Readiness
from shared.service import CANCEL_GRACE_S, TEARDOWN_GRACE_S
from shared.settings import ServiceSettings
from shared.topics import BY_NAME
from tests.deploy.code_facts import (
    API_PORT,
    REPO,
    REQUIRED_VARIABLES,
    WORKER_HEALTH_PORT,
    accepted_env_names,
    consumer_group,
    is_worker,
    load_yaml_all,
    module_exists,
    python_module,
    service_of,
    service_packages,
)
from tests.deploy.kustomize import Obj, ident, kubectl_render, render

K8S = REPO / "deploy" / "k8s"
BASE = render(K8S)
SANDBOX = render(K8S / "overlays" / "sandbox")
RENDERS = {"base": BASE, "sandbox": SANDBOX}
SECRET_EXAMPLE = load_yaml_all((K8S / "base" / "secret.example.yaml").read_text())[0]
CONFIG_KEYS = {
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_REPLICATION_FACTOR",
    "KAFKA_MIN_INSYNC_REPLICAS",
    "KAFKA_TOPIC_RETENTION_MS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "MONGO_URL",
    "SPAPI_ENDPOINT",
    "LWA_ENDPOINT",
    "AMAZON_JOBS_TIME_SCALE",
    "AMAZON_JOBS_REQUIRE_SIGNED_EVENTS",
}
# Services that consume Kafka in a consumer group and so scale on its lag; the throttle
# is one too, but deliberately not autoscaled (deploy/README.md says why).
LAG_SCALED = {
    "services.submitter",
    "services.poller",
    "services.applier",
    "services.api.projector",
}

NAME = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": NAME,
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
    },
}
PROBE = {
    "type": "object",
    "required": ["httpGet"],
    "properties": {
        "httpGet": {
            "type": "object",
            "required": ["path", "port"],
            "properties": {
                "path": {"type": "string", "pattern": "^/"},
                "port": {"type": ["string", "integer"]},
            },
        },
        "periodSeconds": {"type": "integer", "minimum": 1},
        "failureThreshold": {"type": "integer", "minimum": 1},
    },
}
QUANTITIES = {
    "type": "object",
    "required": ["cpu", "memory"],
    "properties": {"cpu": {"type": ["string", "integer"]}, "memory": {"type": "string"}},
}
CONTAINER = {
    "type": "object",
    "required": [
        "name",
        "image",
        "command",
        "livenessProbe",
        "readinessProbe",
        "resources",
        "ports",
    ],
    "properties": {
        "name": NAME,
        "image": {"type": "string", "pattern": "^amazon-jobs(:[A-Za-z0-9._-]+)?$"},
        "command": {"type": "array", "items": {"type": "string"}, "minItems": 3},
        "livenessProbe": PROBE,
        "readinessProbe": PROBE,
        "startupProbe": PROBE,
        "ports": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["containerPort"],
                "properties": {"containerPort": {"type": "integer"}, "name": {"type": "string"}},
            },
        },
        "resources": {
            "type": "object",
            "required": ["requests", "limits"],
            "properties": {"requests": QUANTITIES, "limits": QUANTITIES},
        },
        "env": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "oneOf": [{"required": ["value"]}, {"required": ["valueFrom"]}],
            },
        },
    },
}
SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("apps/v1", "Deployment"): {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "required": ["selector", "template"],
                "properties": {
                    "replicas": {"type": "integer", "minimum": 1},
                    "selector": {"type": "object", "required": ["matchLabels"]},
                    "template": {
                        "type": "object",
                        "required": ["metadata", "spec"],
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["containers"],
                                "properties": {
                                    "containers": {
                                        "type": "array",
                                        "minItems": 1,
                                        "maxItems": 1,
                                        "items": CONTAINER,
                                    }
                                },
                            }
                        },
                    },
                },
            }
        },
    },
    ("v1", "Service"): {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "required": ["selector", "ports"],
                "properties": {"ports": {"type": "array", "minItems": 1}},
            }
        },
    },
    ("v1", "ConfigMap"): {
        "type": "object",
        "required": ["data"],
        "properties": {"data": {"type": "object", "additionalProperties": {"type": "string"}}},
    },
    ("v1", "Secret"): {
        "type": "object",
        "anyOf": [{"required": ["stringData"]}, {"required": ["data"]}],
    },
    ("keda.sh/v1alpha1", "ScaledObject"): {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": {
                "type": "object",
                "required": ["scaleTargetRef", "minReplicaCount", "maxReplicaCount", "triggers"],
                "properties": {
                    "scaleTargetRef": {"type": "object", "required": ["name"]},
                    "minReplicaCount": {"type": "integer", "minimum": 1},
                    "maxReplicaCount": {"type": "integer", "minimum": 1},
                    "triggers": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["type", "metadata"],
                            "properties": {
                                "type": {"const": "kafka"},
                                "metadata": {
                                    "type": "object",
                                    "required": [
                                        "bootstrapServers",
                                        "consumerGroup",
                                        "topic",
                                        "lagThreshold",
                                    ],
                                    "additionalProperties": {"type": "string"},
                                    "properties": {"lagThreshold": {"pattern": "^[1-9][0-9]*$"}},
                                },
                            },
                        },
                    },
                },
            }
        },
    },
}


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def container(deployment: Obj) -> Obj:
    containers: list[Obj] = deployment["spec"]["template"]["spec"]["containers"]
    return containers[0]


def module_of(deployment: Obj) -> str:
    module = python_module(container(deployment)["command"])
    assert module, f"{deployment['metadata']['name']}: command is not `python -m <module>`"
    return module


def deployments(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    for deployment in of_kind(objects, "Deployment"):
        yield module_of(deployment), deployment


def config_map(objects: list[Obj], name: str) -> dict[str, str]:
    for cm in of_kind(objects, "ConfigMap"):
        if cm["metadata"]["name"] == name:
            data: dict[str, str] = cm["data"]
            return data
    raise AssertionError(f"no ConfigMap {name}")


def secret_keys(objects: list[Obj], name: str) -> set[str]:
    for secret in of_kind(objects, "Secret"):
        if secret["metadata"]["name"] == name:
            return set(secret.get("stringData", {})) | set(secret.get("data", {}))
    assert name == SECRET_EXAMPLE["metadata"]["name"], f"no Secret {name}"
    return set(SECRET_EXAMPLE["stringData"])  # the base leaves the Secret to the operator


def effective_env(objects: list[Obj], c: Obj) -> dict[str, str]:
    """Every variable the container gets, with where from (value, configmap/…, secret/…)."""
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        ref = source.get("configMapRef")
        assert ref is not None, "only ConfigMaps are imported whole (secrets key by key)"
        for key in config_map(objects, ref["name"]):
            env[key] = f"configmap/{ref['name']}"
    for var in c.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        value_from = var["valueFrom"]
        if "secretKeyRef" in value_from:
            ref = value_from["secretKeyRef"]
            # An optional key (the old keys, only while rotating) may be absent.
            assert ref.get("optional") or ref["key"] in secret_keys(objects, ref["name"]), ref
            env[var["name"]] = f"secret/{ref['name']}/{ref['key']}"
        else:
            ref = value_from["configMapKeyRef"]
            assert ref["key"] in config_map(objects, ref["name"]), ref
            env[var["name"]] = f"configmap/{ref['name']}/{ref['key']}"
    return env


def resolve_port(c: Obj, port: str | int) -> int:
    if isinstance(port, int):
        return port
    for p in c["ports"]:
        if p.get("name") == port:
            number: int = p["containerPort"]
            return number
    raise AssertionError(f"{c['name']}: no port named {port}")


def quantity(value: str | int) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|)", str(value))
    assert match, f"unexpected quantity {value!r}"
    return float(match.group(1)) * units[match.group(2)]


# ------------------------------------------------------------------------------ shape


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_every_object_is_well_formed(which: str) -> None:
    objects = RENDERS[which]
    assert len({ident(o) for o in objects}) == len(objects), "duplicate kind/name"
    for obj in objects:
        jsonschema.validate(obj, OBJECT_SCHEMA)
        key = (obj["apiVersion"], obj["kind"])
        assert key in SCHEMAS, f"unexpected {key} {obj['metadata']['name']}"
        jsonschema.validate(obj, SCHEMAS[key])


def test_every_yaml_file_parses() -> None:
    files = sorted(K8S.rglob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        for doc in load_yaml_all(path.read_text()):
            assert isinstance(doc, dict), path
            assert "apiVersion" in doc and "kind" in doc, path


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_kubectl_kustomize_renders_the_same(which: str) -> None:
    folder = K8S if which == "base" else K8S / "overlays" / "sandbox"
    rendered = kubectl_render(folder)
    for obj in rendered:
        if obj["kind"] == "Secret" and "data" in obj:
            data = obj.pop("data")
            obj["stringData"] = {k: base64.b64decode(v).decode() for k, v in data.items()}
    ours = {ident(o): o for o in RENDERS[which]}
    theirs = {ident(o): o for o in rendered}
    assert sorted(ours) == sorted(theirs)
    for key, obj in theirs.items():
        assert obj == ours[key], key


def test_base_runs_every_service_but_the_sandbox_and_the_overlay_adds_it() -> None:
    base = {module for module, _ in deployments(BASE)}
    expected = {f"services.{p}" for p in service_packages()} - {"services.amazon_sandbox"}
    assert base == expected | {"services.api.projector"}
    overlay = {module for module, _ in deployments(SANDBOX)}
    assert overlay == base | {"services.amazon_sandbox"}


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_commands_name_modules_that_exist(which: str) -> None:
    for module, _ in deployments(RENDERS[which]):
        assert module_exists(module), module


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_selectors_match_pod_labels(which: str) -> None:
    for deployment in of_kind(RENDERS[which], "Deployment"):
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), deployment["metadata"]["name"]


# ------------------------------------------------------------------------------ settings


def test_the_config_map_holds_the_shared_settings() -> None:
    assert set(config_map(BASE, "amazon-jobs-config")) == CONFIG_KEYS
    sandbox = config_map(SANDBOX, "amazon-jobs-config")
    assert set(sandbox) == CONFIG_KEYS
    assert sandbox["SPAPI_ENDPOINT"].startswith("http://amazon-sandbox:")


def test_the_secret_holds_the_required_settings() -> None:
    assert SECRET_EXAMPLE["kind"] == "Secret"
    assert set(SECRET_EXAMPLE["stringData"]) == REQUIRED_VARIABLES
    assert secret_keys(SANDBOX, SECRET_EXAMPLE["metadata"]["name"]) == REQUIRED_VARIABLES
    assert not of_kind(BASE, "Secret"), "the base must not ship a Secret with known values"


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_every_variable_is_a_setting_of_that_service(which: str) -> None:
    objects = RENDERS[which]
    for module, deployment in deployments(objects):
        env = effective_env(objects, container(deployment))
        unknown = sorted(set(env) - accepted_env_names(module))
        assert not unknown, f"{deployment['metadata']['name']} ({module}) reads no {unknown}"


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_secrets_come_from_the_secret(which: str) -> None:
    objects = RENDERS[which]
    for module, deployment in deployments(objects):
        env = effective_env(objects, container(deployment))
        for var in REQUIRED_VARIABLES & set(env):
            assert env[var].startswith("secret/"), f"{module}: {var} must come from the Secret"
        if module != "services.amazon_sandbox":
            assert "AMAZON_JOBS_SECRET_KEY" in env, module
        assert ("AMAZON_JOBS_API_KEYS" in env) == (module == "services.api"), module


# ------------------------------------------------------------------------------ probes


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_probes_point_at_the_port_and_paths_each_service_serves(which: str) -> None:
    objects = RENDERS[which]
    for module, deployment in deployments(objects):
        c = container(deployment)
        env = effective_env(objects, c)
        kinds = ("livenessProbe", "readinessProbe", "startupProbe")
        probes = {k: c[k]["httpGet"] for k in kinds if k in c}
        ports = {resolve_port(c, p["port"]) for p in probes.values()}
        if is_worker(module):
            assert env["HEALTH_PORT"] == str(WORKER_HEALTH_PORT), module
            assert ports == {WORKER_HEALTH_PORT}, module
            # Alive is /healthz (progress); ready is /readyz (partitions restored).
            assert probes["livenessProbe"]["path"] == "/healthz", module
            assert probes["startupProbe"]["path"] == "/healthz", module
            assert probes["readinessProbe"]["path"] == "/readyz", module
        elif module == "services.api":
            assert env["API_PORT"] == str(API_PORT)
            assert ports == {API_PORT}
            assert probes["livenessProbe"]["path"] == "/healthz"
            assert probes["readinessProbe"]["path"] == "/readyz"
        else:
            command = c["command"]
            assert ports == {int(command[command.index("--port") + 1])}
            paths = {r.path for r in create_app(SandboxSettings()).routes if isinstance(r, Route)}
            assert {p["path"] for p in probes.values()} <= paths


async def test_the_workers_health_endpoint_answers_the_probe_paths() -> None:
    health = HealthServer(0, liveness=Liveness(), readiness=Readiness())
    port = await health.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
            assert (await client.get("/nothing-here")).status_code == 404
    finally:
        await health.stop()


def probe(c: Obj, kind: str) -> Obj:
    """A probe with Kubernetes' defaults filled in."""
    found: Obj = {"periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3, **c[kind]}
    return found


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_every_pod_is_restarted_when_its_process_exits(which: str) -> None:
    for module, deployment in deployments(RENDERS[which]):
        pod = deployment["spec"]["template"]["spec"]
        assert pod.get("restartPolicy", "Always") == "Always", module


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_probes_restart_a_stuck_service_but_not_a_slow_one(which: str) -> None:
    for module, deployment in deployments(RENDERS[which]):
        c = container(deployment)
        liveness = probe(c, "livenessProbe")
        # One slow answer (a long GC, a busy core) is not a dead process.
        assert liveness["failureThreshold"] >= 2, module
        assert liveness["timeoutSeconds"] < liveness["periodSeconds"], module
        if module == "services.amazon_sandbox":
            continue
        # Our services take over partitions (replays) or connect to MongoDB when they start:
        # a startup probe gives them that time before liveness counts.
        startup = probe(c, "startupProbe")
        assert startup["periodSeconds"] * startup["failureThreshold"] >= 60, module
        readiness = probe(c, "readinessProbe")
        assert readiness["timeoutSeconds"] < readiness["periodSeconds"], module


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_pods_get_longer_to_stop_than_services_take(which: str) -> None:
    settings = ServiceSettings()
    stopping_s = settings.stop_timeout_s + CANCEL_GRACE_S + TEARDOWN_GRACE_S
    for module, deployment in deployments(RENDERS[which]):
        grace = deployment["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        assert grace > stopping_s, f"{module}: killed before it could commit"


@pytest.mark.parametrize("which", sorted(RENDERS))
def test_resources_are_set_and_requests_fit_in_limits(which: str) -> None:
    for module, deployment in deployments(RENDERS[which]):
        resources = container(deployment)["resources"]
        for kind in ("cpu", "memory"):
            request = quantity(resources["requests"][kind])
            limit = quantity(resources["limits"][kind])
            assert 0 < request <= limit, f"{module} {kind}"
        assert quantity(resources["limits"]["memory"]) <= 2**30, f"{module}: a small pod"


def test_the_api_service_reaches_the_api_pods() -> None:
    (service,) = of_kind(BASE, "Service")
    api = next(d for m, d in deployments(BASE) if m == "services.api")
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert resolve_port(container(api), port["targetPort"]) == API_PORT


# ------------------------------------------------------------------------------ autoscaling


def scaled_objects() -> Iterator[tuple[str, Obj]]:
    targets = {d["metadata"]["name"]: m for m, d in deployments(BASE)}
    for scaled in of_kind(BASE, "ScaledObject"):
        name = scaled["spec"]["scaleTargetRef"]["name"]
        assert name in targets, f"ScaledObject {scaled['metadata']['name']} targets no {name}"
        yield targets[name], scaled


def test_each_kafka_consumer_but_the_throttle_has_one_scaled_object() -> None:
    modules = [module for module, _ in scaled_objects()]
    assert sorted(modules) == sorted(LAG_SCALED)
    throttle = next(d for m, d in deployments(BASE) if m == "services.throttle")
    assert throttle["spec"]["replicas"] == 1


def test_scaled_deployments_leave_replicas_to_keda() -> None:
    for module, deployment in deployments(BASE):
        if module in LAG_SCALED:
            assert "replicas" not in deployment["spec"], module


def test_triggers_name_the_services_consumer_group_and_topics() -> None:
    bootstrap = config_map(BASE, "amazon-jobs-config")["KAFKA_BOOTSTRAP_SERVERS"]
    roles = {role.name: role for role in ROLES}
    for module, scaled in scaled_objects():
        role = roles[service_of(module)]
        grouped = {t.name for t in role.grouped}
        spec = scaled["spec"]
        for trigger in spec["triggers"]:
            meta = trigger["metadata"]
            assert meta["consumerGroup"] == consumer_group(module), module
            assert meta["bootstrapServers"] == bootstrap
            topic = BY_NAME.get(meta["topic"])
            assert topic is not None, f"{module}: no topic {meta['topic']}"
            assert topic.name in grouped, f"{module} does not consume {topic.name} in its group"
            assert spec["maxReplicaCount"] <= topic.partitions, module
            assert meta.get("offsetResetPolicy", "latest") == "latest"
        assert spec["minReplicaCount"] >= 1, f"{module}: never scale a job owner to zero"


def test_the_manifests_name_real_files() -> None:
    for path in (K8S / "kustomization.yaml", K8S / "overlays/sandbox/kustomization.yaml"):
        assert Path(path).is_file()
