"""Provision and run a local Kafka and FerretDB in the foreground (no Docker).

Kafka's jars and the FerretDB binary are installed by devtools/provision.py into
``<repo>/.local/`` (git-ignored); the servers are devtools/kafka_server.py and
devtools/ferretdb_server.py. Command line::

    python -m devtools.infra provision
    python -m devtools.infra run [--kafka-port 9092] [--mongo-port 27017] [--data DIR]
    python -m devtools.infra kafka --port 9092 [--data DIR]
    python -m devtools.infra cluster --brokers 3 [--port 9092] [--controller-port 9192] [--data DIR]
    python -m devtools.infra ferretdb --port 27017 [--data DIR]

Ports default to ``$KAFKA_PORT`` / ``$MONGO_PORT`` when set; data to ``.local/data/``.
A cluster's node i listens on ``port + i - 1`` (controller: ``controller-port + i - 1``)
and keeps its data in ``DIR/cluster/node-i``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from devtools import REPO_ROOT
from devtools.ferretdb_server import FerretDBServer
from devtools.kafka_server import KafkaCluster, KafkaServer
from devtools.processes import StartError
from devtools.provision import ProvisionError, provision
from devtools.server import Server


def _env_port(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"${name} must be a port number, got {value!r}") from None


def _wait_foreground(servers: Sequence[Server], stop_all: Callable[[], None] | None = None) -> int:
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        while not stop.wait(0.5):
            dead = [s for s in servers if not s.running()]
            if dead:
                for s in dead:
                    print(
                        f"{s.name} exited unexpectedly (code {s.returncode()}); log: {s.log_path}",
                        file=sys.stderr,
                    )
                code = 1
                break
    finally:
        if stop_all is not None:
            stop_all()
        else:
            for server in reversed(servers):
                server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received and code == 0:
        print(f"stopped on {signal.Signals(received[0]).name}", flush=True)
    return code


def _announce(server: Server) -> None:
    if isinstance(server, KafkaServer):
        address = server.bootstrap_servers
    elif isinstance(server, FerretDBServer):
        address = server.uri
    else:
        address = "?"
    print(
        f"{server.name:<8} {address:<28} ready in {server.ready_seconds or 0:.1f}s  "
        f"log: {server.log_path}",
        flush=True,
    )


def _serve_cluster(cluster: KafkaCluster) -> int:
    cluster.start()
    for node in cluster.nodes:
        _announce(node)
    print(f"bootstrap: KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers}", flush=True)
    return _wait_foreground(cluster.nodes, cluster.stop)


def _serve(servers: Sequence[Server]) -> int:
    started: list[Server] = []
    try:
        for server in servers:
            server.start()
            started.append(server)
            _announce(server)
    except BaseException:
        for server in reversed(started):
            server.stop()
        raise
    return _wait_foreground(started)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.infra",
        description="Provision and run a local Kafka broker and FerretDB (no Docker).",
    )
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("provision", help="fetch Kafka jars and build FerretDB into .local/")

    data_default = REPO_ROOT / ".local" / "data"
    kafka_port = _env_port("KAFKA_PORT", 9092)
    mongo_port = _env_port("MONGO_PORT", 27017)
    controller_env = os.environ.get("KAFKA_CONTROLLER_PORT", "").strip()
    controller_port = int(controller_env) if controller_env else None

    run = sub.add_parser("run", help="run Kafka and FerretDB in the foreground")
    run.add_argument("--kafka-port", type=int, default=kafka_port)
    run.add_argument("--kafka-controller-port", type=int, default=controller_port)
    run.add_argument("--mongo-port", type=int, default=mongo_port)
    run.add_argument("--data", type=Path, default=data_default)

    kafka = sub.add_parser("kafka", help="run only Kafka in the foreground")
    kafka.add_argument("--port", type=int, default=kafka_port)
    kafka.add_argument("--controller-port", type=int, default=controller_port)
    kafka.add_argument("--data", type=Path, default=data_default)

    cluster = sub.add_parser(
        "cluster", help="run an N-broker Kafka cluster (KRaft, static quorum) in the foreground"
    )
    cluster.add_argument("--brokers", type=int, default=3)
    cluster.add_argument("--port", type=int, default=kafka_port, help="node 1's broker port")
    cluster.add_argument(
        "--controller-port", type=int, default=None, help="node 1's controller port (port+100)"
    )
    cluster.add_argument("--heap-mb", type=int, default=512, help="heap of each node")
    cluster.add_argument("--data", type=Path, default=data_default)

    ferret = sub.add_parser("ferretdb", help="run only FerretDB in the foreground")
    ferret.add_argument("--port", type=int, default=mongo_port)
    ferret.add_argument("--data", type=Path, default=data_default)

    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    try:
        provision(root)
        if args.cmd == "provision":
            return 0
        if args.cmd == "cluster":
            n: int = args.brokers
            first_controller = args.controller_port or args.port + 100
            return _serve_cluster(
                KafkaCluster(
                    n,
                    args.data / "cluster",
                    ports=[args.port + i for i in range(n)],
                    controller_ports=[first_controller + i for i in range(n)],
                    heap_mb=args.heap_mb,
                    root=root,
                )
            )
        servers: list[Server] = []
        if args.cmd in ("run", "kafka"):
            servers.append(
                KafkaServer(
                    args.kafka_port if args.cmd == "run" else args.port,
                    args.data / "kafka",
                    controller_port=(
                        args.kafka_controller_port if args.cmd == "run" else args.controller_port
                    ),
                    root=root,
                )
            )
        if args.cmd in ("run", "ferretdb"):
            port = args.mongo_port if args.cmd == "run" else args.port
            servers.append(FerretDBServer(port, args.data / "ferretdb", root=root))
        return _serve(servers)
    except (ProvisionError, StartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
