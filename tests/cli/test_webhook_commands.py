"""`webhooks add`, `list`, `deliveries` and `delete` against a fake API: what they send
and print."""

from __future__ import annotations

import json

import httpx

from tests.cli.fake_api import FakeApi
from tests.cli.test_commands import run

HOOK = {
    "id": "whk-1",
    "shop_id": "shop1",
    "url": "https://shop.example/hook",
    "events": ["job.error"],
    "job_types": None,
    "created_at": "2026-12-03T09:00:00Z",
}
ATTEMPT = {
    "delivery_id": "dlv_1",
    "webhook_id": "whk-1",
    "job_id": "j1",
    "event": "job.error",
    "attempt": 2,
    "at": "2026-12-03T09:00:31Z",
    "status_code": 500,
    "error": "answered 500",
    "outcome": "retrying",
    "next_attempt_at": "2026-12-03T09:01:31Z",
}


def test_add_sends_the_events_and_prints_the_secret_once() -> None:
    api = FakeApi()
    api.route("POST", "/v1/webhooks", httpx.Response(201, json={**HOOK, "secret": "whsec_s"}))
    added = run(api, "webhooks", "add", "https://shop.example/hook", "--event", "job.error")
    assert added.exit_code == 0, added.output
    assert "whk-1" in added.stdout and "whsec_s" in added.stdout
    assert api.last_json() == {"url": HOOK["url"], "events": ["job.error"]}


def test_list_deliveries_and_delete_with_json() -> None:
    api = FakeApi()
    api.route(
        "GET", "/v1/webhooks", httpx.Response(200, json={"data": [HOOK], "next_cursor": None})
    )
    api.route(
        "GET",
        "/v1/webhooks/whk-1/deliveries",
        httpx.Response(200, json={"data": [ATTEMPT], "next_cursor": None}),
    )
    api.route("DELETE", "/v1/webhooks/whk-1", httpx.Response(204))
    listed = run(api, "webhooks", "list", "--json")
    assert [h["webhook_id"] for h in json.loads(listed.stdout)] == ["whk-1"]
    log = run(api, "webhooks", "deliveries", "whk-1", "--json")
    [row] = json.loads(log.stdout)
    assert (row["attempt"], row["status_code"], row["outcome"]) == (2, 500, "retrying")
    human = run(api, "webhooks", "deliveries", "whk-1")
    assert "attempt 2" in human.stdout and "retrying" in human.stdout
    deleted = run(api, "webhooks", "delete", "whk-1", "--json")
    assert json.loads(deleted.stdout) == {"webhook_id": "whk-1", "deleted": True}
