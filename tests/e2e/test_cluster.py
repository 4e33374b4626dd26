"""The whole pipeline on a 3-broker cluster configured as production (every topic on 3
replicas, min ISR 2), each service its own process: one broker is killed in the middle of
a run of jobs, and every job still ends, exactly once, and is applied at Amazon."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.kafka_server import KafkaCluster
from devtools.world import (
    TERMINAL,
    Seller,
    job_events,
    open_shop,
    sandbox_listings,
    sandbox_stats,
    submit,
)
from shared.events import JobEvent
from shared.jobs import JobType
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import EventPublisher
from shared.topics import JOB_EVENTS
from tests.conftest import CLUSTER_TOPICS, cluster_topic_settings, partitions_of
from tests.e2e.conftest import PIPELINE, make_stack
from tests.stack import Stack

pytestmark = pytest.mark.integration

JOBS = 30
SKUS = 20


@pytest.fixture(scope="module")
async def topics(cluster: KafkaCluster) -> str:
    """The cluster, with every topic as production has it (replaces the module broker)."""
    await ensure_topics(cluster.bootstrap_servers, settings=cluster_topic_settings())
    return cluster.bootstrap_servers


@pytest.fixture(scope="module")
def pipeline(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    # Every service creates and checks topics with the cluster's settings, as in production.
    stack = make_stack(topics, mongo_url, test_output_dir / "e2e", None, **CLUSTER_TOPICS)
    try:
        stack.start(PIPELINE)
        yield stack
    finally:
        stack.stop()


def health_port(stack: Stack, name: str) -> int:
    """The health/metrics port the service said it listens on (HEALTH_PORT=0 picks one)."""
    for line in reversed(stack.services[name].log_path.read_text().splitlines()):
        if '"worker ready"' in line:
            port: int = json.loads(line)["health_port"]
            return port
    raise AssertionError(f"{name} never said it was ready:\n{stack.services[name].log_tail()}")


async def metric(stack: Stack, name: str, metric_name: str) -> float:
    async with httpx.AsyncClient() as http:
        body = (await http.get(f"http://127.0.0.1:{health_port(stack, name)}/metrics")).text
    match = re.search(rf"^{metric_name} (\S+)$", body, re.MULTILINE)
    assert match, f"{name} exposes no {metric_name}"
    return float(match.group(1))


async def test_a_broker_killed_mid_run_loses_and_repeats_no_job(
    cluster: KafkaCluster, pipeline: Stack, publisher: EventPublisher
) -> None:
    sellers = [
        Seller(f"kc{n}", shop_id=f"shop-kc{n}", catalog_size=SKUS, listed=SKUS, orders=0)
        for n in range(2)
    ]
    for seller in sellers:
        await open_shop(pipeline.sandbox_url, publisher, seller)
    # job i sets SKU i//2 of seller i%2 to i + 1: each SKU once, so Amazon must show every
    # job, each by a feed (a stock-out of one SKU would go by patchListingsItem instead)
    jobs = [
        sellers[i % 2].request(
            JobType.UPDATE_QTY,
            job_id=f"kc-{i:02d}",
            items=[{"sku": sellers[i % 2].sku(i // 2), "quantity": i + 1}],
        )
        for i in range(JOBS)
    ]
    ids = {j.job_id for j in jobs}

    await submit(publisher, *jobs[:10])
    # the pipeline is under way: some feed has gone to Amazon
    await job_events(pipeline.bootstrap, {jobs[0].job_id}, timeout_s=120, until_terminal=True)

    # the broker that leads the most partitions of amazon.job-events
    leaders = Counter(
        p["leader"] for p in await partitions_of(cluster.bootstrap_servers, JOB_EVENTS.name)
    )
    victim = leaders.most_common(1)[0][0]
    cluster.kill_node(victim)
    try:
        for start in range(10, JOBS, 5):  # the rest arrives while the broker is dead
            await submit(publisher, *jobs[start : start + 5])
            await asyncio.sleep(0.3)  # load pacing, not a wait for anything
        events = await job_events(pipeline.bootstrap, ids, timeout_s=300)
        assert not cluster.node(victim).running(), "the broker stayed dead for the whole run"
        dead = [n for n, s in pipeline.services.items() if not s.alive()]
        assert not dead, f"services that died with the broker: {dead}"
    finally:
        await asyncio.to_thread(cluster.restart_node, victim)

    endings = {
        j: [e.event_type for e in seen if e.event_type in TERMINAL] for j, seen in events.items()
    }
    assert {j: e for j, e in endings.items() if e != ["JobDone"]} == {}
    for job_id, seen in events.items():
        seqs = sorted({e.seq for e in seen if isinstance(e, JobEvent) and not e.IS_ANNOTATION})
        assert seqs == list(range(1, len(seqs) + 1)), (job_id, seqs)

    # Amazon shows every job's quantity
    for seller in sellers:
        listings = await sandbox_listings(pipeline.sandbox_url, seller)
        for job in jobs:
            if job.account_id == seller.account_id:
                (item,) = job.items or []
                assert listings[item["sku"]]["quantity"] == item["quantity"], job.job_id
    # one feed per job, unless the submitter says it had to send one again
    feeds = 0
    for seller in sellers:
        stats = (await sandbox_stats(pipeline.sandbox_url, seller))["createFeed"]
        feeds += stats["calls"] - stats["throttled"] - stats["errors"]
    resubmitted = await metric(pipeline, "submitter", "submitter_resubmitted_total")
    print(
        f"\ncluster test: {JOBS} jobs, broker {victim} killed (it led {leaders[victim]} of "
        f"{JOB_EVENTS.partitions} job-event partitions); {feeds} feeds, {resubmitted:.0f} "
        "resubmitted"
    )
    assert JOBS <= feeds <= JOBS + resubmitted, (feeds, resubmitted)
