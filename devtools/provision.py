"""Kafka's jars, the FerretDB binary and the monitoring rules' checker, installed by the
project's own files into ``<repo>/.local/`` (git-ignored), at the versions the repository
pins.

* Kafka: from Maven Central through ``deploy/kafka/pom.xml`` into ``.local/kafka/libs/``.
* FerretDB: built from the Go module proxy by ``deploy/ferretdb/build.sh`` into
  ``.local/bin/ferretdb``, at ``deploy/ferretdb/version.txt`` plus ``build-id.txt``.
* The monitoring files' checker (``deploy/monitoring/rulecheck``, Go): ``devtools/rulecheck.py``.

All are cached: what is there at the pinned version is not fetched again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from devtools import REPO_ROOT, rulecheck

_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


class ProvisionError(RuntimeError):
    """A server could not be installed, or is not installed."""


def _local(root: Path) -> Path:
    return root / ".local"


def kafka_version(root: Path = REPO_ROOT) -> tuple[str, str]:
    """``(scala_binary_version, kafka_version)`` as pinned in ``deploy/kafka/pom.xml``."""
    props = ET.parse(root / "deploy" / "kafka" / "pom.xml").getroot().find("m:properties", _POM_NS)
    if props is None:
        raise ProvisionError("deploy/kafka/pom.xml has no <properties>")
    scala = props.findtext("m:scala.binary.version", namespaces=_POM_NS)
    kafka = props.findtext("m:kafka.version", namespaces=_POM_NS)
    if not scala or not kafka:
        raise ProvisionError("deploy/kafka/pom.xml lacks kafka.version / scala.binary.version")
    return scala.strip(), kafka.strip()


def kafka_libs_dir(root: Path = REPO_ROOT) -> Path:
    return _local(root) / "kafka" / "libs"


def kafka_jar(root: Path = REPO_ROOT) -> Path:
    scala, kafka = kafka_version(root)
    return kafka_libs_dir(root) / f"kafka_{scala}-{kafka}.jar"


def ferretdb_version(root: Path = REPO_ROOT) -> str:
    """The FerretDB version pinned in ``deploy/ferretdb/version.txt`` and the build of it
    we patch (``build-id.txt``), as the binary reports it: e.g. ``v1.24.2-amazonjobs.1``."""
    here = root / "deploy" / "ferretdb"
    release = (here / "version.txt").read_text().strip()
    return f"{release}-{(here / 'build-id.txt').read_text().strip()}"


def ferretdb_binary(root: Path = REPO_ROOT) -> Path:
    return _local(root) / "bin" / "ferretdb"


def java() -> str:
    """The ``java`` to run Kafka with: ``$JAVA_HOME``'s, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    return _require("java", "install a JDK/JRE 17+")


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ProvisionError(f"{tool!r} not found on PATH; {hint}")
    return path


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise concurrent provisioning (e.g. parallel test sessions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _say(msg: str) -> None:
    print(f"[provision] {msg}", flush=True)


def _installed_ferretdb_version(binary: Path) -> str | None:
    if not binary.is_file():
        return None
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "version":
            return value.strip()
    return None


def _provision_kafka(root: Path) -> None:
    scala, version = kafka_version(root)
    jar = kafka_jar(root)
    libs = kafka_libs_dir(root)
    if jar.is_file():
        _say(f"kafka {version}: cached ({libs})")
        return
    mvn = _require("mvn", "install Maven 3.8+ (apt-get install maven)")
    java()
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    pom = root / "deploy" / "kafka" / "pom.xml"
    _say(f"kafka {version}: fetching kafka_{scala} and dependencies with Maven into {libs}")
    started = time.monotonic()
    cmd = [
        mvn, "-q", "-B", "-f", str(pom), f"-Dkafka.libs.dir={partial}",
        "dependency:copy-dependencies@kafka-libs",
    ]  # fmt: skip
    # Output is captured: Maven 3.8's -q still emits stray ANSI resets on success.
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not (partial / jar.name).is_file():
        output = (result.stdout + result.stderr).replace("\x1b[0m", "").strip()
        raise ProvisionError(f"Maven failed (exit {result.returncode}): {' '.join(cmd)}\n{output}")
    # Swap in atomically-ish, so an interrupted run never looks provisioned.
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    count = sum(1 for _ in libs.glob("*.jar"))
    _say(f"kafka {version}: {count} jars in {time.monotonic() - started:.1f}s")


def _provision_ferretdb(root: Path) -> None:
    want = ferretdb_version(root)
    binary = ferretdb_binary(root)
    have = _installed_ferretdb_version(binary)
    if have == want:
        _say(f"ferretdb {want}: cached ({binary})")
        return
    if have is not None:
        _say(f"ferretdb: {binary} reports {have}, want {want}: rebuilding")
    _require("go", "install Go 1.26+ (https://go.dev/dl/ or apt-get install golang)")
    _say(f"ferretdb {want}: building from the Go module proxy into {binary}")
    started = time.monotonic()
    script = root / "deploy" / "ferretdb" / "build.sh"
    result = subprocess.run(["bash", str(script), str(binary)], check=False)
    if result.returncode != 0:
        raise ProvisionError(f"{script} failed (exit {result.returncode})")
    have = _installed_ferretdb_version(binary)
    if have != want:
        raise ProvisionError(f"{binary} reports version {have!r} after the build, want {want!r}")
    _say(f"ferretdb {want}: built in {time.monotonic() - started:.1f}s")


def provision(root: Path = REPO_ROOT) -> None:
    """Install Kafka's jars and the FerretDB binary under ``root/.local``; cached and idempotent.

    Skips Maven when the pinned kafka jar is already in ``.local/kafka/libs`` and skips
    Go when ``.local/bin/ferretdb --version`` already reports the pinned version.
    """
    with _file_lock(_local(root) / "provision.lock"):
        _provision_kafka(root)
        _provision_ferretdb(root)
        _provision_rulecheck(root)


def provision_rulecheck(root: Path = REPO_ROOT) -> Path:
    """The monitoring files' checker only (tests/deploy/test_monitoring.py)."""
    with _file_lock(_local(root) / "provision.lock"):
        return _provision_rulecheck(root)


def _provision_rulecheck(root: Path) -> Path:
    out = rulecheck.binary(root)
    if out.is_file():
        _say(f"rulecheck: cached ({out})")
        return out
    _require("go", "install Go 1.26+ (https://go.dev/dl/ or apt-get install golang)")
    return rulecheck.build(root)


def provision_missing(root: Path = REPO_ROOT) -> None:
    """:func:`provision` only when the Kafka jar is missing or the FerretDB binary is not
    the pinned build: for benchmarks, which run after ``make provision``. A stale binary
    is rebuilt, never measured under the pinned build's name; the build replaces the file
    by a rename, so servers other runs sharing ``.local`` have started keep running."""
    binary = ferretdb_binary(root)
    if not kafka_jar(root).is_file() or _installed_ferretdb_version(binary) != ferretdb_version(
        root
    ):
        provision(root)
