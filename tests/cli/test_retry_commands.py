"""`jobs retry`, `jobs bulk-cancel` and `jobs bulk-retry` against a fake API: what they
send, print and exit with."""

from __future__ import annotations

import json

import httpx

from tests.cli.fake_api import FakeApi, error
from tests.cli.test_commands import run

BULK = {
    "matched": 2,
    "results": [
        {"job_id": "j1", "outcome": "requested", "new_job_id": "j1-again"},
        {"job_id": "j2", "outcome": "refused", "reason": "the job is already done"},
    ],
}


def test_retry_prints_the_new_job_and_409_the_reason() -> None:
    api = FakeApi()
    api.route(
        "POST",
        "/v1/jobs/j1/retry",
        httpx.Response(202, json={"job_id": "r1", "retry_of": "j1", "status": "requested"}),
    )
    ok = run(api, "jobs", "retry", "j1", "--new-id", "r1")
    assert ok.exit_code == 0, ok.output
    assert "retry of j1 requested as job r1" in ok.stdout
    assert api.last_json() == {"job_id": "r1"}
    as_json = run(api, "jobs", "retry", "j1", "--json")
    assert json.loads(as_json.stdout) == {"job_id": "r1", "retry_of": "j1"}
    assert api.seen[-1].content == b""  # no --new-id: the API chooses
    reason = "every item of the job succeeded: nothing to retry"
    api.route("POST", "/v1/jobs/j2/retry", error(409, "not_retryable", reason))
    refused = run(api, "jobs", "retry", "j2")
    assert refused.exit_code == 1 and reason in refused.stderr


def test_bulk_cancel_by_filters_sends_the_lists_filters() -> None:
    api = FakeApi()
    api.route("POST", "/v1/jobs/bulk/cancel", httpx.Response(200, json=BULK))
    result = run(
        api,
        "jobs",
        "bulk-cancel",
        "--account",
        "acc-de",
        "--status",
        "created",
        "--from",
        "2026-11-27",
    )
    assert result.exit_code == 0, result.output
    assert api.last_json() == {
        "filter": {
            "account_id": "acc-de",
            "status": "created",
            "created_from": "2026-11-27T00:00:00+00:00",
        }
    }
    assert "Bulk cancel: 2 job(s)" in result.stdout
    assert "requested" in result.stdout and "the job is already done" in result.stdout


def test_bulk_retry_by_ids_json_is_the_apis_answer() -> None:
    api = FakeApi()
    api.route("POST", "/v1/jobs/bulk/retry", httpx.Response(200, json=BULK))
    result = run(
        api, "jobs", "bulk-retry", "--id", "j1", "--id", "j2", "--request-id", "r-1", "--json"
    )
    assert result.exit_code == 0, result.output
    assert api.last_json() == {"job_ids": ["j1", "j2"], "request_id": "r-1"}
    assert json.loads(result.stdout) == {
        "matched": 2,
        "results": [
            {"job_id": "j1", "outcome": "requested", "new_job_id": "j1-again", "reason": None},
            {
                "job_id": "j2",
                "outcome": "refused",
                "new_job_id": None,
                "reason": "the job is already done",
            },
        ],
    }
    table = run(api, "jobs", "bulk-retry", "--id", "j1")
    assert "j1-again" in table.stdout
    # Without one, each run gets its own request id, said so that it can be sent again.
    sent = api.last_json()["request_id"]
    assert sent.startswith("cli-") and f"--request-id {sent}" in table.stderr


def test_show_names_both_ends_of_a_retry() -> None:
    api = FakeApi()
    job = {
        "id": "r1",
        "shop_id": "shop1",
        "account": {"id": "acc-de", "name": None},
        "job_type": "update_qty",
        "status": "done",
        "created_at": "2026-11-27T10:00:00Z",
        "updated_at": "2026-11-27T10:02:00Z",
        "data": {"retry_of": "j1"},
        "retry_of": "j1",
        "retried_by": ["r2", "r3"],
    }
    api.route("GET", "/v1/jobs/r1", httpx.Response(200, json=job))
    api.route("GET", "/v1/jobs/r1/items", httpx.Response(200, json={"data": []}))
    api.route("GET", "/v1/jobs/r1/log", httpx.Response(200, json={"data": []}))
    shown = run(api, "jobs", "show", "r1")
    assert shown.exit_code == 0, shown.output
    assert "Retry of" in shown.stdout and "Retried by" in shown.stdout and "r2, r3" in shown.stdout
