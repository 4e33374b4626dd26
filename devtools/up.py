"""`make up`: the whole system in the foreground on the embedded defaults.

Starts Kafka and FerretDB (unless KAFKA_BOOTSTRAP_SERVERS / MONGO_URL point elsewhere),
creates the topics, starts the Amazon sandbox (unless SPAPI_ENDPOINT points elsewhere) and
every service as its own process, prefixes their output with their name, reports any
process that dies, runs the demo (unless AMAZON_JOBS_DEMO=0), and stops everything on
Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools.infra import REPO_ROOT, FerretDBServer, KafkaServer, provision
from shared.kafka.admin import ensure_topics

SERVICES = ("throttle", "submitter", "poller", "applier", "api")
COLOURS = ("36", "33", "35", "32", "34", "31", "96")


@dataclass
class Child:
    name: str
    argv: list[str]
    colour: str
    proc: asyncio.subprocess.Process | None = None
    started: float = 0.0
    exits: list[int] = field(default_factory=list)

    @property
    def state(self) -> str:
        if self.proc is None:
            return "not started"
        if self.proc.returncode is None:
            return f"running (pid {self.proc.pid}, up {time.monotonic() - self.started:.0f}s)"
        return f"EXITED with code {self.proc.returncode}"


def say(msg: str) -> None:
    print(f"\033[1m[up]\033[0m {msg}", flush=True)


async def _pump(child: Child) -> None:
    assert child.proc is not None and child.proc.stdout is not None
    prefix = f"\033[{child.colour}m{child.name:>15} |\033[0m "
    async for line in child.proc.stdout:
        sys.stdout.write(prefix + line.decode("utf-8", "replace"))
        sys.stdout.flush()


async def _start(child: Child, env: dict[str, str]) -> None:
    child.proc = await asyncio.create_subprocess_exec(
        *child.argv,
        env=env,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches us; we stop children in order
    )
    child.started = time.monotonic()


def _report_demo(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        say(f"\033[31mdemo failed: {task.exception()}\033[0m")


def print_states(children: list[Child]) -> None:
    for child in children:
        mark = "✓" if child.proc and child.proc.returncode is None else "✗"
        say(f"  {mark} {child.name:<15} {child.state}")


async def run() -> int:
    env = dict(os.environ)
    env.setdefault("AMAZON_JOBS_TIME_SCALE", "1")
    env.setdefault("AMAZON_JOBS_SECRET_KEY", "local-development-secret-key-change-me")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if env.get("AMAZON_JOBS_DEMO", "1") != "0":
        from devtools.demo import DEMO_API_KEYS

        env.setdefault("AMAZON_JOBS_API_KEYS", DEMO_API_KEYS)
    data = Path(env.get("AMAZON_JOBS_DATA", REPO_ROOT / ".local" / "data"))
    servers: list[KafkaServer | FerretDBServer] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    provision()
    if "KAFKA_BOOTSTRAP_SERVERS" not in env:
        kafka = KafkaServer(int(env.get("KAFKA_PORT", "9092")), data / "kafka")
        say(f"starting Kafka on 127.0.0.1:{kafka.port} (log: {kafka.log_path})")
        await asyncio.to_thread(kafka.start)
        servers.append(kafka)
        env["KAFKA_BOOTSTRAP_SERVERS"] = kafka.bootstrap_servers
    if "MONGO_URL" not in env:
        mongo = FerretDBServer(int(env.get("MONGO_PORT", "27017")), data / "ferretdb")
        say(f"starting FerretDB on 127.0.0.1:{mongo.port} (log: {mongo.log_path})")
        await asyncio.to_thread(mongo.start)
        servers.append(mongo)
        env["MONGO_URL"] = f"mongodb://127.0.0.1:{mongo.port}/amazon_jobs"
    created = await ensure_topics(env["KAFKA_BOOTSTRAP_SERVERS"])
    if created:
        say(f"created {len(created)} topics")

    py = sys.executable
    children: list[Child] = []
    if "SPAPI_ENDPOINT" not in env:
        port = env.get("SANDBOX_PORT", "8700")
        children.append(
            Child(
                "amazon_sandbox",
                [py, "-m", "services.amazon_sandbox", "--host", "127.0.0.1", "--port", port],
                COLOURS[0],
            )
        )
        env["SPAPI_ENDPOINT"] = f"http://127.0.0.1:{port}"
        env["LWA_ENDPOINT"] = f"http://127.0.0.1:{port}/auth/o2/token"
    for i, name in enumerate(SERVICES, start=1):
        children.append(Child(name, [py, "-m", f"services.{name}"], COLOURS[i % len(COLOURS)]))

    pumps = []
    try:
        for child in children:
            await _start(child, env)
            pumps.append(asyncio.create_task(_pump(child)))
        say("all processes started:")
        print_states(children)
        demo_task = None
        if env.get("AMAZON_JOBS_DEMO", "1") != "0":
            from devtools.demo import run_demo

            demo_task = asyncio.create_task(run_demo(env, say))
            demo_task.add_done_callback(_report_demo)
        reported: set[str] = set()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
            for child in children:
                if child.proc and child.proc.returncode is not None and child.name not in reported:
                    reported.add(child.name)
                    say(f"\033[31m{child.name} died with exit code {child.proc.returncode}\033[0m")
                    print_states(children)
        if demo_task is not None:
            demo_task.cancel()
        say("stopping …")
        return 0
    finally:
        for child in reversed(children):
            if child.proc and child.proc.returncode is None:
                child.proc.send_signal(signal.SIGTERM)
        for child in children:
            if child.proc:
                try:
                    await asyncio.wait_for(child.proc.wait(), timeout=25)
                except TimeoutError:
                    child.proc.kill()
        for task in pumps:
            task.cancel()
        for server in reversed(servers):
            await asyncio.to_thread(server.stop)
        say("stopped everything")


def main() -> None:
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
