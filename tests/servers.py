"""Where the test suite gets its real Kafka broker and MongoDB-compatible server.

In order: the addresses in KAFKA_BOOTSTRAP_SERVERS / MONGO_URL when set; containers when
a Docker engine answers; else the servers the project provisions itself (docs/design.md
§9) on free ports, so a test run never collides with a running `make up`. Never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from devtools.ferretdb_server import FerretDBServer
from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.provision import kafka_version, provision


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextlib.contextmanager
def kafka(data_root: Path) -> Iterator[str]:
    if url := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield url
    elif docker_answers():
        from testcontainers.kafka import KafkaContainer

        # the image of the version the project provisions (deploy/kafka/pom.xml)
        image = f"apache/kafka:{kafka_version()[1]}"
        with KafkaContainer(image).with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        provision()
        server = KafkaServer(free_port(), data_root / "kafka")
        server.start()
        try:
            yield f"127.0.0.1:{server.port}"
        finally:
            server.stop()


@contextlib.contextmanager
def mongo(data_root: Path) -> Iterator[str]:
    if url := os.environ.get("MONGO_URL"):
        yield url
    elif docker_answers():
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:7") as container:
            yield container.get_connection_url() + "/amazon_jobs_test?authSource=admin"
    else:
        provision()
        server = FerretDBServer(free_port(), data_root / "ferretdb")
        server.start()
        try:
            yield f"mongodb://127.0.0.1:{server.port}/amazon_jobs_test"
        finally:
            server.stop()


@contextlib.contextmanager
def own_ferretdb(data_dir: Path) -> Iterator[FerretDBServer]:
    """A FerretDB for one module's tests, whatever MONGO_URL says: tests that stop it or
    exhaust it must not take the suite's server with them."""
    provision()
    server = FerretDBServer(free_port(), data_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
