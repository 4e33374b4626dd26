"""FerretDB (the MongoDB wire protocol on SQLite) on a loopback port, from the binary
provisioned into ``.local/bin/ferretdb``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from devtools import REPO_ROOT
from devtools.ports import HOST
from devtools.probes import mongo_answers
from devtools.provision import ProvisionError, ferretdb_binary
from devtools.server import Server


class FerretDBServer(Server):
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
            raise ProvisionError(f"{binary} is missing: run `make provision`")
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
        return mongo_answers(HOST, self.port)
