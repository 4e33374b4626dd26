"""Local infrastructure for development and tests: a real Kafka broker and a real FerretDB.

No Docker: both are provisioned by the project's own files into ``<repo>/.local/``
(git-ignored) and run as plain child processes.

* Kafka 4 (KRaft, each node broker+controller in one JVM; one node, or a cluster of N
  with a static quorum and replicated internal topics): the jars come from Maven Central
  through ``deploy/kafka/pom.xml`` into ``.local/kafka/libs/``.
* FerretDB (MongoDB wire protocol on SQLite): built from the Go module proxy by
  ``deploy/ferretdb/build.sh`` into ``.local/bin/ferretdb``.

Command line::

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
import atexit
import base64
import contextlib
import ctypes
import fcntl
import itertools
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "REPO_ROOT",
    "FerretDBServer",
    "InfraError",
    "KafkaCluster",
    "KafkaServer",
    "ManagedProcess",
    "ferretdb_binary",
    "ferretdb_version",
    "free_port",
    "kafka_libs_dir",
    "kafka_version",
    "main",
    "new_cluster_id",
    "provision",
    "provision_missing",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"

_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


class InfraError(RuntimeError):
    """Provisioning failed, or a server did not start."""


# --------------------------------------------------------------------------- paths and versions


def _local(root: Path) -> Path:
    return root / ".local"


def kafka_version(root: Path = REPO_ROOT) -> tuple[str, str]:
    """``(scala_binary_version, kafka_version)`` as pinned in ``deploy/kafka/pom.xml``."""
    props = ET.parse(root / "deploy" / "kafka" / "pom.xml").getroot().find("m:properties", _POM_NS)
    if props is None:
        raise InfraError("deploy/kafka/pom.xml has no <properties>")
    scala = props.findtext("m:scala.binary.version", namespaces=_POM_NS)
    kafka = props.findtext("m:kafka.version", namespaces=_POM_NS)
    if not scala or not kafka:
        raise InfraError("deploy/kafka/pom.xml lacks kafka.version / scala.binary.version")
    return scala.strip(), kafka.strip()


def kafka_libs_dir(root: Path = REPO_ROOT) -> Path:
    return _local(root) / "kafka" / "libs"


def _kafka_jar(root: Path) -> Path:
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


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise InfraError("'java' (17+) not found on PATH; install a JDK/JRE")
    return java


def _require(tool: str, hint: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise InfraError(f"{tool!r} not found on PATH; {hint}")
    return path


# --------------------------------------------------------------------------- provisioning


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
    print(f"[infra] {msg}", flush=True)


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
    jar = _kafka_jar(root)
    libs = kafka_libs_dir(root)
    if jar.is_file():
        _say(f"kafka {version}: cached ({libs})")
        return
    mvn = _require("mvn", "install Maven 3.8+ (apt-get install maven)")
    _java()
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
        raise InfraError(f"Maven failed (exit {result.returncode}): {' '.join(cmd)}\n{output}")
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
    _require("go", "install Go 1.24+ (https://go.dev/dl/ or apt-get install golang)")
    _say(f"ferretdb {want}: building from the Go module proxy into {binary}")
    started = time.monotonic()
    script = root / "deploy" / "ferretdb" / "build.sh"
    result = subprocess.run(["bash", str(script), str(binary)], check=False)
    if result.returncode != 0:
        raise InfraError(f"{script} failed (exit {result.returncode})")
    have = _installed_ferretdb_version(binary)
    if have != want:
        raise InfraError(f"{binary} reports version {have!r} after the build, want {want!r}")
    _say(f"ferretdb {want}: built in {time.monotonic() - started:.1f}s")


def provision(root: Path = REPO_ROOT) -> None:
    """Install Kafka's jars and the FerretDB binary under ``root/.local``; cached and idempotent.

    Skips Maven when the pinned kafka jar is already in ``.local/kafka/libs`` and skips
    Go when ``.local/bin/ferretdb --version`` already reports the pinned version.
    """
    with _file_lock(_local(root) / "provision.lock"):
        _provision_kafka(root)
        _provision_ferretdb(root)


def provision_missing(root: Path = REPO_ROOT) -> None:
    """:func:`provision` only when the Kafka jar or the FerretDB binary is missing: for
    benchmarks, which run after ``make provision`` and must not rebuild servers that other
    runs sharing ``.local`` are using."""
    if not _kafka_jar(root).is_file() or not ferretdb_binary(root).is_file():
        provision(root)


# --------------------------------------------------------------------------- processes


def free_port(host: str = HOST) -> int:
    """A TCP port that is free right now on ``host`` (racy by nature, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the servers do, so a TIME_WAIT left by a previous run does not count
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


_live: set[ManagedProcess] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all_at_exit() -> None:
    with _live_lock:
        servers = list(_live)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when this process dies.

    PR_SET_DEATHSIG fires when the *thread* that forked exits, so it is only used when
    starting from the main thread (which lives as long as the process).
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not (
        threading.main_thread()
    ):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_deathsig = 1
    sigterm = int(signal.SIGTERM)

    def hook() -> None:
        prctl(pr_set_deathsig, sigterm, 0, 0, 0)

    return hook


class ManagedProcess:
    """A server child process with its own process group, a log file and a readiness probe.

    Subclasses provide :meth:`command`, optionally :meth:`prepare`, and :meth:`is_ready`.
    ``start()`` blocks until ready (or raises :class:`InfraError` with the log tail);
    ``stop()`` sends SIGTERM to the process group, then SIGKILL after ``stop_timeout``;
    ``kill()`` sends SIGKILL at once.
    Live servers are stopped at interpreter exit, and (Linux, main thread) get SIGTERM
    if this process dies abruptly.
    """

    name = "process"

    def __init__(
        self,
        data_dir: Path,
        *,
        startup_timeout: float = 90.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.ready_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._started_at = 0.0

    # -- to override
    @property
    def log_path(self) -> Path:
        """The file where this server's own log goes."""
        return self.data_dir / f"{self.name}.log"

    @property
    def output_path(self) -> Path:
        """The file that receives the child's stdout and stderr."""
        return self.log_path

    @property
    def ports(self) -> Sequence[int]:
        """The TCP ports the server binds (checked free before start)."""
        return ()

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> Mapping[str, str]:
        return os.environ

    def prepare(self) -> None:
        """Write configuration / initialise storage before the process starts."""

    def is_ready(self) -> bool:
        """Polled until true after the process is spawned."""
        raise NotImplementedError

    # -- lifecycle
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def rss_bytes(self) -> int | None:
        """Resident set size of the server process (Linux ``/proc``), or None."""
        if not self.running() or self._proc is None:
            return None
        try:
            status = Path(f"/proc/{self._proc.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    def log_tail(self, lines: int = 40) -> str:
        chunks: list[str] = []
        for path in dict.fromkeys((self.output_path, self.log_path)):
            try:
                data = path.read_bytes()[-64 * 1024 :].decode("utf-8", "replace")
            except OSError:
                continue
            tail = "\n".join(data.splitlines()[-lines:])
            chunks.append(f"--- {path} (tail) ---\n{tail}")
        return "\n".join(chunks) or "(no log)"

    def start(self) -> Self:
        """Spawn the process and block until it is ready (or raise, leaving it stopped)."""
        if self.running():
            return self
        self.spawn()
        self.wait_ready()
        return self

    def spawn(self) -> None:
        """Prepare and launch the process without waiting for it to be ready.

        A server that needs others to become ready (a node of a KRaft quorum) is spawned
        with its peers first, then each is waited for with :meth:`wait_ready`.
        """
        if self.running():
            return
        for port in self.ports:
            if _port_in_use(HOST, port):
                raise InfraError(f"{self.name}: port {HOST}:{port} is already in use")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._started_at = time.monotonic()
        self.ready_seconds = None
        self.prepare()
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.output_path.open("ab") as out:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                env=dict(self.environment()),
                start_new_session=True,  # own session => own process group
                preexec_fn=_die_with_parent_hook(),
            )
        with _live_lock:
            _live.add(self)

    def wait_ready(self) -> None:
        """Poll :meth:`is_ready` until ``startup_timeout`` after the spawn; on failure the
        process is stopped and :class:`InfraError` carries the log tail."""
        proc = self._proc
        if proc is None:
            raise InfraError(f"{self.name} was not spawned")
        if self.ready_seconds is not None:
            return
        deadline = self._started_at + self.startup_timeout
        try:
            while True:
                code = proc.poll()
                if code is not None:
                    raise InfraError(
                        f"{self.name} exited with code {code} during start-up\n{self.log_tail()}"
                    )
                if self.is_ready():
                    break
                if time.monotonic() > deadline:
                    raise InfraError(
                        f"{self.name} not ready after {self.startup_timeout:.0f}s\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(0.1)
        except BaseException:
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - self._started_at

    def terminate(self) -> None:
        """SIGTERM without waiting; :meth:`stop` then waits (and insists)."""
        if self._proc is not None and self._proc.poll() is None:
            self._signal_group(self._proc, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the process group at once: a crash, as a test wants to survive it."""
        proc = self._proc
        if proc is None:
            return
        try:
            self._signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            self._proc = None
            with _live_lock:
                _live.discard(self)

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                self._signal_group(proc, signal.SIGTERM)
                try:
                    proc.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    self._signal_group(proc, signal.SIGKILL)
                    proc.wait(timeout=10)
            else:
                # the leader is gone, make sure nothing it spawned survives
                self._signal_group(proc, signal.SIGKILL)
        finally:
            self._proc = None
            with _live_lock:
                _live.discard(self)

    @staticmethod
    def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ports={list(self.ports)} pid={self.pid} {self.data_dir}>"


# --------------------------------------------------------------------------- Kafka

_KAFKA_STARTED = b"Kafka Server started"
_KAFKA_API_VERSIONS = 18


def _kafka_api_versions_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """One ApiVersions v0 round trip: the broker's data plane accepts and answers requests."""
    correlation_id = 0x1A2B3C
    client_id = b"devtools-infra"
    body = struct.pack(">hhih", _KAFKA_API_VERSIONS, 0, correlation_id, len(client_id))
    body += client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            payload = _recv_exact(sock, size)
    except (OSError, ConnectionError, struct.error):
        return False
    if len(payload) < 6:
        return False
    got_id, error_code = struct.unpack(">ih", payload[:6])
    return bool(got_id == correlation_id and error_code == 0)


_LOG4J2 = """\
# Written by devtools/infra.py on each start (log4j2 properties format).
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


class KafkaServer(ManagedProcess):
    """One Apache Kafka node in KRaft mode (one JVM is broker and controller).

    Alone (the default) it is a single-node cluster; :class:`KafkaCluster` starts several
    sharing ``voters`` (node id -> controller port) and ``cluster_id``. Internal topics
    are replicated to min(3, nodes), with a minimum ISR of min(2, nodes).

    ``data_dir`` holds ``server.properties``, ``log4j2.properties``, the broker log
    ``kafka.log``, the JVM's stdout/stderr ``kafka.out`` and the partitions in
    ``kraft/``. Storage is formatted only once, so a restart on the same ``data_dir``
    keeps topics and offsets. Ready means: the log says "Kafka Server started" (which a
    KRaft broker logs once the controller has unfenced it) and an ApiVersions request on
    the PLAINTEXT listener is answered.
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
        extra_properties: Mapping[str, str] | None = None,
        log_level: str = "INFO",
        startup_timeout: float = 90.0,
        stop_timeout: float = 30.0,
        node_id: int = 1,
        voters: Mapping[int, int] | None = None,
        cluster_id: str | None = None,
    ) -> None:
        super().__init__(data_dir, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self.port = port
        self.node_id = node_id
        if voters is not None:
            if node_id not in voters:
                raise InfraError(f"node {node_id} is not among the quorum voters {dict(voters)}")
            if controller_port is not None and controller_port != voters[node_id]:
                raise InfraError(f"node {node_id}: controller_port differs from its voter entry")
            self.controller_port = voters[node_id]
            self.voters = dict(voters)
        else:
            self.controller_port = controller_port if controller_port is not None else free_port()
            self.voters = {node_id: self.controller_port}
        self.cluster_id = cluster_id
        self.root = root
        self.heap_mb = heap_mb
        self.extra_properties = dict(extra_properties or {})
        self.log_level = log_level
        self._seen_started = False
        if self.node_id != 1 or len(self.voters) > 1:
            self.name = f"kafka-{self.node_id}"

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

    @property
    def properties_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log4j_path(self) -> Path:
        return self.data_dir / "log4j2.properties"

    @property
    def storage_dir(self) -> Path:
        return self.data_dir / "kraft"

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
        if nodes > 1:
            # A killed node leaves the ISRs (and stops holding acks=all writes) once the
            # controller fences it: after 3 s here instead of the default 9 s.
            props["broker.session.timeout.ms"] = "3000"
            props["broker.heartbeat.interval.ms"] = "1000"
            props["replica.lag.time.max.ms"] = "10000"
        props.update(self.extra_properties)
        return props

    def _classpath(self) -> str:
        libs = kafka_libs_dir(self.root)
        if not _kafka_jar(self.root).is_file():
            raise InfraError(f"no Kafka jars in {libs}: run `python -m devtools.infra provision`")
        return f"{libs}/*"

    def _jvm(self, *heap: str) -> list[str]:
        return [
            _java(),
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
            "# Written by devtools/infra.py on each start.\n"
            + "".join(f"{k}={v}\n" for k, v in self.properties().items())
        )
        self.log4j_path.write_text(_LOG4J2.format(level=self.log_level, file=self.log_path))
        if (self.storage_dir / "meta.properties").is_file():
            return  # already formatted: keep the data
        if self.cluster_id is None:
            self.cluster_id = new_cluster_id()
        tool = [*self._jvm("-Xmx256m", "-XX:TieredStopAtLevel=1"), "kafka.tools.StorageTool"]
        fmt = subprocess.run(
            [*tool, "format", "-t", self.cluster_id, "-c", str(self.properties_path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if fmt.returncode != 0:
            raise InfraError(f"kafka StorageTool format failed:\n{fmt.stdout}{fmt.stderr}")

    def command(self) -> list[str]:
        heap = f"-Xmx{self.heap_mb}m", f"-Xms{self.heap_mb}m"
        return [*self._jvm(*heap, "-XX:+UseG1GC"), "kafka.Kafka", str(self.properties_path)]

    def spawn(self) -> None:
        if not self.running():
            self._seen_started = False
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
        return _kafka_api_versions_ok(HOST, self.port)


class KafkaCluster:
    """N Kafka nodes on loopback ports, each broker and controller, with a static quorum
    of all N: replicated topics and a broker to kill, as production has.

    Node ``i`` (1-based) keeps its ports and its ``data_dir/node-i`` across
    :meth:`stop_node` / :meth:`kill_node` / :meth:`restart_node`, so clients that know
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
        extra_properties: Mapping[str, str] | None = None,
        log_level: str = "INFO",
        startup_timeout: float = 120.0,
        stop_timeout: float = 30.0,
    ) -> None:
        if brokers < 1:
            raise InfraError("a cluster needs at least one broker")
        broker_ports = list(ports) if ports is not None else [free_port() for _ in range(brokers)]
        quorum_ports = (
            list(controller_ports)
            if controller_ports is not None
            else [free_port() for _ in range(brokers)]
        )
        if len(broker_ports) != brokers or len(quorum_ports) != brokers:
            raise InfraError(f"need {brokers} broker ports and {brokers} controller ports")
        if len(set(broker_ports) | set(quorum_ports)) != 2 * brokers:
            raise InfraError("broker and controller ports must all differ")
        self.data_dir = Path(data_dir).resolve()
        voters = {i + 1: quorum_ports[i] for i in range(brokers)}
        cluster_id = self._cluster_id()
        self.nodes = [
            KafkaServer(
                broker_ports[i],
                self.data_dir / f"node-{i + 1}",
                root=root,
                heap_mb=heap_mb,
                extra_properties=extra_properties,
                log_level=log_level,
                startup_timeout=startup_timeout,
                stop_timeout=stop_timeout,
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
            raise InfraError(f"no node {node_id} in a cluster of {len(self.nodes)}")
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

    def stop_node(self, node_id: int) -> None:
        """Controlled shutdown (SIGTERM): leadership moves away first."""
        self.node(node_id).stop()

    def kill_node(self, node_id: int) -> None:
        """SIGKILL: the node vanishes as in a crash or a lost machine."""
        self.node(node_id).kill()

    def restart_node(self, node_id: int) -> KafkaServer:
        """Start a stopped or killed node again (stopping it first if it runs)."""
        node = self.node(node_id)
        node.stop()
        return node.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<KafkaCluster {self.bootstrap_servers} {self.data_dir}>"


# --------------------------------------------------------------------------- FerretDB

_request_ids = itertools.count(1)


def _bson_ping() -> bytes:
    def cstring(s: str) -> bytes:
        return s.encode() + b"\x00"

    db = b"admin"
    elements = b"\x10" + cstring("ping") + struct.pack("<i", 1)
    elements += b"\x02" + cstring("$db") + struct.pack("<i", len(db) + 1) + db + b"\x00"
    return struct.pack("<i", len(elements) + 5) + elements + b"\x00"


def _mongo_ping_ok(host: str, port: int, timeout: float = 2.0) -> bool:
    """One OP_MSG ``{ping: 1}`` round trip answered with ``ok: 1``."""
    op_msg = 2013
    request_id = next(_request_ids) & 0x7FFFFFFF
    body = struct.pack("<I", 0) + b"\x00" + _bson_ping()
    message = struct.pack("<iiii", 16 + len(body), request_id, 0, op_msg) + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(message)
            length, _, response_to, opcode = struct.unpack("<iiii", _recv_exact(sock, 16))
            reply = _recv_exact(sock, length - 16)
    except (OSError, ConnectionError, struct.error):
        return False
    ok_one = b"\x01ok\x00" + struct.pack("<d", 1.0)
    return response_to == request_id and opcode == op_msg and ok_one in reply


class FerretDBServer(ManagedProcess):
    """FerretDB (MongoDB wire protocol) with the SQLite backend, files in ``data_dir/sqlite``.

    Its log (stdout/stderr) goes to ``data_dir/ferretdb.log`` and its state file to
    ``data_dir/state.json``. The debug HTTP listener is off unless ``debug_port`` is
    given, so several instances never fight over FerretDB's default :8088. Ready means a
    ``{ping: 1}`` command is answered.
    """

    name = "ferretdb"

    def __init__(
        self,
        port: int,
        data_dir: Path,
        *,
        root: Path = REPO_ROOT,
        debug_port: int | None = None,
        log_level: str = "warn",
        startup_timeout: float = 30.0,
        stop_timeout: float = 15.0,
    ) -> None:
        super().__init__(data_dir, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        self.port = port
        self.root = root
        self.debug_port = debug_port
        self.log_level = log_level

    @property
    def uri(self) -> str:
        return f"mongodb://{HOST}:{self.port}/"

    @property
    def ports(self) -> Sequence[int]:
        return (self.port,) if self.debug_port is None else (self.port, self.debug_port)

    @property
    def sqlite_dir(self) -> Path:
        return self.data_dir / "sqlite"

    def prepare(self) -> None:
        self.sqlite_dir.mkdir(parents=True, exist_ok=True)

    def environment(self) -> Mapping[str, str]:
        return {**os.environ, "DO_NOT_TRACK": "1"}

    def command(self) -> list[str]:
        binary = ferretdb_binary(self.root)
        if not binary.is_file():
            raise InfraError(f"{binary} is missing: run `python -m devtools.infra provision`")
        debug = "-" if self.debug_port is None else f"{HOST}:{self.debug_port}"
        return [
            str(binary),
            "--handler=sqlite",
            # WAL without an fsync per commit: a process crash loses nothing, a power cut
            # may lose the last commits of a local or test database; writes are 2x faster.
            f"--sqlite-url=file:{self.sqlite_dir}/?_pragma=synchronous(normal)",
            f"--state-dir={self.data_dir}",
            f"--listen-addr={HOST}:{self.port}",
            f"--debug-addr={debug}",
            f"--log-level={self.log_level}",
            "--telemetry=disable",
        ]

    def is_ready(self) -> bool:
        return _mongo_ping_ok(HOST, self.port)


# --------------------------------------------------------------------------- CLI


def _env_port(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"${name} must be a port number, got {value!r}") from None


def _wait_foreground(
    servers: Sequence[ManagedProcess], stop_all: Callable[[], None] | None = None
) -> int:
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


def _announce(server: ManagedProcess) -> None:
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


def _serve(servers: Sequence[ManagedProcess]) -> int:
    started: list[ManagedProcess] = []
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
        servers: list[ManagedProcess] = []
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
    except InfraError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
