"""What the code says that deployment files must agree with: which services exist, which
environment variables each one reads, its consumer group, what the contract fixes.

Everything is read from the code itself (the services/ packages, their pydantic-settings
classes, shared/topics.py), so renaming a service or a setting makes the deployment tests
fail until compose and the manifests follow.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # types-PyYAML: not in dev extras
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

REPO = Path(__file__).resolve().parents[2]

# docs/design.md §8 and §6: names other programs rely on.
CONTRACT_VARIABLES = frozenset(
    {
        "KAFKA_BOOTSTRAP_SERVERS",
        "MONGO_URL",
        "SPAPI_ENDPOINT",
        "LWA_ENDPOINT",
        "AMAZON_JOBS_TIME_SCALE",
        "AMAZON_JOBS_SECRET_KEY",
        "API_PORT",
        "AMAZON_JOBS_API_KEYS",
    }
)
# Settings without which a service must not start: deployment files demand them
# (compose with ${VAR:?message}, Kubernetes from the Secret) instead of defaulting.
REQUIRED_VARIABLES = frozenset({"AMAZON_JOBS_SECRET_KEY", "AMAZON_JOBS_API_KEYS"})

WORKER_HEALTH_PORT = 9000  # HEALTH_PORT in compose and the manifests
API_PORT = 8080  # docs/design.md §6


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_all(text: str) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


@cache
def service_packages() -> tuple[str, ...]:
    """Every ``services/<name>`` that runs as ``python -m services.<name>``."""
    return tuple(sorted(p.parent.name for p in (REPO / "services").glob("*/__main__.py")))


def module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def service_of(module: str) -> str:
    """``services.api.projector`` → ``api``: the package whose settings the module reads."""
    match = re.fullmatch(r"services\.([a-z_]+)(\.[a-z_]+)*", module)
    assert match, f"{module} is not a module under services/"
    return match.group(1)


@cache
def settings_classes(service: str) -> tuple[type[BaseSettings], ...]:
    """The pydantic-settings classes that ``services/<service>/settings.py`` defines."""
    module = importlib.import_module(f"services.{service}.settings")
    found = tuple(
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, BaseSettings) and cls.__module__ == module.__name__
    )
    assert found, f"services/{service}/settings.py defines no settings class"
    return found


def env_names(cls: type[BaseSettings]) -> frozenset[str]:
    """The environment variables a settings class reads (pydantic-settings matches them
    case-insensitively): a field's validation aliases, else its prefixed name."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names.update(c.upper() for c in alias.choices if isinstance(c, str))
        else:
            names.add((prefix + (field.alias or name)).upper())
    return frozenset(names)


def service_env_names(service: str) -> frozenset[str]:
    names: set[str] = set()
    for cls in settings_classes(service):
        names |= env_names(cls)
    return frozenset(names)


def all_env_names() -> frozenset[str]:
    names: set[str] = set()
    for service in service_packages():
        names |= service_env_names(service)
    return frozenset(names)


def accepted_env_names(module: str) -> frozenset[str]:
    """What a container running ``python -m <module>`` may be given."""
    return service_env_names(service_of(module))


def consumer_group(module: str) -> str:
    """The consumer group a service joins: its settings' ``consumer_group`` default."""
    for cls in settings_classes(service_of(module)):
        field = cls.model_fields.get("consumer_group")
        if field is not None and isinstance(field.default, str):
            return field.default
    raise AssertionError(f"{module} has no consumer_group setting")


def python_module(command: list[str]) -> str | None:
    """``["python", "-m", "services.poller", ...]`` → ``services.poller``."""
    if len(command) >= 3 and Path(command[0]).name.startswith("python") and command[1] == "-m":
        return command[2]
    return None


def is_worker(module: str) -> bool:
    """Services that answer on HEALTH_PORT (everything but the API and the sandbox)."""
    return module not in ("services.api", "services.amazon_sandbox")
