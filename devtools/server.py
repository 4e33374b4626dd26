"""What a local server (Kafka node, FerretDB) is to devtools: a child process on ports of
its own, with a data directory it keeps across restarts and a probe that says it is up.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from devtools.ports import HOST, port_in_use
from devtools.processes import ChildProcess, StartError


class Started:
    """``with thing:`` starts it (blocking until ready) and stops it on the way out."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Server(Started):
    """Subclasses provide :meth:`command` and :meth:`is_ready`, and optionally
    :meth:`prepare` and :meth:`environment`.

    ``start()`` blocks until ready (or raises :class:`StartError` with the log tail,
    leaving it stopped); ``stop()`` sends SIGTERM to the process group, then SIGKILL after
    ``stop_timeout``; ``kill()`` sends SIGKILL at once.
    """

    name = "server"

    def __init__(
        self, data_dir: Path, *, startup_timeout: float = 90.0, stop_timeout: float = 30.0
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.ready_seconds: float | None = None
        self._child: ChildProcess | None = None

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
        return self._child.pid if self._child is not None else None

    def running(self) -> bool:
        return self._child is not None and self._child.alive()

    def returncode(self) -> int | None:
        return self._child.returncode() if self._child is not None else None

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
            if port_in_use(port):
                raise StartError(f"{self.name}: port {HOST}:{port} is already in use")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.ready_seconds = None
        self.prepare()
        self._child = ChildProcess(
            self.name,
            self.command(),
            log_path=self.output_path,
            env=self.environment(),
            cwd=self.data_dir,
            stop_timeout=self.stop_timeout,
        )
        self._child.start()

    def wait_ready(self) -> None:
        """Poll :meth:`is_ready` until ``startup_timeout`` after the spawn; on failure the
        process is stopped and :class:`StartError` carries the log tail."""
        if self._child is None:
            raise StartError(f"{self.name} was not spawned")
        if self.ready_seconds is not None:
            return
        self.ready_seconds = self._child.wait_ready(
            self.is_ready, self.startup_timeout, tail=self.log_tail
        )

    def terminate(self) -> None:
        """SIGTERM without waiting; :meth:`stop` then waits (and insists)."""
        if self._child is not None:
            self._child.terminate()

    def kill(self) -> None:
        """SIGKILL the process group at once: a crash, as a test wants to survive it."""
        if self._child is not None:
            self._child.kill()

    def stop(self) -> None:
        if self._child is not None:
            self._child.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ports={list(self.ports)} pid={self.pid} {self.data_dir}>"
