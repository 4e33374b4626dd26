"""The API client over a mock transport: requests it sends, answers it reads, and the
error messages it translates every failure into."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from cli.client import ApiClient, JobFilters
from cli.errors import Conflict, Invalid, NotFound, ServerError, Unauthorized, Unreachable
from cli.models import Bucket, JobRow, LwaCredentials, NewAccount
from tests.cli.fake_api import FakeApi, error, job_row, page


def client_for(api: FakeApi, key: str | None = "k") -> ApiClient:
    return ApiClient("http://api.test", key, transport=api.transport())


def test_list_sends_the_filters_and_the_key() -> None:
    api = FakeApi()
    api.route("GET", "/v1/jobs", page([job_row("j1")]))
    filters = JobFilters(
        account_id="acc-de",
        job_type="update_qty",
        status="done",
        created_from=datetime(2026, 11, 1, tzinfo=UTC),
        created_to=datetime(2026, 11, 2, tzinfo=UTC),
    )
    rows = list(client_for(api, "shop1-key").iter_jobs(filters, limit=5))
    assert [r.id for r in rows] == ["j1"]
    request = api.seen[0]
    assert request.headers["authorization"] == "Bearer shop1-key"
    assert dict(request.url.params) == {
        "account_id": "acc-de",
        "job_type": "update_qty",
        "status": "done",
        "created_from": "2026-11-01T00:00:00+00:00",
        "created_to": "2026-11-02T00:00:00+00:00",
        "limit": "5",
    }


def test_all_follows_cursors_until_none() -> None:
    api = FakeApi()

    def jobs(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        if cursor is None:
            return page([job_row("j1"), job_row("j2")], "c2")
        assert cursor == "c2"
        return page([job_row("j3")], None)

    api.route("GET", "/v1/jobs", jobs)
    client = client_for(api)
    assert [r.id for r in client.iter_jobs(JobFilters(), follow=True)] == ["j1", "j2", "j3"]
    assert [r.id for r in client.iter_jobs(JobFilters(), follow=False)] == ["j1", "j2"]


def test_no_key_sends_no_authorization() -> None:
    api = FakeApi()
    api.route("GET", "/v1/jobs", page([]))
    list(client_for(api, None).iter_jobs(JobFilters()))
    assert "authorization" not in api.seen[0].headers


@pytest.mark.parametrize(
    "row",
    [
        job_row("j1"),
        {**job_row("j1"), "account": "acc-de", "account_name": "Shop 1 DE"},
        {
            **{k: v for k, v in job_row("j1").items() if k != "account"},
            "account_id": "acc-de",
            "account_name": "Shop 1 DE",
        },
    ],
    ids=["nested", "string", "flat"],
)
def test_job_row_reads_every_account_shape(row: dict[str, object]) -> None:
    job = JobRow.model_validate(row)
    assert (job.account.id, job.account.name) == ("acc-de", "Shop 1 DE")
    assert (job.items.total, job.items.processed) == (4, 3)
    assert job.in_flight


def test_item_counts_total_defaults_to_the_sum() -> None:
    job = JobRow.model_validate({**job_row("j1"), "item_counts": {"pending": 2, "accepted": 3}})
    assert (job.items.total, job.items.processed) == (5, 3)


def test_show_reads_job_items_and_log_and_quotes_the_id() -> None:
    api = FakeApi()
    api.route("GET", "/v1/jobs/ps%3Ashop1%40x", httpx.Response(200, json=job_row("ps:shop1@x")))
    api.route(
        "GET",
        "/v1/jobs/ps%3Ashop1%40x/items",
        page([{"key": "SKU-1", "status": "error", "messages": ["bad price"]}]),
    )
    api.route(
        "GET",
        "/v1/jobs/ps%3Ashop1%40x/log",
        page([{"level": "info", "message": "feed 5 submitted", "at": "2026-11-27T10:02:00Z"}]),
    )
    client = client_for(api)
    assert client.get_job("ps:shop1@x").id == "ps:shop1@x"
    assert client.job_items("ps:shop1@x")[0].messages == ["bad price"]
    assert client.job_log("ps:shop1@x")[0].message == "feed 5 submitted"


def test_show_reads_every_item_of_a_large_job_page_after_page() -> None:
    """25,000 items come in pages; the client follows the cursors to the last one, asking
    for the longest page the API gives."""
    api = FakeApi()
    total, size = 25_000, 1000

    def items(request: httpx.Request) -> httpx.Response:
        assert request.url.params["limit"] == str(size)
        start = int(request.url.params.get("cursor") or 0)
        rows = [{"key": f"SKU-{n}", "status": "accepted"} for n in range(start, start + size)]
        more = start + size < total
        return page(rows, str(start + size) if more else None)

    api.route("GET", "/v1/jobs/big/items", items)
    rows = client_for(api).job_items("big")
    assert [r.key for r in rows] == [f"SKU-{n}" for n in range(total)]
    assert len(api.seen) == total // size


def test_a_single_resource_may_come_wrapped_in_data() -> None:
    api = FakeApi()
    api.route("GET", "/v1/jobs/j1", httpx.Response(200, json={"data": job_row("j1")}))
    assert client_for(api).get_job("j1").id == "j1"


def test_create_posts_the_request_and_returns_the_job_id() -> None:
    api = FakeApi()
    api.route("POST", "/v1/jobs", httpx.Response(202, json={"job_id": "j9"}))
    body = {"job_id": "j9", "account_id": "acc-de", "job_type": "update_qty", "items": []}
    assert client_for(api).create_job(body) == "j9"
    assert api.last_json() == body


def test_401_is_a_refused_key() -> None:
    api = FakeApi()
    api.route("GET", "/v1/jobs", error(401, "unauthorized", "bad key"))
    with pytest.raises(Unauthorized, match="the API key was refused"):
        list(client_for(api).iter_jobs(JobFilters()))
    with pytest.raises(Unauthorized, match=r"refused \(no key given\)"):
        list(client_for(api, None).iter_jobs(JobFilters()))


def test_404_says_not_found() -> None:
    api = FakeApi()
    with pytest.raises(NotFound, match="not found: no such resource: /v1/jobs/nope") as info:
        client_for(api).get_job("nope")
    assert info.value.status == 404


def test_409_carries_the_servers_reason() -> None:
    api = FakeApi()
    api.route(
        "POST",
        "/v1/jobs/j1/cancel",
        error(409, "not_cancelable", "job j1 is processing and can no longer be canceled"),
    )
    with pytest.raises(Conflict, match=r"^job j1 is processing and can no longer be canceled$"):
        client_for(api).cancel_job("j1")


def test_422_names_the_field() -> None:
    api = FakeApi()
    api.route("GET", "/v1/jobs", error(422, "invalid", "not a valid date", field="created_from"))
    with pytest.raises(Invalid, match="created_from: not a valid date"):
        list(client_for(api).iter_jobs(JobFilters()))


def test_422_in_fastapis_own_shape_names_the_field() -> None:
    api = FakeApi()
    detail = [{"loc": ["query", "limit"], "msg": "Input should be a valid integer"}]
    api.route("GET", "/v1/jobs", httpx.Response(422, json={"detail": detail}))
    with pytest.raises(Invalid, match="limit: Input should be a valid integer"):
        list(client_for(api).iter_jobs(JobFilters()))


def test_5xx_and_garbage_are_server_errors() -> None:
    api = FakeApi()
    api.route("GET", "/v1/throttle", httpx.Response(503, text="upstream down"))
    with pytest.raises(ServerError, match=r"the API failed \(503\).*upstream down"):
        client_for(api).buckets()
    api.route("GET", "/v1/throttle", httpx.Response(200, text="<html>"))
    with pytest.raises(ServerError, match="not JSON"):
        client_for(api).buckets()
    api.route("GET", "/v1/throttle", httpx.Response(200, json={"rows": []}))
    with pytest.raises(ServerError, match="unexpected answer"):
        client_for(api).buckets()


def test_connection_refused_asks_whether_the_api_runs() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client = ApiClient("http://127.0.0.1:1", "k", transport=httpx.MockTransport(refuse))
    with pytest.raises(Unreachable, match=r"is the API running at http://127\.0\.0\.1:1\?"):
        client.accounts()


def test_timeout_is_unreachable() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client = ApiClient("http://api.test", "k", transport=httpx.MockTransport(slow))
    with pytest.raises(Unreachable, match="did not answer in time"):
        client.accounts()


def test_bucket_reads_a_string_or_object_quota_key() -> None:
    base = {"tokens": 3.5, "burst": 15, "rate_per_s": 1 / 120, "queue_depth": 2}
    one = Bucket.model_validate({**base, "quota_key": "A1DE|EU|feed_submit"})
    two = Bucket.model_validate(
        {**base, "quota_key": {"seller_id": "A1DE", "region": "EU", "quota_class": "x"}}
    )
    flat = Bucket.model_validate({**base, "seller_id": "A1DE", "region": "EU", "quota_class": "y"})
    assert (one.quota_key.quota_class, two.quota_key.region, flat.quota_key.quota_class) == (
        "feed_submit",
        "EU",
        "y",
    )


def test_add_account_sends_the_secrets_once_and_repr_hides_them() -> None:
    api = FakeApi()
    api.route("POST", "/v1/accounts", httpx.Response(201, json={"account_id": "acc-de"}))
    account = NewAccount(
        account_id="acc-de",
        shop_id="shop1",
        name="DE",
        seller_id="A1",
        region="EU",
        marketplace_ids=["A1PA6795UKMFR9"],
        lwa=LwaCredentials(client_id="cid", client_secret="s3cret", refresh_token="Atzr|r"),
    )
    client_for(api).add_account(account)
    assert api.last_json()["lwa"] == {
        "client_id": "cid",
        "client_secret": "s3cret",
        "refresh_token": "Atzr|r",
    }
    assert "s3cret" not in repr(account) and "Atzr|r" not in repr(account)
