"""Worker processes as a benchmark watches them: ready or not, and what their metrics say.

A worker is *ready* when its ``/readyz`` answers 200 and its ``worker_partitions`` gauge
(``/metrics``) shows partitions owned and none of them restoring. The gauge matters: the
consumer registers its readiness check only once it starts, after the worker's tails are
read, and until then ``/readyz`` has nothing to wait for and answers 200.

:class:`ProbedStack` is a :class:`devtools.stack.Stack` whose every instance serves its
health endpoint on a port of its own, known in advance.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata

from devtools.ports import free_port
from devtools.stack import Stack
from shared.kafka.clients import new_consumer
from shared.topics import TopicSpec


def partitions(metrics: str) -> dict[str, float]:
    """The ``worker_partitions`` gauge summed over groups: ``{"ready": n, "restoring": m}``."""
    states: dict[str, float] = {}
    for line in metrics.splitlines():
        if not line.startswith("worker_partitions{"):
            continue
        labels, _, value = line.rpartition(" ")
        state = labels.split('state="', 1)[1].split('"', 1)[0]
        states[state] = states.get(state, 0.0) + float(value)
    return states


def is_ready(client: httpx.Client, port: int) -> bool:
    base = f"http://127.0.0.1:{port}"
    try:
        if client.get(f"{base}/readyz").status_code != 200:
            return False
        owned = partitions(client.get(f"{base}/metrics").text)
    except httpx.HTTPError:
        return False
    return owned.get("ready", 0) > 0 and owned.get("restoring", 0) == 0


def metric(client: httpx.Client, port: int, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` (a counter or gauge) that carry ``labels``."""
    text = client.get(f"http://127.0.0.1:{port}/metrics").text
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    total = 0.0
    for line in text.splitlines():
        sample, _, value = line.rpartition(" ")
        if sample.partition("{")[0] == name and all(w in sample for w in wanted):
            total += float(value)
    return total


@dataclass
class ProbedStack(Stack):
    """A stack whose instances serve /readyz and /metrics on ports chosen here."""

    health_ports: dict[str, int] = field(default_factory=dict)

    def env(self, name: str) -> dict[str, str]:
        env = super().env(name)
        env["HEALTH_PORT"] = str(self.health_ports.setdefault(name, free_port()))
        return env

    def pid(self, name: str) -> int:
        pid = self.services[name].pid
        assert pid is not None
        return pid

    def wait_ready(self, names: Iterable[str], timeout_s: float = 600.0) -> float:
        """Wait until every named instance is ready; the monotonic instant it was seen.
        Raises RuntimeError when one exits or the time is up."""
        pending = set(names)
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=2.0) as client:
            while True:
                for name in sorted(pending):
                    if not self.services[name].alive():
                        raise RuntimeError(f"{name} exited:\n{self.services[name].log_tail()}")
                    if is_ready(client, self.health_ports[name]):
                        pending.discard(name)
                if not pending:
                    return time.monotonic()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not ready after {timeout_s:.0f} s: {sorted(pending)}")
                time.sleep(0.05)


async def commit_to_end(bootstrap: str, group: str, topics: Iterable[TopicSpec]) -> None:
    """Commit ``group``'s offsets at the end of every partition of ``topics``, as a group
    that has read everything would have them (the group must have no live member)."""
    consumer = new_consumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t.name, p) for t in topics for p in range(t.partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
    finally:
        await consumer.stop()


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f}"
