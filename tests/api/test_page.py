"""The Amazon Jobs page in a real browser (headless Chromium) against the whole system.

Every service runs as its own process on the suite's broker and a database of this
module's own. One account (``acc-pg<run>-fr``) gets a single feed token with practically
no restore, so after its first job its next jobs stay ``created`` and can be canceled from
the page.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Locator, Page, async_playwright, expect

from devtools.world import Seller, open_shop, submit
from shared.events import AccountRegistered
from shared.jobs import JobType
from shared.kafka.producer import EventPublisher
from shared.limits import MAX_ITEMS, MAX_QUANTITY
from tests.e2e.conftest import make_stack
from tests.stack import Stack
from tests.waiting import eventually

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HEADERS = [
    "ID",
    "Amazon Account",
    "Job Type",
    "Job Status",
    "Created Date",
    "Last Update Date",
    "Items",
    "Actions",
]
RUN = uuid.uuid4().hex[:4]
SHOP1_KEY = "shop1-key"  # the stack's key of shop1 (devtools/stack.py)


@dataclass
class NamedSeller(Seller):
    """A seller whose account shows a merchant-like name on the page."""

    label: str = ""

    def account(self) -> AccountRegistered:
        return super().account().model_copy(update={"name": self.label or self.name})


DE = NamedSeller(f"pg{RUN}-de", shop_id="shop1", label="Shop DE", orders=0)
FR = NamedSeller(f"pg{RUN}-fr", shop_id="shop1", label="Boutique FR", orders=0)
SLOW_FEEDS: dict[str, object] = {
    FR.seller_id: {"feed_submit": {"burst": 1, "rate_per_s": 0.000001}}
}


def job_id(n: int) -> str:
    return f"ps-{RUN}-{n:05d}"


QTY_JOB, PRICE_JOB, FIRST_FR, QUEUED_A, QUEUED_B, BAD_JOB = (job_id(n) for n in range(1, 7))


@pytest.fixture(scope="module")
def system(topics: str, mongo_url: str, test_output_dir: Path) -> Iterator[Stack]:
    """The whole system, with FR's feed quota all but closed (overrides conftest's)."""
    db_url = mongo_url.rsplit("/", 1)[0] + f"/page_{uuid.uuid4().hex[:8]}"
    stack = make_stack(topics, db_url, test_output_dir / "api-page", SLOW_FEEDS)
    try:
        stack.start(["amazon_sandbox", "throttle", "submitter", "poller", "applier", "api"])
        yield stack
    finally:
        stack.stop()


async def status_of(client: httpx.AsyncClient, job: str) -> str | None:
    response = await client.get(f"/v1/jobs/{job}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    status: str = response.json()["status"]
    return status


async def wait_status(client: httpx.AsyncClient, job: str, *wanted: str) -> None:
    async def reached() -> bool:
        return await status_of(client, job) in wanted

    await eventually(reached, f"job {job} to be {' or '.join(wanted)}")


async def create(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/v1/jobs", json=body)
    assert response.status_code == 202, response.text


@pytest.fixture(scope="module")
async def jobs(system: Stack, publisher: EventPublisher, shop1: httpx.AsyncClient) -> None:
    """Two done jobs on DE (one with an item in error), an error job, and on FR one job
    that took the only token and two that wait for a token in ``created``."""
    for seller in (DE, FR):
        await open_shop(system.sandbox_url, publisher, seller, synced_skus=range(5))

    async def accounts_known() -> bool:
        ids = {a["id"] for a in (await shop1.get("/v1/accounts")).json()["data"]}
        return {DE.account_id, FR.account_id} <= ids

    await eventually(accounts_known, "both accounts in the API")
    qty = [{"sku": DE.sku(n), "quantity": 5 + n} for n in range(3)]
    qty.append({"sku": DE.sku(15), "quantity": 1})  # not listed at Amazon: an item error
    await create(
        shop1,
        {"job_id": QTY_JOB, "account_id": DE.account_id, "job_type": "update_qty", "items": qty},
    )
    await create(
        shop1,
        {
            "job_id": PRICE_JOB,
            "account_id": DE.account_id,
            "job_type": "update_price",
            "items": [{"sku": DE.sku(n), "price": "19.90", "currency": "EUR"} for n in (3, 4)],
        },
    )
    bad = DE.request(JobType.UPDATE_QTY, job_id=BAD_JOB, items=[{"sku": DE.sku(0), "quantity": -5}])
    await submit(publisher, bad)  # past the API's validation: a visible failed job
    await create(
        shop1,
        {
            "job_id": FIRST_FR,
            "account_id": FR.account_id,
            "job_type": "update_qty",
            "items": [{"sku": FR.sku(0), "quantity": 3}],
        },
    )
    await wait_status(shop1, FIRST_FR, "processing", "waiting_for_result", "done")
    for job in (QUEUED_A, QUEUED_B):
        await create(
            shop1,
            {
                "job_id": job,
                "account_id": FR.account_id,
                "job_type": "update_qty_price",
                "items": [
                    {"sku": FR.sku(n), "quantity": 7, "price": "9.99", "currency": "EUR"}
                    for n in (1, 2)
                ],
            },
        )
    for job, wanted in [
        (QTY_JOB, "done"),
        (PRICE_JOB, "done"),
        (BAD_JOB, "error"),
        (FIRST_FR, "done"),
        (QUEUED_A, "created"),
        (QUEUED_B, "created"),
    ]:
        await wait_status(shop1, job, wanted)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser, system: Stack) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        # Chromium logs every 4xx answer; the page shows those itself.
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            errors.append(msg.text)

    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("console", on_console)
    page.set_default_timeout(20_000)
    await page.goto(system.api_url)
    try:
        yield page
    finally:
        await context.close()
    assert errors == [], errors  # no script error on the page


def row(page: Page, job: str) -> Locator:
    return page.locator(f'[data-testid="job-row"][data-job-id="{job}"]')


async def sign_in(page: Page, key: str) -> None:
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()


async def test_a_wrong_key_is_refused_and_a_shop_key_signs_in(
    page: Page, jobs: None, test_output_dir: Path
) -> None:
    await sign_in(page, "not-a-key")
    await expect(page.get_by_test_id("login-error")).to_contain_text("not accepted")
    await expect(page.get_by_test_id("app")).to_be_hidden()
    await page.screenshot(path=test_output_dir / "jobs-login.png")

    await sign_in(page, SHOP1_KEY)
    await expect(page.get_by_test_id("app")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('amazonJobs.apiKey')") == SHOP1_KEY
    await page.reload()  # the key survives a reload of the tab
    await expect(row(page, QTY_JOB)).to_be_visible()

    await page.get_by_test_id("logout").click()
    await expect(page.get_by_test_id("login")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('amazonJobs.apiKey')") is None


async def test_the_table_has_the_manuals_columns_and_wording(page: Page, jobs: None) -> None:
    await sign_in(page, SHOP1_KEY)
    await expect(row(page, QTY_JOB)).to_be_visible()
    assert await page.locator("#jobs-table thead th").all_inner_texts() == HEADERS

    done = row(page, QTY_JOB)
    await expect(done.get_by_test_id("job-account")).to_contain_text("Shop DE")
    await expect(done.get_by_test_id("job-type")).to_have_text("Update Products QTY")
    await expect(done.get_by_test_id("job-status")).to_have_text("Done")
    await expect(done.get_by_test_id("job-status")).to_have_class("badge badge-done")
    await expect(done.get_by_test_id("job-items")).to_have_text("3/4 ok, 1 error")
    await expect(done.get_by_test_id("action-cancel")).to_have_count(0)

    await expect(row(page, BAD_JOB).get_by_test_id("job-status")).to_have_text("Error")
    queued = row(page, QUEUED_A)
    await expect(queued.get_by_test_id("job-status")).to_have_text("Created")
    await expect(queued.get_by_test_id("job-type")).to_have_text("Update Products QTY & Price")
    await expect(queued.get_by_test_id("job-account")).to_contain_text("Boutique FR")
    await expect(queued.get_by_role("button", name=f"Cancel job {QUEUED_A}")).to_be_visible()

    ids = await page.get_by_test_id("job-id").all_inner_texts()
    assert ids.index(QUEUED_B) < ids.index(QTY_JOB)  # newest first

    # The quota panel shows FR's closed feed bucket with the jobs waiting for it.
    fr_feeds = page.locator(
        f'[data-testid="quota-row"][data-seller="{FR.seller_id}"][data-class="feed_submit"]'
    )
    await expect(fr_feeds).to_be_visible()
    await expect(fr_feeds.get_by_test_id("quota-tokens")).to_contain_text("/ 1")


async def test_filters_by_status_type_account_and_date(page: Page, jobs: None) -> None:
    await sign_in(page, SHOP1_KEY)
    await expect(row(page, QUEUED_A)).to_be_visible()

    await page.get_by_label("Job Status").select_option(label="Done")
    await expect(row(page, QUEUED_A)).to_have_count(0)
    await expect(row(page, QTY_JOB)).to_be_visible()
    statuses = await page.get_by_test_id("job-status").all_inner_texts()
    assert statuses and set(statuses) == {"Done"}
    assert "status=done" in page.url  # the filter is kept in the address

    await page.wait_for_timeout(2500)  # a live refresh keeps the filter
    assert set(await page.get_by_test_id("job-status").all_inner_texts()) == {"Done"}

    await page.get_by_label("Job Type").select_option(label="Update Products Price")
    await expect(page.get_by_test_id("job-row")).to_have_count(1)
    await expect(row(page, PRICE_JOB)).to_be_visible()

    await page.get_by_role("button", name="Reset filters").click()
    await expect(row(page, QUEUED_A)).to_be_visible()
    await page.get_by_label("Amazon Account").select_option(FR.account_id)
    await expect(row(page, QTY_JOB)).to_have_count(0)
    await expect(row(page, FIRST_FR)).to_be_visible()

    # A range the API refuses: its 422 message is shown as it is.
    await page.get_by_label("Created from").fill("2030-01-02")
    await page.get_by_label("Created to").fill("2030-01-01")
    await expect(page.get_by_test_id("error-banner")).to_contain_text(
        "created_from: must not be after created_to"
    )
    await expect(page.get_by_test_id("error-banner")).to_contain_text("HTTP 422")
    await page.get_by_label("Created to").fill("2030-01-03")
    await expect(page.get_by_test_id("error-banner")).to_be_hidden()
    await expect(page.get_by_test_id("jobs-empty")).to_be_visible()


async def test_status_and_log_of_a_job(page: Page, jobs: None, test_output_dir: Path) -> None:
    await sign_in(page, SHOP1_KEY)
    await row(page, QTY_JOB).get_by_role("button", name=f"View log of job {QTY_JOB}").click()
    detail = page.get_by_test_id("job-detail")
    await expect(detail).to_be_visible()
    await expect(page.get_by_test_id("detail-id")).to_have_text(QTY_JOB)
    await expect(page.get_by_test_id("panel-log")).to_be_visible()
    await expect(page.get_by_role("tab", name="Log")).to_have_attribute("aria-selected", "true")
    log_rows = page.get_by_test_id("log-row")
    await expect(log_rows.first).to_be_visible()
    events = await page.locator("#log-body td.mono").all_inner_texts()
    assert "JobDone" in events, events
    await detail.screenshot(path=test_output_dir / "jobs-log.png")

    await page.get_by_role("tab", name="Status & items").click()
    await expect(page.get_by_test_id("detail-status")).to_have_text("Done")
    await expect(page.get_by_test_id("item-row")).to_have_count(4)
    failed = page.locator(f'[data-testid="item-row"][data-key="{DE.sku(15)}"]')
    await expect(failed.get_by_test_id("item-status")).to_have_text("error")

    await row(page, BAD_JOB).get_by_role("button", name=f"View log of job {BAD_JOB}").click()
    await expect(page.get_by_test_id("detail-id")).to_have_text(BAD_JOB)
    await expect(page.get_by_test_id("log-message").first).to_contain_text("quantity")


async def test_cancel_a_created_job_and_a_refused_cancel(
    page: Page, jobs: None, shop1: httpx.AsyncClient, test_output_dir: Path
) -> None:
    await sign_in(page, SHOP1_KEY)
    queued = row(page, QUEUED_A)
    await queued.get_by_role("button", name=f"Cancel job {QUEUED_A}").click()
    await expect(page.get_by_role("alertdialog")).to_contain_text(QUEUED_A)
    await page.get_by_test_id("confirm-yes").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("Cancel requested")
    await expect(queued.get_by_test_id("job-status")).to_have_text("Canceled", timeout=30_000)
    await expect(queued.get_by_test_id("action-cancel")).to_have_count(0)

    # With live refresh paused the page still offers to cancel QUEUED_B after someone else
    # canceled it: the API's 409 reason is shown.
    await page.get_by_label("Live refresh").uncheck()
    assert (await shop1.post(f"/v1/jobs/{QUEUED_B}/cancel")).status_code == 202
    await wait_status(shop1, QUEUED_B, "canceled")
    other = row(page, QUEUED_B)
    await expect(other.get_by_test_id("job-status")).to_have_text("Created")
    await other.get_by_role("button", name=f"Cancel job {QUEUED_B}").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(page.get_by_test_id("notice")).to_contain_text(
        f"Job {QUEUED_B} could not be canceled: the job is already canceled"
    )
    await expect(other.get_by_test_id("row-note")).to_contain_text("already canceled")
    await expect(other.get_by_test_id("job-status")).to_have_text("Canceled")  # refreshed

    await page.get_by_label("Live refresh").check()
    await row(page, QTY_JOB).get_by_role("button", name=f"Check status of job {QTY_JOB}").click()
    await expect(page.get_by_test_id("item-row")).to_have_count(4)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=test_output_dir / "jobs-page.png", full_page=True)


async def test_schedules_are_added_paused_and_deleted_from_the_page(
    page: Page, jobs: None, test_output_dir: Path
) -> None:
    await sign_in(page, SHOP1_KEY)
    panel = page.get_by_test_id("schedules")
    await panel.get_by_label("Account to schedule").select_option(DE.account_id)
    await panel.get_by_label("Scheduled job").select_option("inventory_report")
    await panel.get_by_label("Every (minutes)").fill("10")
    await panel.get_by_test_id("schedule-add").click()
    await expect(page.get_by_test_id("notice")).to_contain_text(
        "interval_s: Input should be greater than or equal to 900"
    )

    await panel.get_by_label("Every (minutes)").fill("15")
    await panel.get_by_test_id("schedule-add").click()
    await expect(page.get_by_test_id("notice")).to_contain_text("added")
    added = panel.get_by_test_id("schedule-row")
    await expect(added).to_have_count(1, timeout=30_000)
    await expect(added).to_contain_text("Inventory Report")
    await expect(added).to_contain_text("15 min")
    await expect(added.get_by_test_id("schedule-state")).to_have_text("Active")

    await added.get_by_test_id("schedule-pause").click()
    await expect(added.get_by_test_id("schedule-state")).to_have_text("Paused", timeout=30_000)
    await added.get_by_test_id("schedule-resume").click()
    await expect(added.get_by_test_id("schedule-state")).to_have_text("Active", timeout=30_000)
    await panel.screenshot(path=test_output_dir / "jobs-schedules.png")
    await added.get_by_test_id("schedule-delete").click()
    await expect(added).to_have_count(0, timeout=30_000)
    await expect(panel.get_by_test_id("schedule-empty")).to_be_visible()


BIG = NamedSeller(f"pg{RUN}-big", shop_id="shop2", label="Big Shop", orders=0)
BIG_JOB = f"ps-{RUN}-big"
BIG_ITEMS = 450  # more than the page shows at first (200)


async def test_the_items_of_a_large_job_come_page_by_page(
    page: Page, system: Stack, publisher: EventPublisher, shop2: httpx.AsyncClient
) -> None:
    """Another shop (shop2) with a job of 450 items: the page shows the first 200, says
    how many there are, and "More items" brings the rest, in the order of the request."""
    await open_shop(system.sandbox_url, publisher, BIG)

    async def account_known() -> bool:
        return (await shop2.get(f"/v1/accounts/{BIG.account_id}/listings")).status_code == 200

    await eventually(account_known, "shop2's account in the API")
    items = [{"sku": BIG.sku(n), "quantity": 1} for n in range(BIG_ITEMS)]
    await create(
        shop2,
        {"job_id": BIG_JOB, "account_id": BIG.account_id, "job_type": "update_qty", "items": items},
    )
    await wait_status(shop2, BIG_JOB, "done")

    await sign_in(page, "shop2-key")
    await row(page, BIG_JOB).get_by_role("button", name=f"Check status of job {BIG_JOB}").click()
    rows = page.get_by_test_id("item-row")
    await expect(rows).to_have_count(200)
    await expect(page.get_by_test_id("items-shown")).to_have_text(f"200 of {BIG_ITEMS} items shown")
    await page.get_by_test_id("items-more").click()
    await expect(rows).to_have_count(BIG_ITEMS)
    await expect(page.get_by_test_id("items-more")).to_be_hidden()
    await expect(page.get_by_test_id("items-shown")).to_be_hidden()
    keys = await rows.evaluate_all("rows => rows.map((r) => r.dataset.key)")
    assert keys == [BIG.sku(n) for n in range(BIG_ITEMS)]


async def test_retry_from_the_detail_and_bulk_actions_on_selected_and_matching_jobs(
    page: Page, jobs: None, shop1: httpx.AsyncClient
) -> None:
    await sign_in(page, SHOP1_KEY)
    # A finished job's detail retries it: a new job of its one item in error.
    await row(page, QTY_JOB).get_by_role("button", name=f"Check status of job {QTY_JOB}").click()
    await page.get_by_test_id("detail-retry").click()
    await expect(page.get_by_test_id("notice")).to_contain_text(f"Retry of job {QTY_JOB} requested")
    retried_by = page.get_by_test_id("detail-retried-by")
    await expect(retried_by).to_be_visible(timeout=30_000)
    new_job = (await retried_by.inner_text()).split(",")[0].strip()
    await retried_by.get_by_role("button", name=new_job).click()
    await expect(page.get_by_test_id("detail-id")).to_have_text(new_job)
    await expect(page.get_by_test_id("detail-retry-of")).to_have_text(QTY_JOB)
    await expect(page.get_by_test_id("item-row")).to_have_count(1)
    await expect(page.get_by_test_id("item-row")).to_have_attribute("data-key", DE.sku(15))

    # Rows ticked: a result per job, the refusal with its reason.
    await page.get_by_label(f"Select job {QTY_JOB}").check()
    await page.get_by_label(f"Select job {PRICE_JOB}").check()
    await expect(page.get_by_test_id("bulk-count")).to_have_text("2 jobs selected")
    await page.get_by_test_id("bulk-retry").click()
    results = page.get_by_test_id("bulk-results")
    qty = results.locator(f'[data-job-id="{QTY_JOB}"]')
    await expect(qty.get_by_test_id("bulk-outcome")).to_have_text("requested")
    await expect(qty.get_by_test_id("bulk-detail")).to_contain_text("new job ")
    price = results.locator(f'[data-job-id="{PRICE_JOB}"]')
    await expect(price.get_by_test_id("bulk-outcome")).to_have_text("refused")
    await expect(price.get_by_test_id("bulk-detail")).to_have_text(
        "every item of the job succeeded: nothing to retry"
    )
    await expect(page.get_by_test_id("bulk-count")).to_have_text("No job selected")

    # "All matching": the list's filters choose; finished jobs refuse a cancel.
    await page.get_by_label("Job Type").select_option(label="Update Products Price")
    await expect(page.get_by_test_id("job-row")).to_have_count(1)
    await page.get_by_test_id("select-matching").check()
    await page.get_by_test_id("bulk-cancel").click()
    await page.get_by_test_id("confirm-yes").click()
    await expect(page.get_by_test_id("bulk-result")).to_have_count(1)
    await expect(results.get_by_test_id("bulk-detail")).to_have_text("the job is already done")
    assert await status_of(shop1, PRICE_JOB) == "done"


# ---------------------------------------------------------------- the New job form

STATIC = Path(__file__).parents[2] / "services" / "api" / "static"


def test_the_forms_item_limit_is_the_apis() -> None:
    rules = (STATIC / "create_rules.js").read_text()
    assert f"const MAX_ITEMS = {MAX_ITEMS};" in rules
    assert f"const MAX_QUANTITY = {MAX_QUANTITY};" in rules


def test_the_forms_checks_as_pure_functions_in_node() -> None:
    """create_rules.js's own tests (tests/api/create_rules.test.js), run by node."""
    script = Path(__file__).parent / "create_rules.test.js"
    done = subprocess.run(["node", "--test", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout


async def open_form(page: Page) -> Locator:
    await sign_in(page, SHOP1_KEY)
    await page.set_viewport_size({"width": 1280, "height": 900})
    form = page.get_by_test_id("create-job")
    await form.get_by_role("button", name="New job").click()
    await expect(form.get_by_test_id("create-form")).to_be_visible()
    await form.get_by_label("Account", exact=True).select_option(DE.account_id)
    return form


def job_posts(page: Page) -> list[str]:
    """The bodies of the POST /v1/jobs the page sends from now on."""
    posts: list[str] = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.post_data or "")
            if r.method == "POST" and r.url.endswith("/v1/jobs")
            else None
        ),
    )
    return posts


async def created_job(page: Page) -> str:
    """The job the form created: its detail opens, and it is in the list."""
    await expect(page.get_by_test_id("create-status")).to_contain_text("created", timeout=60_000)
    created = (await page.get_by_test_id("create-status").inner_text()).split()[1]
    await expect(page.get_by_test_id("detail-id")).to_have_text(created)
    await expect(row(page, created)).to_be_visible()
    return created


async def test_jobs_of_two_types_are_created_from_csv_and_json_and_get_done(
    page: Page, jobs: None, shop1: httpx.AsyncClient, test_output_dir: Path
) -> None:
    form = await open_form(page)
    posts = job_posts(page)
    await form.get_by_label("Job to create").select_option("update_qty")
    await expect(form.get_by_test_id("create-items-hint")).to_contain_text("sku, quantity")
    await form.get_by_label("Items", exact=True).fill(
        f"sku,quantity\n{DE.sku(0)},11\n\n{DE.sku(1)},12\n"
    )
    await form.get_by_role("button", name="Create job").click()
    qty_job = await created_job(page)
    detail = page.get_by_test_id("job-detail")
    await expect(detail.get_by_test_id("detail-type")).to_have_text("Update Products QTY")
    await expect(detail.get_by_test_id("detail-status")).to_have_text("Done", timeout=60_000)
    await expect(detail.get_by_test_id("item-row")).to_have_count(2)
    await expect(row(page, qty_job).get_by_test_id("job-status")).to_have_text("Done")
    assert (await shop1.get(f"/v1/jobs/{qty_job}/items")).json()["data"][1]["request"] == {
        "sku": DE.sku(1),
        "quantity": 12,
    }

    await form.get_by_label("Job to create").select_option("update_qty_price")
    await form.get_by_label("JSON (array)").check()
    await expect(form.get_by_test_id("create-items-hint")).to_contain_text("JSON array")
    items = [{"sku": DE.sku(n), "quantity": 4, "price": "12.50", "currency": "EUR"} for n in (2, 3)]
    await form.get_by_label("Items", exact=True).fill(json.dumps(items))
    await form.get_by_role("button", name="Create job").click()
    both_job = await created_job(page)
    assert both_job != qty_job
    await expect(detail.get_by_test_id("detail-type")).to_have_text("Update Products QTY & Price")
    await expect(detail.get_by_test_id("detail-status")).to_have_text("Done", timeout=60_000)
    await expect(detail.get_by_test_id("item-row")).to_have_count(2)
    assert len(posts) == 2
    assert json.loads(posts[1])["items"] == items
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=test_output_dir / "jobs-create.png", full_page=True)


async def test_bad_csv_rows_are_shown_beside_the_items_and_nothing_is_sent(
    page: Page, jobs: None, test_output_dir: Path
) -> None:
    form = await open_form(page)
    posts = job_posts(page)
    await form.get_by_label("Job to create").select_option("update_qty")
    long_sku = "X" * 300  # a long value wraps: the page keeps to 1280 px
    await form.get_by_label("Items", exact=True).fill(
        f"sku,quantity\n{DE.sku(0)},1\n{DE.sku(1)},-4\n,2\n{long_sku},1\n"
    )
    await form.get_by_role("button", name="Create job").click()
    errors = form.get_by_test_id("create-error-row")
    await expect(errors).to_have_text(
        [
            "Row 2 (line 3): quantity: must not be negative (got -4)",
            "Row 3 (line 4): sku: is missing",
            "Row 4 (line 5): sku: is longer than 40 characters",
        ]
    )
    items = form.get_by_label("Items", exact=True)
    await expect(items).to_have_attribute("aria-invalid", "true")
    await expect(items).to_have_attribute(
        "aria-describedby", "create-items-hint create-items-error"
    )
    await expect(items).to_be_focused()
    await expect(form.get_by_test_id("create-summary")).to_contain_text("Nothing was sent.")
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
    await form.screenshot(path=test_output_dir / "jobs-create-errors.png")

    too_many = "\n".join(f"S{n},1" for n in range(MAX_ITEMS + 1))
    # As a paste would put it (typing 25,001 lines through fill() takes minutes).
    await items.evaluate(
        "(box, text) => { box.value = text;"
        " box.dispatchEvent(new Event('input', {bubbles: true})); }",
        f"sku,quantity\n{too_many}",
    )
    await form.get_by_role("button", name="Create job").click()
    await expect(form.get_by_test_id("create-items-error")).to_have_text(
        f"{MAX_ITEMS + 1:,} items: the API takes at most {MAX_ITEMS:,} per job"
    )
    assert posts == []

    await items.fill(f"sku,quantity\n{DE.sku(0)},1")  # fixed: the marks go with the errors
    await form.get_by_label("Job to create").select_option("inventory_report")
    await expect(items).not_to_have_attribute("aria-invalid", "true")
    await expect(form.get_by_test_id("create-items-error")).to_be_hidden()


async def test_the_apis_422_is_shown_beside_the_field_it_names(page: Page, jobs: None) -> None:
    form = await open_form(page)
    posts = job_posts(page)
    await form.get_by_label("Job to create").select_option("send_products")
    await form.get_by_label("JSON (array)").check()
    # The EAN's pattern is the API's to check (shared/job_items.py), not the form's.
    item = {"sku": DE.sku(0), "ean": "12AB", "quantity": 1, "price": "9.90", "currency": "EUR"}
    await form.get_by_label("Items", exact=True).fill(json.dumps([item]))
    await form.get_by_role("button", name="Create job").click()
    error = form.get_by_test_id("create-items-error")
    await expect(error).to_contain_text("Row 1: ean: String should match pattern")
    await expect(form.get_by_test_id("create-summary")).to_contain_text(
        "The API refused the job (HTTP 422)"
    )
    await expect(form.get_by_label("Items", exact=True)).to_have_attribute("aria-invalid", "true")
    assert len(posts) == 1
    await expect(form.get_by_test_id("create-status")).to_have_text("")


async def test_an_orders_import_is_created_from_its_params(page: Page, jobs: None) -> None:
    form = await open_form(page)
    posts = job_posts(page)
    await form.get_by_label("Job to create").select_option("orders_import")
    await expect(form.get_by_label("Items", exact=True)).to_be_hidden()
    await expect(form.get_by_label("Marketplace")).to_be_hidden()  # orders are per account
    await form.get_by_role("button", name="Create job").click()
    await expect(form.get_by_test_id("create-since-error")).to_have_text(
        "give the date and time to import orders from"
    )
    await expect(form.get_by_label("Orders since")).to_be_focused()
    assert posts == []

    await form.get_by_label("Orders since").fill("2026-11-01T08:30:00")
    await form.get_by_label("Orders that were").select_option("created")
    await form.get_by_label("Orders per page").fill("50")
    await form.get_by_role("button", name="Create job").click()
    created = await created_job(page)
    await expect(page.get_by_test_id("detail-type")).to_have_text("Orders Import")
    await expect(page.get_by_test_id("detail-status")).to_have_text("Done", timeout=60_000)
    since = await page.evaluate("new Date('2026-11-01T08:30:00').toISOString()")
    assert [json.loads(p) for p in posts] == [
        {
            "job_id": created,
            "account_id": DE.account_id,
            "job_type": "orders_import",
            "params": {"since": since, "by": "created", "page_size": 50},
        }
    ]


async def test_listing_issues_of_an_account(
    page: Page, jobs: None, shop1: httpx.AsyncClient
) -> None:
    """QTY_JOB named a SKU DE does not list at Amazon: its error shows, with the job whose
    result reported it last (QTY_JOB, or a retry of it another test made): the API's."""
    await sign_in(page, SHOP1_KEY)
    issues = page.get_by_test_id("issues")
    await issues.get_by_test_id("issues-account").select_option(DE.account_id)
    line = issues.locator(f'[data-testid="issue-row"][data-sku="{DE.sku(15)}"]')
    await expect(line).to_contain_text("99020")

    async def shows_the_apis_job() -> str | None:
        answer = await shop1.get(f"/v1/accounts/{DE.account_id}/listing-issues")
        [listed] = [r for r in answer.json()["data"] if r["sku"] == DE.sku(15)]
        await issues.get_by_test_id("issues-refresh").click()
        job: str = listed["job_id"]
        return job if job in await line.inner_text() else None

    job = await eventually(shows_the_apis_job, "the page shows the job the API names")
    assert job is not None
    await expect(line).to_contain_text("error")
    await issues.get_by_test_id("issues-severity").select_option("warning")
    await expect(issues.get_by_test_id("issues-empty")).to_be_visible()
    await expect(line).to_be_hidden()


# ------------------------------------------------------------------ charts, account data, a11y

AXE = Path(__file__).resolve().parents[2] / ".local/axe/node_modules/axe-core/axe.min.js"
CH = NamedSeller(f"pg{RUN}-ch", shop_id="shop1", label="Charts Shop", orders=3, listed=6)
LONG_JOB = f"ps-{RUN}-" + "x" * (128 - len(f"ps-{RUN}-"))


async def done(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    await create(client, {"account_id": CH.account_id, **body})
    await wait_status(client, body["job_id"], "done")


async def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    assert AXE.is_file(), (
        f"{AXE} is missing: `make system-deps` installs it (no network needed after)"
    )
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


async def test_charts_account_data_a_long_id_at_1280_px_and_no_serious_axe_violation(
    page: Page,
    jobs: None,
    system: Stack,
    publisher: EventPublisher,
    shop1: httpx.AsyncClient,
    test_output_dir: Path,
) -> None:
    await open_shop(system.sandbox_url, publisher, CH, synced_skus=range(6))

    async def account_known() -> bool:
        return (await shop1.get(f"/v1/accounts/{CH.account_id}/listings")).status_code == 200

    await eventually(account_known, "the charts' account in the API")
    await done(
        shop1,
        {
            "job_id": f"ps-{RUN}-ch-qty",
            "job_type": "update_qty",
            "items": [{"sku": CH.sku(n), "quantity": 3 + n} for n in range(3)],
        },
    )
    await done(shop1, {"job_id": f"ps-{RUN}-ch-inv", "job_type": "inventory_report"})
    await done(
        shop1,
        {
            "job_id": f"ps-{RUN}-ch-ord",
            "job_type": "orders_import",
            "params": {"since": "2020-01-01T00:00:00Z", "by": "created"},
        },
    )
    # A job id of the longest size the API takes, in the jobs table.
    long_job = CH.request(
        JobType.UPDATE_QTY, job_id=LONG_JOB, items=[{"sku": CH.sku(0), "quantity": 1}]
    )
    await submit(publisher, long_job)

    async def long_job_known() -> bool:
        return await status_of(shop1, LONG_JOB) is not None

    await eventually(long_job_known, "the 128-character job in the API")

    await page.set_viewport_size({"width": 1280, "height": 900})
    await sign_in(page, SHOP1_KEY)
    await expect(row(page, LONG_JOB)).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width} px wide at 1280"

    # Charts: the jobs above as bars of their hour, the seller's buckets as lines.
    charts = page.get_by_test_id("charts")
    await charts.get_by_test_id("charts-account").select_option(CH.account_id)
    done_bars = charts.locator(
        '[data-testid="chart-jobs"] rect[data-testid="bar"][data-status="done"]'
    )

    async def jobs_done_charted() -> int | None:
        await charts.get_by_test_id("charts-refresh").click()
        counts = [
            int(c or 0) for c in await done_bars.evaluate_all("bs => bs.map(b => b.dataset.count)")
        ]
        return sum(counts) if sum(counts) >= 3 else None

    assert await eventually(jobs_done_charted, "the account's 3 done jobs charted")
    jobs_chart = charts.get_by_test_id("chart-jobs")
    await expect(jobs_chart).to_have_attribute("role", "img")
    assert "done" in (await jobs_chart.locator("desc").text_content() or "")
    feed = charts.locator('[data-testid="chart-quota"][data-class="feed_submit"]')
    await expect(feed).to_be_visible()
    assert await feed.locator('[data-testid="point"]').count() >= 2  # tokens and queue
    points = await feed.locator('[data-testid="line-tokens"]').get_attribute("points")
    assert points and len(points.split()) >= 2
    await charts.screenshot(path=test_output_dir / "jobs-charts.png")

    # The account's listings, inventory report rows and imported orders.
    data = page.get_by_test_id("account-data")
    await data.get_by_test_id("account-data-account").select_option(CH.account_id)
    await expect(data.get_by_test_id("account-data-body")).to_contain_text(CH.sku(0))
    await expect(data.get_by_test_id("listings-row")).to_have_count(6)
    await data.get_by_test_id("tab-inventory").click()
    await expect(data.get_by_test_id("inventory-row")).to_have_count(6)
    await data.get_by_test_id("tab-orders").click()
    await expect(data.get_by_test_id("orders-row")).to_have_count(3)
    await data.screenshot(path=test_output_dir / "jobs-account-orders.png")
    await page.screenshot(path=test_output_dir / "jobs-page-1280.png", full_page=True)
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width} px wide at 1280 with every view shown"

    # No serious accessibility violation: the jobs screen with charts and data, then a
    # job's detail open.
    assert await serious_violations(page) == [], "\n".join(await serious_violations(page))
    await row(page, LONG_JOB).get_by_role("button").first.click()
    await expect(page.get_by_test_id("job-detail")).to_be_visible()
    assert await serious_violations(page) == []
