"""`listing-issues` against a fake API: the filters it sends, the pages it follows, what
it prints."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.cli.fake_api import FakeApi, error, page
from tests.cli.test_commands import run

PATH = "/v1/accounts/acc-de/listing-issues"
ROWS: list[dict[str, Any]] = [
    {
        "sku": "MUG-1",
        "marketplace_id": "A1PA6795UKMFR9",
        "asin": None,
        "status": "error",
        "job_id": "j2",
        "reported_at": "2026-12-03T10:05:00Z",
        "issues": [
            {"severity": "error", "code": "99020", "message": "unknown SKU", "attribute_names": []}
        ],
    },
    {
        "sku": "PEN-1",
        "marketplace_id": "A1PA6795UKMFR9",
        "asin": "B000PEN001",
        "status": "active",
        "job_id": "j1",
        "reported_at": "2026-12-03T10:00:00Z",
        "issues": [
            {
                "severity": "warning",
                "code": "99040",
                "message": "price far off",
                "attribute_names": ["purchasable_offer"],
            }
        ],
    },
]


def test_every_page_is_shown_newest_first_with_the_filters_sent() -> None:
    api = FakeApi()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "c1":
            return page(ROWS[1:])
        return page(ROWS[:1], "c1")

    api.route("GET", PATH, answer)
    shown = run(api, "listing-issues", "acc-de", "--severity", "error", "--sku", "MUG-1", "--json")
    assert shown.exit_code == 0, shown.output
    assert [(r["sku"], r["job_id"]) for r in json.loads(shown.stdout)] == [
        ("MUG-1", "j2"),
        ("PEN-1", "j1"),
    ]
    params = api.seen[0].url.params
    assert (params["severity"], params["sku"], "marketplace_id" in params) == (
        "error",
        "MUG-1",
        False,
    )

    table = run(api, "listing-issues", "acc-de")
    assert table.exit_code == 0, table.output
    assert "99020" in table.stdout and "99040" in table.stdout and "MUG-1" in table.stdout


def test_no_issues_and_an_unknown_account() -> None:
    api = FakeApi()
    api.route("GET", PATH, page([]))
    assert "no listing has issues" in run(api, "listing-issues", "acc-de").stdout
    api.route(
        "GET",
        "/v1/accounts/nope/listing-issues",
        error(404, "not_found", "account 'nope' not found"),
    )
    missing = run(api, "listing-issues", "nope")
    assert missing.exit_code == 1 and "not found" in missing.stderr
