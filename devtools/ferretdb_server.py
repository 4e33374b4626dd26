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
    ``data_dir/state.json``. Its debug HTTP listener is off. Ready means a ``{ping: 1}``
    command is answered.
    """

    name = "ferretdb"

    def __init__(
        self,
        port: int,
        data_dir: Path,
        *,
        root: Path = REPO_ROOT,
    ) -> None:
        super().__init__(data_dir, startup_timeout=30.0, stop_timeout=15.0)
        self.port = port
        self.root = root

    @property
    def uri(self) -> str:
        return f"mongodb://{HOST}:{self.port}/"

    @property
    def ports(self) -> Sequence[int]:
        return (self.port,)

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
        return [
            str(binary),
            "--handler=sqlite",
            # WAL without an fsync per commit: a process crash loses nothing, a power cut
            # may lose the last commits of a local or test database; writes are 2x faster.
            f"--sqlite-url=file:{self.sqlite_dir}/?_pragma=synchronous(normal)",
            f"--state-dir={self.data_dir}",
            f"--listen-addr={HOST}:{self.port}",
            "--debug-addr=-",  # off: several instances never fight over its default :8088
            "--log-level=warn",
            "--telemetry=disable",
        ]

    def is_ready(self) -> bool:
        return mongo_answers(HOST, self.port)
