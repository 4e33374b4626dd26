"""One job's trace across the services, each its own process exporting by OTLP to an
in-memory receiver: the API request, the submitter's submission and its SP-API calls, the
poller's conclusion and the applier's result are one tree, and the services' log lines
name its trace (docs/design.md §23)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.world import Seller, open_shop
from shared.kafka.producer import EventPublisher
from tests.e2e.conftest import make_stack
from tests.otlp_receiver import OtlpReceiver, ReceivedSpan
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

SELLER = Seller("traced", shop_id="shop1")
SERVICES = ["amazon_sandbox", "throttle", "submitter", "poller", "applier", "api"]


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def traced(
    topics: str, mongo_url: str, test_output_dir: Path, receiver: OtlpReceiver
) -> Iterator[Stack]:
    db_url = mongo_url.rsplit("/", 1)[0] + f"/traced_{uuid.uuid4().hex[:8]}"
    stack = make_stack(
        topics,
        db_url,
        test_output_dir / "e2e",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY="200",  # ms: spans reach the receiver soon after they end
    )
    try:
        stack.start(SERVICES)
        yield stack
    finally:
        stack.stop()


def tree_of(spans: list[ReceivedSpan], trace_id: str) -> dict[str, ReceivedSpan]:
    return {s.span_id: s for s in spans if s.trace_id == trace_id}


async def test_one_jobs_trace_runs_from_the_api_request_to_the_applier(
    traced: Stack, receiver: OtlpReceiver, publisher: EventPublisher
) -> None:
    await open_shop(traced.sandbox_url, publisher, SELLER, synced_skus=range(2))
    job_id = f"traced-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(
        base_url=traced.api_url, timeout=30, headers={"Authorization": "Bearer shop1-key"}
    ) as api:

        async def account_known() -> bool:  # the projection has the account
            return (await api.get(f"/v1/accounts/{SELLER.account_id}/orders")).status_code == 200

        await eventually(account_known, "the account in the API")
        created = await api.post(
            "/v1/jobs",
            json={
                "job_id": job_id,
                "account_id": SELLER.account_id,
                "job_type": "update_qty",
                "items": [{"sku": SELLER.sku(n), "quantity": 7} for n in range(2)],
            },
        )
        assert created.status_code == 202, created.text

        async def done() -> bool:
            r = await api.get(f"/v1/jobs/{job_id}")
            return r.status_code == 200 and r.json()["status"] == "done"

        await eventually(done, f"{job_id} to be done")

    def applied() -> ReceivedSpan | None:
        return next(
            (
                s
                for s in receiver.received()
                if s.name == "applier.apply" and s.attributes.get("job.id") == job_id
            ),
            None,
        )

    apply_span = await eventually(applied, "the applier's span")
    trace_id = apply_span.trace_id

    def whole() -> dict[str, ReceivedSpan] | None:
        tree = tree_of(receiver.received(), trace_id)
        names = {(s.service, s.name) for s in tree.values()}
        wanted = {
            ("api", "POST /v1/jobs"),
            ("submitter", "submitter.submit"),
            ("submitter", "spapi createFeed"),
            ("poller", "poller.conclude"),
            ("applier", "applier.apply"),
        }
        return tree if wanted <= names else None

    tree = await eventually(whole, "every service's spans in the job's trace")
    # One tree: a single root, the API's request, and every other span's parent in it.
    roots = [s for s in tree.values() if not s.parent_id]
    assert [(r.service, r.name) for r in roots] == [("api", "POST /v1/jobs")]
    assert all(s.parent_id in tree for s in tree.values() if s.parent_id)

    def ancestors(span: ReceivedSpan) -> list[str]:
        chain = []
        while span.parent_id:
            span = tree[span.parent_id]
            chain.append(span.name)
        return chain

    # The order of the path: each service's work descends from the one before.
    assert ancestors(apply_span)[-1] == "POST /v1/jobs"
    poller = next(s for s in tree.values() if s.name == "poller.conclude")
    assert "submitter.submit" in ancestors(poller)
    assert "poller.conclude" in ancestors(apply_span)

    # Log lines written for the job name its trace: the submitter's SP-API calls, the
    # applier's "job done".
    def lines(service: str) -> list[dict[str, object]]:
        text = (traced.workdir / f"{service}.log").read_text()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    assert any(
        line.get("trace_id") == trace_id and line.get("operation") == "createFeed"
        for line in lines("submitter")
    ), "the submitter's createFeed line does not name the job's trace"
    assert any(
        line.get("trace_id") == trace_id and line.get("job_id") == job_id
        for line in lines("applier")
    ), "no applier line of the job names its trace"
