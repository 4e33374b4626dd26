"""Dependencies are declared exactly as imported, and installed exactly as locked.

- What ``shared``, ``services`` and ``cli`` import is a runtime dependency, and every
  runtime dependency is imported by them; ``devtools``, ``tests`` and ``benchmarks`` may
  also use the ``dev`` extra, whose every entry is imported or is a named tool.
- ``requirements.lock`` (the image's) and ``requirements-dev.lock`` (``make install``'s)
  pin every package with hashes, satisfy pyproject's ranges, and the runtime lock holds
  no test or lint tool; this environment has exactly the versions the dev lock pins.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"shared", "services", "cli", "devtools", "tests", "benchmarks"}
RUNTIME_CODE = ("shared", "services", "cli")
DEV_CODE = ("devtools", "tests", "benchmarks")
# Dev entries nothing imports, and why they are there.
DEV_TOOLS = {
    "pytest-asyncio": "pytest plugin (asyncio_mode = auto)",
    "pytest-timeout": "pytest plugin (timeout = 300)",
    "ruff": "make lint",
    "mypy": "make lint",
    "types-pyyaml": "stubs for mypy",
    "types-jsonschema": "stubs for mypy",
    "uv": "make lock",
}
DEV_ONLY = {"pytest", "ruff", "mypy", "schemathesis", "hypothesis", "jsonschema", "playwright"}
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^ ;\\]+)(?: ; (?P<marker>[^\\]+))?")


def _project() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        "runtime": [Requirement(r) for r in project["dependencies"]],
        "dev": [Requirement(r) for r in project["optional-dependencies"]["dev"]],
    }


def _names(requirements: Iterable[Requirement]) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements}


@cache
def _files_of(dist: str) -> frozenset[str]:
    return frozenset(str(f) for f in importlib.metadata.files(dist) or ())


def _owners_of(module: str, dists: list[str]) -> list[str]:
    """The distributions of a top-level package that hold ``module``: one, except for a
    namespace package that several share (``opentelemetry``), where the module's path
    says which (the longest part of it some distribution holds)."""
    if len(set(dists)) == 1:
        return dists
    parts = module.split(".")
    for n in range(len(parts), 1, -1):
        path = "/".join(parts[:n])
        holders = [
            d
            for d in dists
            if any(f == f"{path}.py" or f.startswith(f"{path}/") for f in _files_of(d))
        ]
        if holders:
            return holders
    return dists


def _imported_distributions(folders: Iterable[str]) -> dict[str, set[str]]:
    """Distribution name → the files importing it, for every third-party import."""
    owners = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    # ``from pkg import mod`` may import a module: its path names the owner.
                    modules = [f"{node.module}.{alias.name}" for alias in node.names]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top in sys.stdlib_module_names or top in FIRST_PARTY:
                        continue
                    assert top in owners, f"{path}: {top} is installed by no distribution"
                    for dist in _owners_of(module, owners[top]):
                        found.setdefault(canonicalize_name(dist), set()).add(
                            str(path.relative_to(ROOT))
                        )
    return found


def _pins(lock: str) -> dict[str, tuple[Version, str | None]]:
    text = (ROOT / lock).read_text()
    pins: dict[str, tuple[Version, str | None]] = {}
    for block in re.split(r"\n(?=\S)", text):
        if block.startswith("#") or not block.strip():
            continue
        match = PIN.match(block)
        assert match, f"{lock}: not a pin: {block.splitlines()[0]}"
        assert "--hash=sha256:" in block, f"{lock}: {match['name']} has no hash"
        pins[canonicalize_name(match["name"])] = (Version(match["version"]), match["marker"])
    return pins


def test_runtime_code_imports_only_runtime_dependencies_and_all_of_them() -> None:
    declared = _names(_project()["runtime"])
    imported = _imported_distributions(RUNTIME_CODE)
    undeclared = {d: sorted(files)[:3] for d, files in imported.items() if d not in declared}
    assert not undeclared, f"imported but not a runtime dependency: {undeclared}"
    assert declared - set(imported) == set(), "declared but never imported by runtime code"


def test_dev_code_imports_only_declared_dependencies_and_every_dev_entry_is_used() -> None:
    project = _project()
    declared = _names(project["runtime"]) | _names(project["dev"])
    imported = _imported_distributions(DEV_CODE)
    undeclared = {d: sorted(files)[:3] for d, files in imported.items() if d not in declared}
    assert not undeclared, f"imported but not declared: {undeclared}"
    unused = _names(project["dev"]) - set(imported) - set(DEV_TOOLS)
    assert not unused, f"dev dependencies nothing imports and no tool needs: {unused}"


@pytest.mark.parametrize(
    ("lock", "groups"),
    [("requirements.lock", ["runtime"]), ("requirements-dev.lock", ["runtime", "dev"])],
)
def test_each_lock_pins_what_pyproject_asks_for(lock: str, groups: list[str]) -> None:
    pins = _pins(lock)
    project = _project()
    for group in groups:
        for requirement in project[group]:
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{lock} does not pin {name}"
            assert pins[name][0] in requirement.specifier, (
                f"{lock} pins {name} {pins[name][0]}, outside {requirement.specifier}"
            )


def test_the_runtime_lock_holds_no_test_or_lint_tool() -> None:
    assert DEV_ONLY & set(_pins("requirements.lock")) == set()


def test_this_environment_is_the_dev_lock() -> None:
    """``make install`` installs from the lock: every pin that applies here is installed
    at exactly its version."""
    wrong = {}
    for name, (version, marker) in _pins("requirements-dev.lock").items():
        if marker is not None and not Marker(marker).evaluate():
            continue
        installed = Version(importlib.metadata.version(name))
        if installed != version:
            wrong[name] = f"{installed} installed, {version} locked"
    assert not wrong, wrong
