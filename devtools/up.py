"""`make up`: the whole system in the foreground on the embedded defaults.

Starts Kafka and FerretDB (unless KAFKA_BOOTSTRAP_SERVERS / MONGO_URL point elsewhere),
creates the topics, starts the Amazon sandbox (unless SPAPI_ENDPOINT points elsewhere) and
every service as its own process, prefixes their output with their name, runs the demo
(unless AMAZON_JOBS_DEMO=0), and stops everything on Ctrl-C / SIGTERM.

A process that exits, whatever the reason, is started again (docs/design.md §17), after a
pause that doubles from 1 s up to 30 s while it keeps failing and starts afresh once it
has run for a minute; the console says so, with the exit code and the new pid.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devtools import REPO_ROOT
from devtools.ferretdb_server import FerretDBServer
from devtools.kafka_server import KafkaServer
from devtools.processes import ChildProcess
from devtools.provision import provision
from shared.kafka.admin import ensure_topics

SERVICES = ("throttle", "submitter", "poller", "applier", "scheduler", "notifier", "api")
COLOURS = ("36", "33", "35", "32", "34", "31", "96")

BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
STEADY_S = 60.0  # a process that ran this long had recovered: its next pause is the first
# Services stop within STOP_TIMEOUT_S (4.5 s) and a little grace; then they are killed.
STOP_WAIT_S = 10.0
OUTPUT_DRAIN_S = 2.0


@dataclass
class Child:
    process: ChildProcess
    colour: str
    restarts: int = 0
    exits: list[int] = field(default_factory=list)
    pump: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.process.name

    @property
    def state(self) -> str:
        code = self.process.returncode()
        if self.process.proc is None:
            return "not started"
        if code is None:
            up = time.monotonic() - self.process.started_at
            restarted = f", {self.restarts} restart(s)" if self.restarts else ""
            return f"running (pid {self.process.pid}, up {up:.0f}s{restarted})"
        return f"EXITED with code {code}"


def say(msg: str) -> None:
    print(f"\033[1m[up]\033[0m {msg}", flush=True)


def next_pause(previous: float | None, ran_s: float) -> float:
    """Seconds before starting again a process that ran ``ran_s`` seconds and exited."""
    if previous is None or ran_s >= STEADY_S:
        return BACKOFF_FIRST_S
    return min(previous * 2, BACKOFF_MAX_S)


def describe_exit(code: int) -> str:
    if code < 0:  # asyncio's way of saying "ended by a signal"
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


async def _pump(child: Child) -> None:
    """Copy the child's output to ours, each line after its name."""
    prefix = f"\033[{child.colour}m{child.name:>15} |\033[0m "
    async for line in child.process.output_lines():
        sys.stdout.write(prefix + line.decode("utf-8", "replace"))
        sys.stdout.flush()


def _start(child: Child) -> None:
    child.process.start()
    child.pump = asyncio.create_task(_pump(child))


async def _until(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first; True when it was."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


async def _keep_running(child: Child, stop: asyncio.Event) -> None:
    """Start ``child`` again each time it exits, until ``stop`` is set."""
    pause: float | None = None
    while not stop.is_set():
        exited = asyncio.create_task(child.process.exited())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not exited.done():
            exited.cancel()
            return  # the shutdown stops it
        code = exited.result()
        child.exits.append(code)
        if child.pump is not None:  # its last words before the restart notice
            await asyncio.wait({child.pump}, timeout=OUTPUT_DRAIN_S)
        if stop.is_set():
            return
        pause = next_pause(pause, time.monotonic() - child.process.started_at)
        child.restarts += 1
        say(
            f"\033[31m{child.name} {describe_exit(code)} — restarting in {pause:g} s "
            f"(restart {child.restarts})\033[0m"
        )
        if await _until(stop, pause):
            return
        _start(child)
        say(f"{child.name} restarted (pid {child.process.pid})")


def _report_demo(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        say(f"\033[31mdemo failed: {task.exception()}\033[0m")


def _report_keeper(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        say(f"\033[31m{task.get_name()} failed: {task.exception()!r}\033[0m")


def print_states(children: list[Child]) -> None:
    for child in children:
        mark = "✓" if child.process.alive() else "✗"
        say(f"  {mark} {child.name:<15} {child.state}")


async def _stop_children(children: list[Child]) -> None:
    """SIGTERM in reverse start order, SIGKILL whoever outlives STOP_WAIT_S."""
    running = [c for c in reversed(children) if c.process.alive()]
    for child in running:
        child.process.terminate()
    waits = {asyncio.create_task(c.process.exited()): c for c in running}
    if waits:
        _, late = await asyncio.wait(waits, timeout=STOP_WAIT_S)
        for waiting in late:
            child = waits[waiting]
            say(f"\033[31m{child.name} did not stop within {STOP_WAIT_S:g} s; killed it\033[0m")
            child.process.kill()
        if late:
            await asyncio.wait(late)
    for child in running:
        child.process.stop()  # reaped already: forgets it and ends what it left behind
    pumps = {c.pump for c in children if c.pump is not None}
    if pumps:
        _, stuck = await asyncio.wait(pumps, timeout=OUTPUT_DRAIN_S)
        for task in stuck:
            task.cancel()


LEGACY_LOCAL_PASSPHRASE = "local-development-secret-key-change-me"


def local_secret_key(path: Path) -> str:
    """The local system's credentials key: made once (32 random bytes), kept beside its
    data so the accounts it sealed open after a restart; readable by this user only."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


async def run() -> int:
    env = dict(os.environ)
    env.setdefault("AMAZON_JOBS_TIME_SCALE", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if env.get("AMAZON_JOBS_DEMO", "1") != "0":
        from devtools.demo import DEMO_API_KEYS

        env.setdefault("AMAZON_JOBS_API_KEYS", DEMO_API_KEYS)
    data = Path(env.get("AMAZON_JOBS_DATA", REPO_ROOT / ".local" / "data"))
    if "AMAZON_JOBS_SECRET_KEY" not in env:
        env["AMAZON_JOBS_SECRET_KEY"] = local_secret_key(data / "secret-key")
        # What `make up` used before keys had to be random: its data still opens.
        env.setdefault("AMAZON_JOBS_OLD_SECRET_KEYS", LEGACY_LOCAL_PASSPHRASE)
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
    argvs: dict[str, list[str]] = {}
    if "SPAPI_ENDPOINT" not in env:
        port = env.get("SANDBOX_PORT", "8700")
        sandbox = [py, "-m", "services.amazon_sandbox", "--host", "127.0.0.1", "--port", port]
        argvs["amazon_sandbox"] = sandbox
        env["SPAPI_ENDPOINT"] = f"http://127.0.0.1:{port}"
        env["LWA_ENDPOINT"] = f"http://127.0.0.1:{port}/auth/o2/token"
    argvs.update((name, [py, "-m", f"services.{name}"]) for name in SERVICES)
    # Output through a pipe, each line shown after the child's name (_pump).
    children = [
        Child(ChildProcess(name, argv, log_path=None, env=env), COLOURS[i % len(COLOURS)])
        for i, (name, argv) in enumerate(argvs.items())
    ]

    keepers: list[asyncio.Task[None]] = []
    try:
        for child in children:
            _start(child)
        say("all processes started (each is restarted when it exits):")
        print_states(children)
        for child in children:
            keeper = asyncio.create_task(
                _keep_running(child, stop), name=f"keeping {child.name} running"
            )
            keeper.add_done_callback(_report_keeper)
            keepers.append(keeper)
        demo_task = None
        if env.get("AMAZON_JOBS_DEMO", "1") != "0":
            from devtools.demo import run_demo

            demo_task = asyncio.create_task(run_demo(env, say))
            demo_task.add_done_callback(_report_demo)
        await stop.wait()
        if demo_task is not None:
            demo_task.cancel()
        say("stopping …")
        print_states(children)
        return 0
    finally:
        stop.set()  # no restarts from here on
        await asyncio.gather(*keepers, return_exceptions=True)
        await _stop_children(children)
        for server in reversed(servers):
            await asyncio.to_thread(server.stop)
        say("stopped everything")


def main() -> None:
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
