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

# SQLite settings (FerretDB adds busy_timeout, journal_mode=wal and auto_vacuum=none):
# - synchronous=normal: WAL without an fsync per commit. A crash of FerretDB or of the
#   machine's processes loses nothing; a power cut may lose the last commits, which the
#   projector writes again from Kafka only if their offsets were not committed yet (a
#   local or test database; production runs MongoDB). Writes are 2x faster.
# - temp_store=memory: the statement journal of every multi-row INSERT in memory, not in
#   a temporary file.
# - wal_autocheckpoint=10000: the WAL is copied back into the database every 10,000
#   pages (40 MB) rather than 1,000, so a page the projector rewrites often (a table's
#   last page, an index's inner pages) is copied once per checkpoint.
SQLITE_PRAGMAS = "&".join(
    f"_pragma={p}"
    for p in ("synchronous(normal)", "temp_store(memory)", "wal_autocheckpoint(10000)")
)


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
        # GOGC=400: Go collects garbage after the heap grows 4x rather than 2x. Every
        # insert allocates the document three times over (BSON, its JSON, SQLite's
        # copy); at the default, collection took a fifth of FerretDB's CPU while the
        # projector caught up (docs/design.md §15), for a heap of tens of MB.
        return {"GOGC": "400", **os.environ, "DO_NOT_TRACK": "1"}

    def command(self) -> list[str]:
        binary = ferretdb_binary(self.root)
        if not binary.is_file():
            raise ProvisionError(f"{binary} is missing: run `make provision`")
        return [
            str(binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{self.sqlite_dir}/?{SQLITE_PRAGMAS}",
            f"--state-dir={self.data_dir}",
            f"--listen-addr={HOST}:{self.port}",
            "--debug-addr=-",  # off: several instances never fight over its default :8088
            "--log-level=warn",
            "--telemetry=disable",
            # Documents per insert transaction (FerretDB's default: 100). The projector
            # inserts a batch's documents per collection in one command; in transactions of
            # 1,000 each index page it touches is written to the WAL once, not ten times.
            "--test-batch-size=1000",
        ]

    def is_ready(self) -> bool:
        return mongo_answers(HOST, self.port)
