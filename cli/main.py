"""``amazon-jobs``: the command line of the HTTP API (docs/design.md §6).

Exit status: 0 done, 1 the API said no or could not be reached, 2 a usage error.
Every command takes ``--json``: what it would show as a table, as JSON on stdout (one
object or list; ``jobs watch`` one line per refresh), for scripts.
The API's URL and key come from ``--url``/``--key`` or ``AMAZON_JOBS_URL`` /
``AMAZON_JOBS_API_KEY``. Tests pass an ``httpx`` transport as the click context object.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.live import Live
from typer.core import TyperGroup

from cli import render
from cli.client import DEFAULT_URL, ApiClient, JobFilters
from cli.errors import ApiError
from cli.models import JobRow, LwaCredentials, NewAccount
from shared.jobs import JobStatus, JobType
from shared.spapi.endpoints import Region

out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (machine-readable) instead of tables.")
]


def _plain(value: Any) -> Any:
    """Models as their JSON shape (the fields the tables show), everything else as is."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _show(as_json: bool, value: Any, human: Callable[[], Any]) -> None:
    """``value`` as one JSON document on stdout, or ``human()`` for the terminal."""
    if as_json:
        # Plain stdout, not rich: no wrapping, colour or markup in what scripts parse.
        typer.echo(json.dumps(_plain(value), ensure_ascii=False))
    else:
        out.print(human())


def _cli_version() -> str:
    try:
        return package_version("amazon-jobs")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"amazon-jobs {_cli_version()}")
        raise typer.Exit()


class _Group(TyperGroup):
    """Turns every :class:`ApiError` into one red line on stderr and exit status 1."""

    # ``Any``: the context class typer passes differs between its releases.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ApiError as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None


def _typer(help_text: str) -> typer.Typer:
    return typer.Typer(
        help=help_text,
        cls=_Group,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )


app = _typer("Amazon Jobs from the command line: jobs, schedules, quotas, dead letters, accounts.")
jobs_app = _typer("List, inspect, watch, create and cancel Amazon jobs.")
dead_letters_app = _typer("Messages that could not be processed, and replaying them.")
accounts_app = _typer("Amazon seller accounts (adding one needs an admin key).")
schedules_app = _typer("Recurring orders imports and inventory reports of an account.")
app.add_typer(jobs_app, name="jobs")
app.add_typer(dead_letters_app, name="dead-letters")
app.add_typer(accounts_app, name="accounts")
app.add_typer(schedules_app, name="schedules")
webhooks_app = _typer("Signed notifications of your shop's finished jobs (job.done, job.error, …).")
app.add_typer(webhooks_app, name="webhooks")


@dataclass(frozen=True)
class Connection:
    url: str
    key: str | None
    transport: httpx.BaseTransport | None = None

    def client(self) -> ApiClient:
        return ApiClient(self.url, self.key, transport=self.transport)


def _client(ctx: typer.Context) -> ApiClient:
    connection = ctx.find_object(Connection)
    assert connection is not None, "the root callback sets the connection"
    return connection.client()


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str, typer.Option(envvar="AMAZON_JOBS_URL", help="Base URL of the Amazon Jobs API.")
    ] = DEFAULT_URL,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="AMAZON_JOBS_API_KEY",
            help="API key (a shop's, or an admin key).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    transport = ctx.obj if isinstance(ctx.obj, httpx.BaseTransport) else None
    ctx.obj = Connection(url, key or None, transport)


# ---------------------------------------------------------------------------- jobs

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]

AccountOpt = Annotated[str | None, typer.Option("--account", help="Amazon account id.")]
TypeOpt = Annotated[JobType | None, typer.Option("--type", help="Job type.")]
StatusOpt = Annotated[JobStatus | None, typer.Option("--status", help="Job status.")]
FromOpt = Annotated[
    datetime | None,
    typer.Option("--from", formats=DATE_FORMATS, help="Created at or after (UTC)."),
]
ToOpt = Annotated[
    datetime | None, typer.Option("--to", formats=DATE_FORMATS, help="Created before (UTC).")
]
LimitOpt = Annotated[int | None, typer.Option("--limit", min=1, help="Jobs per page.")]


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _filters(
    account: str | None,
    job_type: JobType | None,
    status: JobStatus | None,
    created_from: datetime | None,
    created_to: datetime | None,
) -> JobFilters:
    return JobFilters(
        account,
        job_type.value if job_type else None,
        status.value if status else None,
        _utc(created_from),
        _utc(created_to),
    )


@jobs_app.command("list")
def jobs_list(
    ctx: typer.Context,
    account: AccountOpt = None,
    job_type: TypeOpt = None,
    status: StatusOpt = None,
    created_from: FromOpt = None,
    created_to: ToOpt = None,
    limit: LimitOpt = None,
    follow: Annotated[
        bool, typer.Option("--all", help="Follow the cursors: every matching job.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The jobs table, newest first (one page unless --all)."""
    filters = _filters(account, job_type, status, created_from, created_to)
    with _client(ctx) as client:
        rows = list(client.iter_jobs(filters, limit=limit, follow=follow))
    _show(as_json, rows, lambda: render.jobs_table(rows))


@jobs_app.command("show")
def jobs_show(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonOpt = False,
) -> None:
    """One job: its details, items and log."""
    with _client(ctx) as client:
        job = client.get_job(job_id)
        items = client.job_items(job_id)
        log = client.job_log(job_id)
    if as_json:
        _show(True, {"job": job, "items": items, "log": log}, lambda: None)
        return
    out.print(render.job_panel(job))
    out.print(render.items_table(items))
    out.print(render.log_table(log))


@jobs_app.command("watch")
def jobs_watch(
    ctx: typer.Context,
    account: AccountOpt = None,
    job_type: TypeOpt = None,
    status: StatusOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Newest jobs shown.")] = 30,
    interval: Annotated[
        float, typer.Option("--interval", min=0, help="Seconds between refreshes.")
    ] = 2.0,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="Stop after this many refreshes.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A live table of the newest jobs, with progress bars for jobs in flight
    (``--json``: one JSON list of the jobs per refresh, a line each)."""
    filters = _filters(account, job_type, status, None, None)
    with _client(ctx) as client:
        rows = _newest(client, filters, limit)  # a first failure ends the command
        if as_json:
            _watch_json(client, filters, limit, rows, interval, count)
            return
        view = render.watch_view(rows, refreshed_at=datetime.now(UTC))
        done = 1
        try:
            with Live(view, console=out, auto_refresh=False, transient=False) as live:
                while count is None or done < count:
                    time.sleep(interval)
                    problem = None
                    try:
                        rows = _newest(client, filters, limit)
                    except ApiError as exc:  # keep watching through a restart of the API
                        problem = f"refresh failed: {exc}"
                    live.update(
                        render.watch_view(rows, refreshed_at=datetime.now(UTC), problem=problem),
                        refresh=True,
                    )
                    done += 1
        except KeyboardInterrupt:
            pass


def _watch_json(
    client: ApiClient,
    filters: JobFilters,
    limit: int,
    rows: list[JobRow],
    interval: float,
    count: int | None,
) -> None:
    done = 1
    _show(True, rows, lambda: None)
    try:
        while count is None or done < count:
            time.sleep(interval)
            done += 1
            try:
                rows = _newest(client, filters, limit)
            except ApiError as exc:  # keep watching through a restart of the API
                err.print(f"refresh failed: {exc}", highlight=False)
                continue
            _show(True, rows, lambda: None)
    except KeyboardInterrupt:
        pass


def _newest(client: ApiClient, filters: JobFilters, limit: int) -> list[JobRow]:
    return client.list_jobs(filters, limit=limit).data


@jobs_app.command("cancel")
def jobs_cancel(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonOpt = False,
) -> None:
    """Cancel a job that is still reserved or created (its items go back as they were)."""
    with _client(ctx) as client:
        client.cancel_job(job_id)
    _show(
        as_json,
        {"job_id": job_id, "cancel_requested": True},
        lambda: f"cancel of {job_id} requested; `amazon-jobs jobs show {job_id}` shows the outcome",
    )


@jobs_app.command("retry")
def jobs_retry(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(metavar="ID")],
    new_id: Annotated[
        str | None,
        typer.Option("--new-id", help="The new job's id (a repeat is then the same retry)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Retry a finished job: a new job with the items that did not succeed (all of them
    when the job failed as a whole)."""
    with _client(ctx) as client:
        accepted = client.retry_job(job_id, new_id)
    _show(
        as_json,
        accepted,
        lambda: (
            f"retry of {job_id} requested as job {accepted.job_id}; "
            f"`amazon-jobs jobs show {accepted.job_id}` follows it"
        ),
    )


IdsOpt = Annotated[
    list[str] | None,
    typer.Option("--id", help="A job to act on (repeat it); else the filters choose."),
]


def _bulk(
    ctx: typer.Context,
    action: str,
    ids: list[str] | None,
    filters: JobFilters,
    as_json: bool,
    request_id: str | None = None,
) -> None:
    with _client(ctx) as client:
        answer = client.bulk(action, job_ids=ids, filters=filters, request_id=request_id)
    _show(as_json, answer, lambda: render.bulk_table(action, answer))


@jobs_app.command("bulk-cancel")
def jobs_bulk_cancel(
    ctx: typer.Context,
    ids: IdsOpt = None,
    account: AccountOpt = None,
    job_type: TypeOpt = None,
    status: StatusOpt = None,
    created_from: FromOpt = None,
    created_to: ToOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cancel many jobs (at most 1,000): those of --id, or every job the filters match.
    Each gets its own outcome; a job no longer cancelable is refused with the reason."""
    filters = _filters(account, job_type, status, created_from, created_to)
    _bulk(ctx, "cancel", ids, filters, as_json)


@jobs_app.command("bulk-retry")
def jobs_bulk_retry(
    ctx: typer.Context,
    ids: IdsOpt = None,
    account: AccountOpt = None,
    job_type: TypeOpt = None,
    status: StatusOpt = None,
    created_from: FromOpt = None,
    created_to: ToOpt = None,
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request-id",
            help="Your id for this call: running it again with the same id retries nothing "
            "twice (default: a new id, printed).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Retry many finished jobs (at most 1,000): those of --id, or every job the filters
    match. Each gets its own outcome: its new job, or why there is nothing to retry."""
    filters = _filters(account, job_type, status, created_from, created_to)
    if request_id is None:
        request_id = f"cli-{uuid.uuid4().hex[:16]}"
        if not as_json:
            err.print(f"request id {request_id} (pass --request-id {request_id} to send again)")
    _bulk(ctx, "retry", ids, filters, as_json, request_id)


@jobs_app.command("create")
def jobs_create(
    ctx: typer.Context,
    job_type: Annotated[JobType, typer.Option("--type", help="Job type.")],
    account: Annotated[str, typer.Option("--account", help="Amazon account id.")],
    items_file: Annotated[
        Path | None,
        typer.Option(
            "--items-file",
            exists=True,
            dir_okay=False,
            help='JSON file: a list of items (or {"items": [...]}).',
        ),
    ] = None,
    params: Annotated[
        str | None, typer.Option("--params", help="JSON object of the job's params.")
    ] = None,
    job_id: Annotated[
        str | None,
        typer.Option("--job-id", help="Your id for the job (a repeat is a no-op); default new."),
    ] = None,
    shop: Annotated[
        str | None, typer.Option("--shop", help="Shop id (needed with an admin key).")
    ] = None,
    priority: Annotated[int | None, typer.Option("--priority", help="Priority override.")] = None,
    marketplace: Annotated[
        str | None,
        typer.Option(
            "--marketplace",
            help="One marketplace of the account (e.g. A13V1IB3VIYZZH); default every one "
            "of them, one job each.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Request a job; same body as a JobRequested event."""
    if items_file is not None and params is not None:
        raise typer.BadParameter("give --items-file or --params, not both")
    request: dict[str, Any] = {
        "job_id": job_id or f"cli-{uuid.uuid4().hex[:16]}",
        "account_id": account,
        "job_type": job_type.value,
    }
    if shop:
        request["shop_id"] = shop
    if priority is not None:
        request["priority"] = priority
    if marketplace is not None:
        request["marketplace_id"] = marketplace
    if items_file is not None:
        request["items"] = _read_items(items_file)
    if params is not None:
        request["params"] = _read_params(params)
    with _client(ctx) as client:
        accepted = client.create_job(request)
    _show(
        as_json,
        {"job_id": accepted},
        lambda: f"job {accepted} requested; `amazon-jobs jobs show {accepted}` follows it",
    )


def _read_items(path: Path) -> list[dict[str, Any]]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint="--items-file") from exc
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        value = value["items"]
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        raise typer.BadParameter(
            f"{path} must hold a JSON list of item objects", param_hint="--items-file"
        )
    return value


def _read_params(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--params") from exc
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object", param_hint="--params")
    return value


# ---------------------------------------------------------------------------- throttle


@app.command("throttle")
def throttle(
    ctx: typer.Context,
    seller: Annotated[
        str | None, typer.Option("--seller", help="Only this seller id (all its accounts).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Quota buckets per seller (every account of one seller shares them): tokens, restore
    rate, queue depth and next grant per quota key."""
    with _client(ctx) as client:
        buckets = client.buckets()
    if seller:
        buckets = [b for b in buckets if b.quota_key.seller_id == seller]
    _show(as_json, buckets, lambda: render.buckets_table(buckets))


# ---------------------------------------------------------------------------- dead letters


@dead_letters_app.command("list")
def dead_letters_list(
    ctx: typer.Context,
    limit: LimitOpt = None,
    follow: Annotated[bool, typer.Option("--all", help="Follow the cursors.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """What could not be processed, and why."""
    with _client(ctx) as client:
        letters = client.dead_letters(limit=limit, follow=follow)
    _show(as_json, letters, lambda: render.dead_letters_table(letters))


@dead_letters_app.command("replay")
def dead_letters_replay(
    ctx: typer.Context,
    dead_letter_id: Annotated[str, typer.Argument(metavar="ID")],
    as_json: JsonOpt = False,
) -> None:
    """Send a dead-lettered message again to its original topic (admin key).

    A large original the letter only refers to is read back from its topic; if the topic
    no longer has it, the command says why and exits 1."""
    with _client(ctx) as client:
        sent = client.replay_dead_letter(dead_letter_id)
    _show(
        as_json,
        sent,
        lambda: f"dead letter {dead_letter_id} replayed" + render.replay_summary(sent),
    )


# ---------------------------------------------------------------------------- accounts


@accounts_app.command("list")
def accounts_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Registered seller accounts (never their credentials)."""
    with _client(ctx) as client:
        accounts = client.accounts()
    _show(as_json, accounts, lambda: render.accounts_table(accounts))


@accounts_app.command("add")
def accounts_add(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Option("--account-id", help="Id the system will use.")],
    shop: Annotated[str, typer.Option("--shop", help="Shop that owns the account.")],
    name: Annotated[str, typer.Option("--name", help="Name shown in the jobs table.")],
    seller_id: Annotated[str, typer.Option("--seller-id", help="Amazon seller (merchant) id.")],
    region: Annotated[Region, typer.Option("--region", help="Amazon region of the seller.")],
    marketplace: Annotated[
        list[str], typer.Option("--marketplace", help="Marketplace id (repeat for several).")
    ],
    client_id: Annotated[
        str, typer.Option("--client-id", prompt="LWA client id", help="LWA client id.")
    ],
    client_secret: Annotated[
        str,
        typer.Option(
            "--client-secret",
            prompt="LWA client secret",
            hide_input=True,
            help="LWA client secret (prompted without echo when not given).",
        ),
    ],
    refresh_token: Annotated[
        str,
        typer.Option(
            "--refresh-token",
            prompt="LWA refresh token",
            hide_input=True,
            help="LWA refresh token (prompted without echo when not given).",
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """Register a seller account with its Login with Amazon credentials (admin key).

    The secrets go to the API once, which stores them encrypted; they are never printed.
    """
    account = NewAccount(
        account_id=account_id,
        shop_id=shop,
        name=name,
        seller_id=seller_id,
        region=region.value,
        marketplace_ids=marketplace,
        lwa=LwaCredentials(
            client_id=client_id, client_secret=client_secret, refresh_token=refresh_token
        ),
    )
    with _client(ctx) as client:
        client.add_account(account)
    _show(
        as_json,
        {"account_id": account_id, "name": name, "shop_id": shop, "registered": True},
        lambda: f"account {account_id} ({name}) registered for shop {shop}",
    )


# ---------------------------------------------------------------------------- schedules

ScheduleId = Annotated[str, typer.Argument(metavar="ID")]


@schedules_app.command("list")
def schedules_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Schedules of your shop (every shop's with an admin key)."""
    with _client(ctx) as client:
        schedules = client.schedules()
    _show(as_json, schedules, lambda: render.schedules_table(schedules))


@schedules_app.command("add")
def schedules_add(
    ctx: typer.Context,
    account: Annotated[str, typer.Option("--account", help="Amazon account id.")],
    job_type: Annotated[
        str,
        typer.Option(
            "--type",
            help="orders_import (orders updated since the run before) or inventory_report.",
        ),
    ],
    every: Annotated[
        int,
        typer.Option(
            "--every",
            min=1,
            help="Minutes between runs: at least 5 for orders_import, 15 for inventory_report.",
        ),
    ],
    params: Annotated[
        str | None,
        typer.Option("--params", help='JSON object of the job\'s params, e.g. {"page_size": 50}.'),
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run an orders import or an inventory report every N minutes, the first run now."""
    body: dict[str, Any] = {
        "account_id": account,
        "job_type": job_type,
        "interval_s": every * 60,
        "paused": paused,
    }
    if params is not None:
        body["params"] = _read_params(params)
    with _client(ctx) as client:
        schedule = client.add_schedule(body)
    _show(
        as_json,
        schedule,
        lambda: (
            f"schedule {schedule.schedule_id} added: {job_type} of {account} every "
            f"{render.every(schedule.interval_s)}"
        ),
    )


def _set_paused(ctx: typer.Context, schedule_id: str, paused: bool, as_json: bool) -> None:
    with _client(ctx) as client:
        schedule = client.update_schedule(schedule_id, {"paused": paused})
    _show(
        as_json,
        schedule,
        lambda: f"schedule {schedule_id} {'paused' if paused else 'resumed'}",
    )


@schedules_app.command("pause")
def schedules_pause(ctx: typer.Context, schedule_id: ScheduleId, as_json: JsonOpt = False) -> None:
    """Stop a schedule's runs until it is resumed."""
    _set_paused(ctx, schedule_id, True, as_json)


@schedules_app.command("resume")
def schedules_resume(ctx: typer.Context, schedule_id: ScheduleId, as_json: JsonOpt = False) -> None:
    """Run a paused schedule again (at once, if a run fell in the pause)."""
    _set_paused(ctx, schedule_id, False, as_json)


@schedules_app.command("delete")
def schedules_delete(ctx: typer.Context, schedule_id: ScheduleId, as_json: JsonOpt = False) -> None:
    """Delete a schedule; the jobs it made stay in the list."""
    with _client(ctx) as client:
        client.delete_schedule(schedule_id)
    _show(
        as_json,
        {"schedule_id": schedule_id, "deleted": True},
        lambda: f"schedule {schedule_id} deleted",
    )


# ---------------------------------------------------------------------------- webhooks

WebhookId = Annotated[str, typer.Argument(metavar="ID")]


@webhooks_app.command("list")
def webhooks_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """Webhooks of your shop (every shop's with an admin key)."""
    with _client(ctx) as client:
        hooks = client.webhooks()
    _show(
        as_json,
        hooks,
        lambda: (
            "\n".join(
                f"{h.webhook_id}  {h.shop_id}  {','.join(h.events)}  {h.url}"
                + (f"  ({','.join(h.job_types)})" if h.job_types else "")
                for h in hooks
            )
            or "no webhooks"
        ),
    )


@webhooks_app.command("add")
def webhooks_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="http(s) URL the events are POSTed to.")],
    events: Annotated[
        list[str] | None,
        typer.Option("--event", help="job.done, job.error or job.canceled (repeat; all if none)."),
    ] = None,
    job_types: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only jobs of this type (repeat; every type if none)."),
    ] = None,
    shop: Annotated[str | None, typer.Option("--shop", help="The shop (admin keys).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a webhook; prints its signing secret, which is shown this once."""
    body: dict[str, Any] = {"url": url}
    if events:
        body["events"] = events
    if job_types:
        body["job_types"] = job_types
    if shop is not None:
        body["shop_id"] = shop
    with _client(ctx) as client:
        hook = client.add_webhook(body)
    _show(
        as_json,
        hook,
        lambda: (
            f"webhook {hook.webhook_id} added for {','.join(hook.events)}; "
            f"signing secret (shown once): {hook.secret}"
        ),
    )


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    ctx: typer.Context,
    webhook_id: WebhookId,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """A webhook's delivery log, newest attempt first."""
    with _client(ctx) as client:
        rows = client.webhook_deliveries(webhook_id, limit)
    _show(
        as_json,
        rows,
        lambda: (
            "\n".join(
                f"{r.at:%Y-%m-%d %H:%M:%S}  {r.delivery_id}  {r.event}  {r.job_id}  "
                f"attempt {r.attempt}  {r.status_code or '-'}  {r.outcome}"
                for r in rows
            )
            or "no deliveries"
        ),
    )


@webhooks_app.command("delete")
def webhooks_delete(ctx: typer.Context, webhook_id: WebhookId, as_json: JsonOpt = False) -> None:
    """Delete a webhook: nothing more is sent to it."""
    with _client(ctx) as client:
        client.delete_webhook(webhook_id)
    _show(
        as_json,
        {"webhook_id": webhook_id, "deleted": True},
        lambda: f"webhook {webhook_id} deleted",
    )
