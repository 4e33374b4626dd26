"""Apache Kafka 4 on loopback ports, from the jars provisioned into ``.local/kafka/libs``:
one node (KRaft, broker and controller in one JVM) or a cluster of N with a static quorum
and replicated internal topics, as production has.
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from devtools import REPO_ROOT
from devtools.ports import HOST, free_port
from devtools.probes import kafka_answers
from devtools.processes import StartError
from devtools.provision import ProvisionError, java, kafka_jar, kafka_libs_dir
from devtools.server import Server, Started

_KAFKA_STARTED = b"Kafka Server started"

_LOG4J2 = """\
# Written by devtools/kafka_server.py on each start (log4j2 properties format).
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {file}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = {level}
logger.apache.name = org.apache.kafka
logger.apache.level = {level}
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
"""


def new_cluster_id() -> str:
    """A KRaft cluster id as Kafka's ``Uuid`` prints one: 16 random bytes, URL-safe base64
    without padding, never starting with '-' (it would read as a command-line flag)."""
    while True:
        text = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class KafkaServer(Server):
    """One Apache Kafka node in KRaft mode (one JVM is broker and controller).

    Alone (the default) it is a single-node cluster; :class:`KafkaCluster` starts several
    sharing ``voters`` (node id -> controller port) and ``cluster_id``. Internal topics
    are replicated to min(3, nodes), with a minimum ISR of min(2, nodes).

    ``data_dir`` holds ``server.properties``, ``log4j2.properties``, the broker log
    ``kafka.log``, the JVM's stdout/stderr ``kafka.out`` and the partitions in
    ``kraft/``. Storage is formatted only once, so a restart on the same ``data_dir``
    keeps topics and offsets. Ready means: the log says "Kafka Server started" (which a
    KRaft broker logs once the controller has unfenced it) and an ApiVersions request on
    the client listener is answered (ApiVersions needs no authentication).
    """

    name = "kafka"

    def __init__(
        self,
        port: int,
        data_dir: Path,
        *,
        controller_port: int | None = None,
        root: Path = REPO_ROOT,
        heap_mb: int = 512,
        node_id: int = 1,
        voters: Mapping[int, int] | None = None,
        cluster_id: str | None = None,
        scram_users: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(data_dir)
        self.port = port
        self.node_id = node_id
        if voters is not None:
            if node_id not in voters:
                raise ValueError(f"node {node_id} is not among the quorum voters {dict(voters)}")
            if controller_port is not None and controller_port != voters[node_id]:
                raise ValueError(f"node {node_id}: controller_port differs from its voter entry")
            self.controller_port = voters[node_id]
            self.voters = dict(voters)
        else:
            self.controller_port = controller_port if controller_port is not None else free_port()
            self.voters = {node_id: self.controller_port}
        self.cluster_id = cluster_id
        # name -> password: the client listener then takes SASL/SCRAM-SHA-512 only, and
        # the first user is the broker's own (inter-broker) principal and a super user.
        self.scram_users = dict(scram_users) if scram_users else {}
        self.root = root
        self.heap_mb = heap_mb
        self._seen_started = False
        self._log_offset = 0  # where this start's part of the log begins
        self.properties_path = self.data_dir / "server.properties"
        self.log4j_path = self.data_dir / "log4j2.properties"
        self.storage_dir = self.data_dir / "kraft"
        if self.node_id != 1 or len(self.voters) > 1:
            self.name = f"kafka-{self.node_id}"
            self.startup_timeout = 120.0  # none is ready before a quorum of them is up

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def ports(self) -> Sequence[int]:
        return (self.port, self.controller_port)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def output_path(self) -> Path:
        return self.data_dir / "kafka.out"

    def properties(self) -> dict[str, str]:
        nodes = len(self.voters)
        replicas = str(min(3, nodes))
        min_isr = str(min(2, nodes))
        voters = ",".join(f"{n}@{HOST}:{p}" for n, p in sorted(self.voters.items()))
        props = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.storage_dir),
            "num.partitions": "1",
            "default.replication.factor": replicas,
            "min.insync.replicas": min_isr,
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            # a group's offsets outlive the longest topic retention (30 days)
            "offsets.retention.minutes": str(30 * 24 * 60),
            "group.initial.rebalance.delay.ms": "0",
            "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
            "auto.create.topics.enable": "false",
        }
        if self.scram_users:
            props.update(self._sasl_properties())
        if nodes > 1:
            # A killed node leaves the ISRs (and stops holding acks=all writes) once the
            # controller fences it: after 3 s here instead of the default 9 s.
            props["broker.session.timeout.ms"] = "3000"
            props["broker.heartbeat.interval.ms"] = "1000"
            props["replica.lag.time.max.ms"] = "10000"
        return props

    @property
    def listener(self) -> str:
        """The client (and inter-broker) listener's name and security protocol."""
        return "SASL_PLAINTEXT" if self.scram_users else "PLAINTEXT"

    def _sasl_properties(self) -> dict[str, str]:
        """The client listener requires SCRAM: no PLAINTEXT port is left open. The
        controller listener stays PLAINTEXT on its own port (KRaft quorum only)."""
        broker_user, broker_password = next(iter(self.scram_users.items()))
        listeners = (
            f"SASL_PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}"
        )
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{broker_user}" password="{broker_password}";'
        )
        return {
            "listeners": listeners,
            "advertised.listeners": f"SASL_PLAINTEXT://{HOST}:{self.port}",
            "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": jaas,
        }

    def _scram_arguments(self) -> list[str]:
        """``--add-scram`` per user: KRaft stores SCRAM credentials in the metadata log,
        so the broker's own user must exist before it first starts."""
        args: list[str] = []
        for name, password in self.scram_users.items():
            args += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
        return args

    def _classpath(self) -> str:
        libs = kafka_libs_dir(self.root)
        if not kafka_jar(self.root).is_file():
            raise ProvisionError(f"no Kafka jars in {libs}: run `make provision`")
        return f"{libs}/*"

    def _jvm(self, *heap: str) -> list[str]:
        return [
            java(),
            *heap,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_path}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            self._classpath(),
        ]

    def prepare(self) -> None:
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(
            "# Written by devtools/kafka_server.py on each start.\n"
            + "".join(f"{k}={v}\n" for k, v in self.properties().items())
        )
        self.log4j_path.write_text(_LOG4J2.format(level="INFO", file=self.log_path))
        if (self.storage_dir / "meta.properties").is_file():
            return  # already formatted: keep the data
        if self.cluster_id is None:
            self.cluster_id = new_cluster_id()
        tool = [*self._jvm("-Xmx256m", "-XX:TieredStopAtLevel=1"), "kafka.tools.StorageTool"]
        fmt = subprocess.run(
            [
                *tool,
                "format",
                "-t",
                self.cluster_id,
                "-c",
                str(self.properties_path),
                *self._scram_arguments(),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if fmt.returncode != 0:
            raise StartError(f"kafka StorageTool format failed:\n{fmt.stdout}{fmt.stderr}")

    def command(self) -> list[str]:
        heap = f"-Xmx{self.heap_mb}m", f"-Xms{self.heap_mb}m"
        return [*self._jvm(*heap, "-XX:+UseG1GC"), "kafka.Kafka", str(self.properties_path)]

    def spawn(self) -> None:
        if not self.running():
            self._seen_started = False
            self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().spawn()

    def is_ready(self) -> bool:
        if not self._seen_started:
            try:
                with self.log_path.open("rb") as fh:
                    fh.seek(self._log_offset)
                    self._seen_started = _KAFKA_STARTED in fh.read()
            except OSError:
                return False
            if not self._seen_started:
                return False
        return kafka_answers(HOST, self.port)


class KafkaCluster(Started):
    """N Kafka nodes on loopback ports, each broker and controller, with a static quorum
    of all N: replicated topics and a broker to kill, as production has.

    Node ``i`` (1-based) keeps its ports and its ``data_dir/node-i`` across
    :meth:`kill_node` / :meth:`restart_node`, so clients that know
    the bootstrap list find it again. While a majority of nodes runs, the others can be
    stopped and restarted one by one; :meth:`start` spawns them all before waiting,
    since none becomes ready before a quorum is up.
    """

    def __init__(
        self,
        brokers: int,
        data_dir: Path,
        *,
        ports: Sequence[int] | None = None,
        controller_ports: Sequence[int] | None = None,
        root: Path = REPO_ROOT,
        heap_mb: int = 512,
    ) -> None:
        if brokers < 1:
            raise ValueError("a cluster needs at least one broker")
        broker_ports = list(ports) if ports is not None else [free_port() for _ in range(brokers)]
        quorum_ports = (
            list(controller_ports)
            if controller_ports is not None
            else [free_port() for _ in range(brokers)]
        )
        if len(broker_ports) != brokers or len(quorum_ports) != brokers:
            raise ValueError(f"need {brokers} broker ports and {brokers} controller ports")
        if len(set(broker_ports) | set(quorum_ports)) != 2 * brokers:
            raise ValueError("broker and controller ports must all differ")
        self.data_dir = Path(data_dir).resolve()
        voters = {i + 1: quorum_ports[i] for i in range(brokers)}
        cluster_id = self._cluster_id()
        self.nodes = [
            KafkaServer(
                broker_ports[i],
                self.data_dir / f"node-{i + 1}",
                root=root,
                heap_mb=heap_mb,
                node_id=i + 1,
                voters=voters,
                cluster_id=cluster_id,
            )
            for i in range(brokers)
        ]

    def _cluster_id(self) -> str:
        """One id for every node, kept beside them so a restarted cluster is the same."""
        path = self.data_dir / "cluster.id"
        if path.is_file():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = new_cluster_id()
        path.write_text(cluster_id + "\n")
        return cluster_id

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(node.bootstrap_servers for node in self.nodes)

    def node(self, node_id: int) -> KafkaServer:
        """Node ``node_id`` (1-based, as in ``node.id``)."""
        if not 1 <= node_id <= len(self.nodes):
            raise ValueError(f"no node {node_id} in a cluster of {len(self.nodes)}")
        return self.nodes[node_id - 1]

    def running_nodes(self) -> list[KafkaServer]:
        return [node for node in self.nodes if node.running()]

    def start(self) -> Self:
        try:
            for node in self.nodes:
                node.spawn()
            for node in self.nodes:
                node.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        # All at once: stopped one by one, the last node has lost its quorum and waits
        # out its stop timeout for a controller that will not come back.
        for node in self.nodes:
            node.terminate()
        for node in reversed(self.nodes):
            with contextlib.suppress(Exception):
                node.stop()

    def kill_node(self, node_id: int) -> None:
        """SIGKILL: the node vanishes as in a crash or a lost machine."""
        self.node(node_id).kill()

    def restart_node(self, node_id: int) -> KafkaServer:
        """Start a stopped or killed node again (stopping it first if it runs)."""
        node = self.node(node_id)
        node.stop()
        return node.start()

    def __repr__(self) -> str:
        return f"<KafkaCluster {self.bootstrap_servers} {self.data_dir}>"
