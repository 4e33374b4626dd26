"""The commands through typer's CliRunner against a fake API: what they print, what they
send, and their exit status (0 done, 1 the API said no, 2 usage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from shared.events import AccountRegistered
from shared.spapi.endpoints import Region
from tests.cli.fake_api import FakeApi, error, job_row, page

WIDE = {"COLUMNS": "220", "AMAZON_JOBS_URL": "http://api.test", "AMAZON_JOBS_API_KEY": "k"}


def run(api: FakeApi, *args: str, input: str | None = None, **env: str) -> Result:
    return CliRunner().invoke(
        app, list(args), obj=api.transport(), input=input, env={**WIDE, **env}
    )


@pytest.fixture
def api() -> FakeApi:
    return FakeApi()


def test_jobs_list_shows_the_manuals_columns_and_labels(api: FakeApi) -> None:
    api.route(
        "GET",
        "/v1/jobs",
        page(
            [
                job_row("ps-shop1-000123"),
                job_row("ps-shop1-000124", job_type="update_qty_price", status="done"),
                job_row("ps-shop1-000125", job_type="some_future_type", status="error"),
            ]
        ),
    )
    result = run(api, "jobs", "list")
    assert result.exit_code == 0, result.output
    for header in ("ID", "Amazon Account", "Job Type", "Job Status", "Created Date", "Items"):
        assert header in result.stdout
    assert "Last Update Date" in result.stdout
    for text in (
        "ps-shop1-000123",
        "Shop 1 DE (acc-de)",
        "Update Products QTY",
        "Waiting for result",
        "Update Products QTY & Price",
        "Done",
        "some_future_type",  # an unknown type still shows, by its wire name
        "Error",
        "2026-11-27 10:00:00",
        "2026-11-27 10:02:00",
        "4, 1 error",
    ):
        assert text in result.stdout, text


def test_jobs_list_passes_filters_and_all_follows_cursors(api: FakeApi) -> None:
    def jobs(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "c2":
            return page([job_row("j2")])
        return page([job_row("j1")], "c2")

    api.route("GET", "/v1/jobs", jobs)
    args = ["--account", "acc-de", "--type", "update_price", "--status", "created"]
    dates = ["--from", "2026-11-01", "--to", "2026-11-02T12:00:00", "--limit", "1"]
    result = run(api, "jobs", "list", *args, *dates, "--all")
    assert result.exit_code == 0, result.output
    assert "j1" in result.stdout and "j2" in result.stdout
    assert dict(api.seen[0].url.params) == {
        "account_id": "acc-de",
        "job_type": "update_price",
        "status": "created",
        "created_from": "2026-11-01T00:00:00+00:00",
        "created_to": "2026-11-02T12:00:00+00:00",
        "limit": "1",
    }
    assert api.seen[1].url.params["cursor"] == "c2"


def test_url_and_key_options_win_over_the_environment(api: FakeApi) -> None:
    api.route("GET", "/v1/jobs", page([]))
    result = run(api, "--url", "http://other.test/", "--key", "opt-key", "jobs", "list")
    assert result.exit_code == 0, result.output
    assert str(api.seen[0].url).startswith("http://other.test/v1/jobs")
    assert api.seen[0].headers["authorization"] == "Bearer opt-key"
    assert "no jobs match" in result.stdout


def test_jobs_show_prints_job_items_and_log(api: FakeApi) -> None:
    detail = job_row("j1", data={"feed_id": "50012345"})
    api.route("GET", "/v1/jobs/j1", httpx.Response(200, json=detail))
    items: list[dict[str, Any]] = [
        {"key": "SKU-1", "status": "accepted", "request": {"sku": "SKU-1", "quantity": 7}},
        {"key": "SKU-2", "status": "error", "messages": ["8541: SKU does not exist"]},
    ]
    api.route("GET", "/v1/jobs/j1/items", page(items))
    log = [{"level": "info", "message": "feed 50012345 submitted", "at": "2026-11-27T10:02:00Z"}]
    api.route("GET", "/v1/jobs/j1/log", page(log))
    result = run(api, "jobs", "show", "j1")
    assert result.exit_code == 0, result.output
    for text in (
        "Job j1",
        "Update Products QTY (update_qty)",
        "feed_id",
        "50012345",
        "SKU-1",
        "quantity=7",
        "8541: SKU does not exist",
        "feed 50012345 submitted",
    ):
        assert text in result.stdout, text


def test_jobs_show_of_an_unknown_job_exits_1_with_not_found(api: FakeApi) -> None:
    result = run(api, "jobs", "show", "nope")
    assert result.exit_code == 1
    assert "not found" in result.stderr and "nope" in result.stderr
    assert result.stdout == ""


def test_cancel_202_and_409_with_the_reason(api: FakeApi) -> None:
    api.route("POST", "/v1/jobs/j1/cancel", httpx.Response(202, json={"job_id": "j1"}))
    ok = run(api, "jobs", "cancel", "j1")
    assert ok.exit_code == 0 and "cancel of j1 requested" in ok.stdout
    reason = "job j2 is processing and can no longer be canceled"
    api.route("POST", "/v1/jobs/j2/cancel", error(409, "not_cancelable", reason))
    refused = run(api, "jobs", "cancel", "j2")
    assert refused.exit_code == 1
    assert reason in refused.stderr


def test_refused_key_exits_1(api: FakeApi) -> None:
    api.route("GET", "/v1/accounts", error(401, "unauthorized", "unknown key"))
    result = run(api, "accounts", "list")
    assert result.exit_code == 1
    assert "the API key was refused" in result.stderr


def test_unreachable_api_exits_1_and_names_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    result = CliRunner().invoke(
        app,
        ["--url", "http://127.0.0.1:9", "throttle"],
        obj=httpx.MockTransport(refuse),
        env={"COLUMNS": "220"},
    )
    assert result.exit_code == 1
    assert "is the API running at http://127.0.0.1:9?" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["jobs", "list", "--status", "finished"],
        ["jobs", "list", "--type", "nope"],
        ["jobs", "list", "--from", "yesterday"],
        ["jobs", "list", "--limit", "0"],
        ["jobs", "show"],
        ["jobs", "create", "--type", "update_qty"],
        ["jobs", "create", "--type", "update_qty", "--account", "a", "--params", "[1]"],
        ["jobs", "create", "--type", "update_qty", "--account", "a", "--params", "{"],
        ["jobs", "create", "--type", "update_qty", "--account", "a", "--items-file", "/nope"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2_without_calling_the_api(api: FakeApi, args: list[str]) -> None:
    result = run(api, *args)
    assert result.exit_code == 2, result.output
    assert api.seen == []


def test_create_with_items_file(api: FakeApi, tmp_path: Path) -> None:
    api.route("POST", "/v1/jobs", httpx.Response(202, json={"job_id": "ps-1"}))
    items = tmp_path / "items.json"
    items.write_text(json.dumps({"items": [{"sku": "A", "quantity": 1}]}))
    result = run(
        api,
        "jobs",
        "create",
        "--type",
        "update_qty",
        "--account",
        "acc-de",
        "--items-file",
        str(items),
        "--job-id",
        "ps-1",
        "--shop",
        "shop1",
    )
    assert result.exit_code == 0, result.output
    assert "job ps-1 requested" in result.stdout
    assert api.last_json() == {
        "job_id": "ps-1",
        "account_id": "acc-de",
        "job_type": "update_qty",
        "shop_id": "shop1",
        "items": [{"sku": "A", "quantity": 1}],
    }


def test_create_for_one_marketplace_sends_it(api: FakeApi, tmp_path: Path) -> None:
    api.route("POST", "/v1/jobs", httpx.Response(202, json={"job_id": "ps-2"}))
    items = tmp_path / "items.json"
    items.write_text('[{"sku": "A", "quantity": 1}]')
    result = run(
        api,
        *["jobs", "create", "--type", "update_qty", "--account", "acc-eu"],
        *["--items-file", str(items), "--marketplace", "A13V1IB3VIYZZH"],
    )
    assert result.exit_code == 0, result.output
    assert api.last_json()["marketplace_id"] == "A13V1IB3VIYZZH"


def test_create_with_params_gets_a_fresh_job_id(api: FakeApi) -> None:
    def accept(request: httpx.Request) -> httpx.Response:
        return httpx.Response(202, json={"job_id": json.loads(request.content)["job_id"]})

    api.route("POST", "/v1/jobs", accept)
    params = '{"since": "2026-11-01T00:00:00Z"}'
    result = run(
        api, "jobs", "create", "--type", "orders_import", "--account", "a", "--params", params
    )
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = api.last_json()
    assert body["job_id"].startswith("cli-")
    assert body["params"] == {"since": "2026-11-01T00:00:00Z"}
    assert "items" not in body


def test_create_rejected_by_the_api_names_the_field(api: FakeApi, tmp_path: Path) -> None:
    api.route("POST", "/v1/jobs", error(422, "invalid", "must be >= 0", field="items[0].quantity"))
    items = tmp_path / "items.json"
    items.write_text('[{"sku": "A", "quantity": -1}]')
    result = run(
        api, "jobs", "create", "--type", "update_qty", "--account", "a", "--items-file", str(items)
    )
    assert result.exit_code == 1
    assert "invalid request: items[0].quantity: must be >= 0" in result.stderr


def test_create_with_both_items_and_params_is_a_usage_error(api: FakeApi, tmp_path: Path) -> None:
    items = tmp_path / "items.json"
    items.write_text("[]")
    result = run(
        api,
        *["jobs", "create", "--type", "update_qty", "--account", "a"],
        *["--items-file", str(items), "--params", "{}"],
    )
    assert result.exit_code == 2
    assert "not both" in result.output


def test_watch_shows_progress_of_jobs_in_flight(api: FakeApi) -> None:
    rows = [
        job_row("flying", status="processing"),
        job_row("landed", status="done", item_counts={"total": 4, "accepted": 4}),
    ]
    api.route("GET", "/v1/jobs", page(rows))
    result = run(api, "jobs", "watch", "--count", "2", "--interval", "0", "--limit", "10")
    assert result.exit_code == 0, result.output
    assert "Jobs in flight" in result.stdout
    assert "3/4 items" in result.stdout
    assert "landed" in result.stdout
    assert len(api.seen) == 2
    assert api.seen[0].url.params["limit"] == "10"


def test_watch_keeps_going_through_a_failed_refresh(api: FakeApi) -> None:
    answers = iter([page([job_row("j1")]), httpx.Response(503), page([job_row("j1")])])
    api.route("GET", "/v1/jobs", lambda _: next(answers))
    result = run(api, "jobs", "watch", "--count", "3", "--interval", "0")
    assert result.exit_code == 0, result.output
    assert len(api.seen) == 3


def test_throttle_shows_buckets(api: FakeApi) -> None:
    buckets = [
        {
            "quota_key": {"seller_id": "A1DE", "region": "EU", "quota_class": "feed_submit"},
            "tokens": 0.25,
            "burst": 15,
            "rate_per_s": 1 / 120,
            "queue_depth": 3,
            "next_grant_at": "2026-11-27T10:04:00Z",
        },
        {
            "quota_key": "A1DE|EU|report_request",
            "tokens": 15,
            "burst": 15,
            "rate_per_s": 1 / 60,
            "hourly_cap": 60,
            "used_last_hour": 2,
            "queue_depth": 0,
        },
        {
            "quota_key": "A2FR|EU|feed_status",
            "tokens": 15,
            "burst": 15,
            "rate_per_s": 2,
            "queue_depth": 0,
        },
    ]
    api.route("GET", "/v1/throttle", page(buckets))
    result = run(api, "throttle", "--seller", "A1DE")
    assert result.exit_code == 0, result.output
    for text in (
        "feed_submit",
        "0.2 / 15",
        "1 per 120 s",
        "2026-11-27 10:04:00",
        "report_request",
        "2 / 60",
    ):
        assert text in result.stdout, text
    assert "A2FR" not in result.stdout
    assert "2/s" in run(api, "throttle").stdout


def test_dead_letters_list_and_replay(api: FakeApi) -> None:
    letter = {
        "id": "dl-1",
        "original_topic": "amazon.job-requests",
        "partition": 3,
        "offset": 42,
        "key": "ps-1",
        "error": "not JSON",
        "consumer_group": "amazon-jobs-submitter",
        "occurred_at": "2026-11-27T10:00:00Z",
        "raw_stored": "copy",
        "raw_value": "{not json",
        "raw_encoding": "utf-8",
        "raw_size": 9,
        "raw_sha256": "ab" * 32,
    }
    api.route("GET", "/v1/dead-letters", page([letter]))
    listed = run(api, "dead-letters", "list")
    assert listed.exit_code == 0, listed.output
    for text in (
        "dl-1",
        "amazon.job-requests",
        "3:42",
        "not JSON",
        "amazon-jobs-submitter",
        "copy, 9 B",
        "sha256 abababababababab…",
        "{not json",
    ):
        assert text in listed.stdout, text
    sent = {
        "id": "dl-1",
        "topic": "amazon.job-requests",
        "partition": 3,
        "offset": 57,
        "raw_stored": "copy",
        "size": 9,
    }
    api.route("POST", "/v1/dead-letters/dl-1/replay", httpx.Response(202, json=sent))
    replayed = run(api, "dead-letters", "replay", "dl-1")
    assert replayed.exit_code == 0
    assert (
        "dead letter dl-1 replayed to amazon.job-requests 3:57 (9 B, from the letter's copy)"
        in replayed.stdout
    )
    api.route("POST", "/v1/dead-letters/dl-2/replay", error(403, "forbidden", "admin only"))
    forbidden = run(api, "dead-letters", "replay", "dl-2")
    assert forbidden.exit_code == 1 and "the API key was refused" in forbidden.stderr


def test_dead_letters_by_reference_show_size_hash_and_head(api: FakeApi) -> None:
    letter = {
        "id": "dl-big",
        "original_topic": "prestashop.catalog-events",
        "partition": 1,
        "offset": 7,
        "key": "shop9",
        "error": "invalid StockChanged: padding: Extra inputs are not permitted",
        "raw_stored": "reference",
        "raw_value": None,
        "raw_encoding": "utf-8",
        "raw_size": 1_000_000,
        "raw_sha256": "cd" * 32,
        "raw_head": '{"event_type": "StockChanged", "shop_id": "shop9", "padding": "xxxx',
    }
    tombstone = {**letter, "id": "dl-none", "raw_stored": "none", "raw_size": None}
    tombstone.update(raw_sha256=None, raw_head=None)
    api.route("GET", "/v1/dead-letters", page([letter, tombstone]))
    listed = run(api, "dead-letters", "list")
    assert listed.exit_code == 0, listed.output
    for text in ("reference, 976.6 KiB", "sha256 cdcdcdcdcdcdcdcd…", "none (tombstone)"):
        assert text in listed.stdout, text
    assert '{"event_type": "StockChanged", "shop_id"' in listed.stdout  # the head's start
    sent = {
        "id": "dl-big",
        "topic": "prestashop.catalog-events",
        "partition": 1,
        "offset": 99,
        "raw_stored": "reference",
        "size": 1_000_000,
    }
    api.route("POST", "/v1/dead-letters/dl-big/replay", httpx.Response(202, json=sent))
    replayed = run(api, "dead-letters", "replay", "dl-big")
    assert "(976.6 KiB, read back from its topic)" in replayed.stdout
    reason = (
        "cannot replay dead letter 'dl-old': prestashop.catalog-events/1 offset 7 is no "
        "longer retained: the partition now begins at offset 5000"
    )
    api.route("POST", "/v1/dead-letters/dl-old/replay", error(410, "gone", reason))
    gone = run(api, "dead-letters", "replay", "dl-old")
    assert gone.exit_code == 1
    assert "no longer retained: the partition now begins at offset 5000" in gone.stderr


def test_accounts_list(api: FakeApi) -> None:
    account = {
        "account_id": "acc-de",
        "shop_id": "shop1",
        "name": "Shop 1 DE",
        "seller_id": "A2EUQ1WTGCTBG2",
        "region": "EU",
        "marketplace_ids": ["A1PA6795UKMFR9", "A13V1IB3VIYZZH"],
    }
    api.route("GET", "/v1/accounts", page([account]))
    result = run(api, "accounts", "list")
    assert result.exit_code == 0, result.output
    for text in ("acc-de", "Shop 1 DE", "shop1", "A2EUQ1WTGCTBG2", "A1PA6795UKMFR9, A13V1IB3"):
        assert text in result.stdout, text


ACCOUNT_ARGS = [
    *["accounts", "add", "--account-id", "acc-de", "--shop", "shop1", "--name", "DE"],
    *["--seller-id", "A2EUQ1WTGCTBG2", "--region", "EU", "--marketplace", "A1PA6795UKMFR9"],
]


def test_accounts_add_prompts_for_secrets_without_echo_and_never_prints_them(
    api: FakeApi,
) -> None:
    api.route("POST", "/v1/accounts", httpx.Response(201, json={"account_id": "acc-de"}))
    result = run(api, *ACCOUNT_ARGS, input="my-client\nsuper-secret\nAtzr|refresh-xyz\n")
    assert result.exit_code == 0, result.output
    assert "LWA client secret" in result.output  # it asked
    assert "super-secret" not in result.output and "Atzr|refresh-xyz" not in result.output
    body = api.last_json()
    assert body["lwa"] == {
        "client_id": "my-client",
        "client_secret": "super-secret",
        "refresh_token": "Atzr|refresh-xyz",
    }
    assert body["marketplace_ids"] == ["A1PA6795UKMFR9"] and body["region"] == "EU"
    assert "account acc-de (DE) registered" in result.stdout


def test_accounts_add_from_options_and_an_error_do_not_leak_secrets(api: FakeApi) -> None:
    api.route("POST", "/v1/accounts", error(409, "exists", "account acc-de already exists"))
    secrets = ["--client-id", "cid", "--client-secret", "s3cr3t", "--refresh-token", "Atzr|tok"]
    result = run(api, *ACCOUNT_ARGS, *secrets)
    assert result.exit_code == 1
    assert "account acc-de already exists" in result.stderr
    assert "s3cr3t" not in result.output and "Atzr|tok" not in result.output


def test_region_choices_are_those_of_the_account_event() -> None:
    literal = AccountRegistered.model_fields["region"].annotation
    assert {r.value for r in Region} == set(get_args(literal))


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += _commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


def test_every_command_takes_json() -> None:
    import typer.main

    commands = _commands(typer.main.get_command(app))
    assert len(commands) >= 10
    for path, command in commands:
        assert any("--json" in p.opts for p in command.params), " ".join(path)


def test_json_output_is_the_apis_data_for_scripts(api: FakeApi) -> None:
    api.route("GET", "/v1/jobs", page([job_row("ps-1"), job_row("ps-2", status="done")]))
    listed = run(api, "jobs", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["id"], r["status"]) for r in rows] == [
        ("ps-1", "waiting_for_result"),
        ("ps-2", "done"),
    ]

    api.route("GET", "/v1/jobs/j1", httpx.Response(200, json=job_row("j1")))
    api.route("GET", "/v1/jobs/j1/items", page([{"key": "SKU-1", "status": "accepted"}]))
    api.route("GET", "/v1/jobs/j1/log", page([]))
    shown = json.loads(run(api, "jobs", "show", "j1", "--json").stdout)
    assert shown["job"]["id"] == "j1"
    assert [(i["key"], i["status"]) for i in shown["items"]] == [("SKU-1", "accepted")]
    assert shown["log"] == []

    api.route("POST", "/v1/jobs", httpx.Response(202, json={"job_id": "ps-9"}))
    created = run(api, "jobs", "create", "--type", "inventory_report", "--account", "a", "--json")
    assert json.loads(created.stdout) == {"job_id": "ps-9"}

    watched = run(api, "jobs", "watch", "--count", "2", "--interval", "0", "--json")
    lines = watched.stdout.splitlines()
    assert len(lines) == 2 and all(json.loads(line)[0]["id"] == "ps-1" for line in lines)


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("amazon-jobs ") and result.stdout.split()[1][0].isdigit()


def schedule_row(schedule_id: str = "sch-1", **overrides: Any) -> dict[str, Any]:
    row = {
        "id": schedule_id,
        "shop_id": "shop1",
        "account_id": "acc-de",
        "job_type": "orders_import",
        "interval_s": 900,
        "paused": False,
        "params": None,
        "anchor": "2026-11-27T10:00:00Z",
        "revision": 1,
        "created_at": "2026-11-27T10:00:00Z",
    }
    return row | overrides


def test_schedules_list_add_pause_resume_delete(api: FakeApi) -> None:
    api.route(
        "GET",
        "/v1/schedules",
        page([schedule_row(), schedule_row("sch-2", job_type="inventory_report", paused=True)]),
    )
    listed = run(api, "schedules", "list")
    assert listed.exit_code == 0, listed.output
    for text in ("sch-1", "Orders Import", "15 min", "active", "sch-2", "Inventory Report"):
        assert text in listed.stdout
    assert "paused" in listed.stdout
    rows = json.loads(run(api, "schedules", "list", "--json").stdout)
    assert [(r["schedule_id"], r["paused"]) for r in rows] == [("sch-1", False), ("sch-2", True)]

    api.route("POST", "/v1/schedules", httpx.Response(202, json=schedule_row()))
    added = run(
        api, "schedules", "add", "--account", "acc-de", "--type", "orders_import", "--every", "15",
        "--params", '{"page_size": 50}',
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert api.last_json() == {
        "account_id": "acc-de",
        "job_type": "orders_import",
        "interval_s": 900,
        "paused": False,
        "params": {"page_size": 50},
    }
    assert "schedule sch-1 added" in added.stdout

    api.route("PATCH", "/v1/schedules/sch-1", lambda r: httpx.Response(202, json=schedule_row(
        paused=json.loads(r.content)["paused"])))  # fmt: skip
    paused = json.loads(run(api, "schedules", "pause", "sch-1", "--json").stdout)
    assert api.last_json() == {"paused": True} and paused["paused"] is True
    resumed = run(api, "schedules", "resume", "sch-1")
    assert api.last_json() == {"paused": False} and "resumed" in resumed.stdout

    api.route("DELETE", "/v1/schedules/sch-1", httpx.Response(204))
    deleted = json.loads(run(api, "schedules", "delete", "sch-1", "--json").stdout)
    assert deleted == {"schedule_id": "sch-1", "deleted": True}
    assert api.seen[-1].method == "DELETE"


def test_a_refused_schedule_says_why_and_exits_1(api: FakeApi) -> None:
    api.route(
        "POST",
        "/v1/schedules",
        error(422, "invalid", "interval_s: interval_s 60 is below the minimum of 300 s"),
    )
    result = run(
        api, "schedules", "add", "--account", "a", "--type", "orders_import", "--every", "1"
    )
    assert result.exit_code == 1
    assert "minimum of 300 s" in result.stderr
