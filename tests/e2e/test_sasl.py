"""The system on a broker that requires SASL/SCRAM (docs/design.md §8): every client of
every service authenticates from the KAFKA_SASL_* settings, and a wrong password is
refused at once with a clear error instead of being retried as an unreachable broker."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError

from devtools.kafka_server import KafkaServer
from devtools.ports import free_port
from devtools.processes import ChildProcess
from devtools.provision import provision
from devtools.world import Seller, job_events, open_shop, sandbox_listings, submit
from shared.events import JobDone
from shared.jobs import JobType
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import EventPublisher
from shared.kafka.security import KafkaAuthenticationError
from shared.settings import KafkaTopicSettings
from tests.conftest import publisher_on
from tests.e2e.conftest import PIPELINE, make_stack
from tests.stack import ADMIN_KEY, Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

BROKER_USER, BROKER_PASSWORD = "broker", f"broker-{uuid.uuid4().hex}"
USER, PASSWORD = "amazon-jobs", f"svc-{uuid.uuid4().hex}"
WRONG_PASSWORD = f"wrong-{uuid.uuid4().hex}"

SASL_ENV = {
    "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "KAFKA_SASL_USERNAME": USER,
    "KAFKA_SASL_PASSWORD": PASSWORD,
}


@pytest.fixture(scope="module")
def sasl_env() -> Iterator[None]:
    """This module's processes (and the helpers that read topics in this one) connect
    with the service user's credentials; restored afterwards."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SASL_ENV.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="module")
async def topics(servers_root: Path, sasl_env: None) -> AsyncIterator[str]:
    """A broker of its own whose only client listener requires SCRAM-SHA-512."""
    provision()
    server = KafkaServer(
        free_port(),
        servers_root / f"kafka-sasl-{uuid.uuid4().hex[:8]}",
        heap_mb=512,
        scram_users={BROKER_USER: BROKER_PASSWORD, USER: PASSWORD},
    )
    await asyncio.to_thread(server.start)
    try:
        await ensure_topics(server.bootstrap_servers)
        yield server.bootstrap_servers
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture(scope="module")
async def publisher(topics: str) -> AsyncIterator[EventPublisher]:
    async with publisher_on(topics) as publisher:
        yield publisher


@pytest.fixture(scope="module")
def pipeline(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    stack = make_stack(topics, mongo_url, test_output_dir / "e2e-sasl", None, **SASL_ENV)
    try:
        stack.start([*PIPELINE, "api"])
        yield stack
    finally:
        stack.stop()


async def test_a_job_runs_end_to_end_with_credentials(
    pipeline: Stack, publisher: EventPublisher
) -> None:
    seller = Seller("sasl", shop_id="shop-sasl")
    await open_shop(pipeline.sandbox_url, publisher, seller)
    job = seller.request(JobType.UPDATE_QTY, items=[{"sku": seller.sku(0), "quantity": 3}])
    await submit(publisher, job)

    events = (await job_events(pipeline.bootstrap, {job.job_id}))[job.job_id]
    assert isinstance(events[-1], JobDone)
    assert (await sandbox_listings(pipeline.sandbox_url, seller))[seller.sku(0)]["quantity"] == 3
    # The API's projector read it over SASL too.
    async with httpx.AsyncClient(
        base_url=pipeline.api_url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    ) as http:

        async def shown_done() -> bool:
            shown = await http.get(f"/v1/jobs/{job.job_id}")
            return shown.status_code == 200 and shown.json()["status"] == "done"

        assert await eventually(shown_done, "the job shown done by the API")


async def test_a_wrong_password_is_refused_with_a_clear_error(topics: str) -> None:
    wrong = KafkaTopicSettings(kafka_sasl_password=WRONG_PASSWORD)
    with pytest.raises(KafkaAuthenticationError) as refused:
        await ensure_topics(topics, settings=wrong)
    message = str(refused.value)
    assert "refused the credentials" in message
    assert f"user {USER!r}" in message
    assert WRONG_PASSWORD not in message


async def test_a_client_without_credentials_gets_nothing(topics: str) -> None:
    plain = KafkaTopicSettings(kafka_security_protocol="PLAINTEXT")
    with pytest.raises(KafkaConnectionError):
        await ensure_topics(topics, settings=plain, timeout_s=1.0)


async def test_a_service_with_a_wrong_password_exits_saying_why(
    topics: str, mongo_url: str, tmp_path: Path
) -> None:
    stack = make_stack(topics, mongo_url, tmp_path, None, **SASL_ENV)
    env = stack.env("submitter") | {"KAFKA_SASL_PASSWORD": WRONG_PASSWORD}
    process = ChildProcess(
        "submitter",
        [sys.executable, "-m", "services.submitter"],
        log_path=tmp_path / "submitter.log",
        env=env,
    )
    process.start()
    try:
        code = await process.exited()
    finally:
        process.stop()
    log = (tmp_path / "submitter.log").read_text()
    assert code != 0
    assert "refused the credentials" in log
    assert WRONG_PASSWORD not in log
