"""The whole system as separate processes, for end-to-end tests and benchmarks.

Every service runs as its own ``python -m services.<name>`` process against the suite's
real broker and MongoDB-compatible server and a real sandbox process, each logging to a
file of its own (printed when a test fails). Services can be killed (SIGKILL) and
restarted to test crash recovery.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devtools.ports import free_port
from devtools.probes import http_answers
from devtools.processes import ChildProcess

ALL_SERVICES = (
    "amazon_sandbox",
    "throttle",
    "submitter",
    "poller",
    "applier",
    "scheduler",
    "notifier",
    "api",
)


def base_name(instance: str) -> str:
    """The service an instance name runs: ``poller.2`` → ``poller``."""
    return instance.split(".", 1)[0]


# 32 bytes as base64, for the suite only (shared/crypto.py takes no passphrase).
SECRET_KEY = "YK/DnzI0c5gqZW21WOaX0bvVjQlDG0DNjVWrk2wC1DU="
ADMIN_KEY = "admin-test-key"


@dataclass
class Stack:
    bootstrap: str
    mongo_url: str
    workdir: Path
    time_scale: float = 600.0
    api_keys: str = f"*:{ADMIN_KEY},shop1:shop1-key,shop2:shop2-key"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    sandbox_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    services: dict[str, ChildProcess] = field(default_factory=dict)

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            MONGO_URL=self.mongo_url,
            SPAPI_ENDPOINT=self.sandbox_url,
            LWA_ENDPOINT=f"{self.sandbox_url}/auth/o2/token",
            AMAZON_JOBS_TIME_SCALE=str(self.time_scale),
            AMAZON_JOBS_SECRET_KEY=SECRET_KEY,
            AMAZON_JOBS_API_KEYS=self.api_keys,
            AMAZON_JOBS_INSTANCE_ID=f"{name}-{self.run_id}",
            API_PORT=str(self.api_port),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def argv(self, name: str) -> list[str]:
        name = base_name(name)
        if name == "amazon_sandbox":
            return [
                sys.executable,
                "-m",
                "services.amazon_sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.sandbox_port),
                "--time-scale",
                str(self.time_scale),
            ]
        if name == "projector":  # the API's projector deployed on its own
            return [sys.executable, "-m", "services.api.projector"]
        return [sys.executable, "-m", f"services.{name}"]

    def _launch(self, name: str) -> ChildProcess:
        """Start instance ``name`` afresh, its output appended to ``workdir/<name>.log``."""
        process = ChildProcess(
            name, self.argv(name), log_path=self.workdir / f"{name}.log", env=self.env(name)
        )
        self.services[name] = process
        process.start()
        return process

    def start(self, names: Iterable[str] = ALL_SERVICES) -> None:
        for name in names:
            self._launch(name)
            if name == "amazon_sandbox":
                self.wait_http(f"{self.sandbox_url}/_sandbox/stats", name)
        if "api" in self.services:
            self.wait_http(f"{self.api_url}/healthz", "api")

    def wait_http(self, url: str, name: str, timeout: float = 60.0) -> None:
        """Until ``url`` answers; :class:`StartError` (the instance stopped) when ``name``
        exits first or ``timeout`` seconds after its start."""
        self.services[name].wait_ready(lambda: http_answers(url), timeout)

    def scale(self, service: str, count: int) -> list[str]:
        """Run ``count`` instances of ``service`` (named ``service``, ``service.2``, …):
        start the missing ones, stop (SIGTERM) the extra ones, newest first. Returns the
        names of the instances stopped."""
        names = [service] + [f"{service}.{n}" for n in range(2, count + 1)]
        for name in names:
            if name not in self.services or not self.services[name].alive():
                self._launch(name)
        extra = sorted(
            (n for n in self.services if base_name(n) == service and n not in names),
            reverse=True,
        )
        for name in extra:
            self.services[name].stop()
        return extra

    def kill(self, name: str) -> None:
        self.services[name].kill()

    def stop(self) -> None:
        for name in reversed(list(self.services)):
            self.services[name].stop()

    def logs(self) -> str:
        return "\n".join(f"----- {n} -----\n{s.log_tail()}" for n, s in self.services.items())
