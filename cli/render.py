"""Rich renderables of what the API answered: the manual's jobs table, a job with its items
and log, the throttle's buckets, dead letters and accounts. Pure: data in, renderable out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from cli.models import (
    Account,
    Bucket,
    BulkResults,
    DeadLetter,
    DeadLetterReplayed,
    JobDetail,
    JobItem,
    JobRow,
    LogEntry,
    Schedule,
)
from shared.jobs import JOB_STATUS_LABELS, JOB_TYPE_LABELS, JobStatus, JobType

STATUS_STYLES: dict[str, str] = {
    JobStatus.RESERVED: "bright_black",
    JobStatus.CREATED: "cyan",
    JobStatus.PROCESSING: "yellow",
    JobStatus.WAITING_FOR_RESULT: "blue",
    JobStatus.DONE: "green",
    JobStatus.ERROR: "bold red",
    JobStatus.CANCELED: "magenta",
}
ITEM_STYLES = {
    "pending": "bright_black",
    "accepted": "green",
    "warning": "yellow",
    "error": "red",
    "canceled": "magenta",
}
LEVEL_STYLES = {"debug": "bright_black", "info": "", "warning": "yellow", "error": "red"}
NONE = "—"


def job_type_label(job_type: str) -> str:
    try:
        return JOB_TYPE_LABELS[JobType(job_type)]
    except ValueError:
        return job_type


def status_text(status: str) -> Text:
    try:
        label = JOB_STATUS_LABELS[JobStatus(status)]
    except ValueError:
        label = status
    return Text(label, style=STATUS_STYLES.get(status, ""))


def when(value: datetime | None) -> str:
    """UTC, to the second: what every table shows."""
    if value is None:
        return NONE
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def rate(per_s: float) -> str:
    """A restore rate the way the quota table says it: ``2/s`` or ``1 per 120 s``."""
    if per_s <= 0:
        return "0"
    if per_s >= 1:
        return f"{per_s:g}/s"
    return f"1 per {1 / per_s:.3g} s"


def account_text(row: JobRow) -> str:
    name = row.account.name
    return f"{name} ({row.account.id})" if name and name != row.account.id else row.account.id


def items_text(row: JobRow) -> str:
    counts = row.items
    parts = [f"{counts.total}"]
    if counts.error:
        parts.append(f"{counts.error} error")
    if counts.warning:
        parts.append(f"{counts.warning} warning")
    return ", ".join(parts)


def jobs_table(rows: Sequence[JobRow], *, title: str | None = "Amazon Jobs") -> Table:
    """The manual's columns: ID, Amazon Account, Job Type, Job Status, Created and Last
    Update Date (UTC), plus the item counts."""
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("ID", no_wrap=True, overflow="fold")
    table.add_column("Amazon Account")
    table.add_column("Job Type")
    table.add_column("Job Status", no_wrap=True)
    table.add_column("Created Date (UTC)", no_wrap=True)
    table.add_column("Last Update Date (UTC)", no_wrap=True)
    table.add_column("Items", justify="right")
    for row in rows:
        table.add_row(
            row.id,
            account_text(row),
            job_type_label(row.job_type),
            status_text(row.status),
            when(row.created_at),
            when(row.updated_at),
            items_text(row),
        )
    if not rows:
        table.caption = "no jobs match"
    return table


def progress(row: JobRow, width: int = 20) -> RenderableType:
    """Processed / total items as a bar and a count; jobs without items show a dash."""
    counts = row.items
    if counts.total == 0:
        return Text(NONE, style="bright_black")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=width)
    grid.add_column(no_wrap=True)
    grid.add_row(
        ProgressBar(total=counts.total, completed=counts.processed, width=width),
        f"{counts.processed}/{counts.total} items",
    )
    return grid


def watch_view(
    rows: Sequence[JobRow], *, refreshed_at: datetime, problem: str | None = None
) -> RenderableType:
    """The live screen of ``jobs watch``: jobs in flight with progress, then the rest."""
    flying = [r for r in rows if r.in_flight]
    table = Table(title="Jobs in flight", title_justify="left")
    table.add_column("ID", no_wrap=True, overflow="fold")
    table.add_column("Amazon Account")
    table.add_column("Job Type")
    table.add_column("Job Status", no_wrap=True)
    table.add_column("Progress")
    table.add_column("Last Update (UTC)", no_wrap=True)
    for row in flying:
        table.add_row(
            row.id,
            account_text(row),
            job_type_label(row.job_type),
            status_text(row.status),
            progress(row),
            when(row.updated_at),
        )
    if not flying:
        table.caption = "nothing in flight"
    others = [r for r in rows if not r.in_flight]
    footer = Text(f"refreshed {when(refreshed_at)} UTC · Ctrl-C to stop", style="bright_black")
    parts: list[RenderableType] = [table, jobs_table(others, title="Other recent jobs"), footer]
    if problem:
        parts.append(Text(problem, style="red"))
    return Group(*parts)


def job_panel(job: JobDetail) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("ID", job.id)
    grid.add_row("Amazon Account", account_text(job))
    if job.shop_id:
        grid.add_row("Shop", job.shop_id)
    grid.add_row("Job Type", f"{job_type_label(job.job_type)} ({job.job_type})")
    grid.add_row("Job Status", status_text(job.status))
    grid.add_row("Created Date (UTC)", when(job.created_at))
    grid.add_row("Last Update Date (UTC)", when(job.updated_at))
    grid.add_row("Items", items_text(job))
    if job.retry_of:
        grid.add_row("Retry of", job.retry_of)
    if job.retried_by:
        grid.add_row("Retried by", ", ".join(job.retried_by))
    for key, value in sorted(job.data.items()):
        if key != "retry_of":  # shown above
            grid.add_row(key, str(value))
    return Panel(grid, title=f"Job {job.id}", title_align="left", expand=False)


def items_table(items: Iterable[JobItem]) -> Table:
    table = Table(title="Items", title_justify="left")
    table.add_column("Item", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Requested")
    table.add_column("Amazon says")
    count = 0
    for item in items:
        count += 1
        requested = ", ".join(f"{k}={v}" for k, v in item.request.items() if k != "sku")
        table.add_row(
            item.key,
            Text(item.status, style=ITEM_STYLES.get(item.status, "")),
            requested or NONE,
            "\n".join(item.messages) or NONE,
        )
    if not count:
        table.caption = "no items"
    return table


def log_table(entries: Iterable[LogEntry]) -> Table:
    table = Table(title="Log", title_justify="left")
    table.add_column("At (UTC)", no_wrap=True)
    table.add_column("Level", no_wrap=True)
    table.add_column("Message")
    count = 0
    for entry in entries:
        count += 1
        style = LEVEL_STYLES.get(entry.level, "")
        table.add_row(when(entry.at), Text(entry.level, style=style), entry.message)
    if not count:
        table.caption = "empty"
    return table


def buckets_table(buckets: Sequence[Bucket]) -> Table:
    table = Table(title="Quota buckets (per seller)", title_justify="left")
    table.add_column("Seller")
    table.add_column("Region", no_wrap=True)
    table.add_column("Quota class", no_wrap=True)
    table.add_column("Tokens / burst", justify="right", no_wrap=True)
    table.add_column("Restore rate", no_wrap=True)
    table.add_column("Hour used / cap", justify="right", no_wrap=True)
    table.add_column("Queue", justify="right")
    table.add_column("Next grant (UTC)", no_wrap=True)
    ordered = sorted(
        buckets,
        key=lambda b: (b.quota_key.seller_id, b.quota_key.region, b.quota_key.quota_class),
    )
    for b in ordered:
        tokens = Text(f"{b.tokens:.1f} / {b.burst}")
        if b.tokens < 1:
            tokens.stylize("yellow")
        hourly = NONE if b.hourly_cap is None else f"{b.used_last_hour or 0} / {b.hourly_cap}"
        table.add_row(
            b.quota_key.seller_id,
            b.quota_key.region,
            b.quota_key.quota_class,
            tokens,
            rate(b.rate_per_s),
            hourly,
            str(b.queue_depth),
            when(b.next_grant_at) if b.queue_depth else NONE,
        )
    if not buckets:
        table.caption = "no buckets yet (the throttle reports a bucket once it is used)"
    return table


def size_text(size: int | None) -> str:
    if size is None:
        return NONE
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def stored_value(letter: DeadLetter) -> Text:
    """How the letter keeps the original value: copied, or only referred to (its size,
    SHA-256 and first bytes; a replay reads it back from its topic), or none."""
    if letter.raw_stored == "none":
        return Text("none (tombstone)", style="bright_black")
    style = "yellow" if letter.raw_stored == "reference" else ""
    text = Text(f"{letter.raw_stored}, {size_text(letter.raw_size)}", style=style)
    if letter.raw_sha256:
        text.append(f"\nsha256 {letter.raw_sha256[:16]}…", style="bright_black")
    start = letter.raw_value if letter.raw_stored == "copy" else letter.raw_head
    if start:
        shown = start[:40].encode("unicode_escape").decode("ascii")
        encoding = "" if letter.raw_encoding == "utf-8" else f" ({letter.raw_encoding})"
        text.append(f"\n{shown}{'…' if len(start) > 40 else ''}{encoding}", style="cyan")
    return text


def replay_summary(sent: DeadLetterReplayed) -> str:
    """Where a replay sent the original, and where it came from."""
    if sent.topic is None:
        return ""
    details = [] if sent.size is None else [size_text(sent.size)]
    if sent.raw_stored == "reference":
        details.append("read back from its topic")
    elif sent.raw_stored == "copy":
        details.append("from the letter's copy")
    elif sent.size is None:
        details.append("a tombstone")
    inner = f" ({', '.join(details)})" if details else ""
    return f" to {sent.topic} {sent.partition}:{sent.offset}{inner}"


def dead_letters_table(letters: Sequence[DeadLetter]) -> Table:
    table = Table(title="Dead letters", title_justify="left")
    table.add_column("ID", no_wrap=True, overflow="fold")
    table.add_column("Topic", no_wrap=True)
    table.add_column("Partition:offset", no_wrap=True)
    table.add_column("Key")
    table.add_column("Consumer group")
    table.add_column("Value")
    table.add_column("Error")
    table.add_column("At (UTC)", no_wrap=True)
    for d in letters:
        table.add_row(
            d.id,
            d.original_topic,
            f"{d.partition}:{d.offset}",
            d.key or NONE,
            d.consumer_group or NONE,
            stored_value(d),
            Text(d.error, style="red"),
            when(d.occurred_at),
        )
    if not letters:
        table.caption = "nothing dead-lettered"
    return table


def accounts_table(accounts: Sequence[Account]) -> Table:
    table = Table(title="Amazon accounts", title_justify="left")
    table.add_column("Account", no_wrap=True)
    table.add_column("Name")
    table.add_column("Shop", no_wrap=True)
    table.add_column("Seller", no_wrap=True)
    table.add_column("Region", no_wrap=True)
    table.add_column("Marketplaces")
    for a in accounts:
        table.add_row(
            a.account_id,
            a.name,
            a.shop_id,
            a.seller_id or NONE,
            a.region or NONE,
            ", ".join(a.marketplace_ids) or NONE,
        )
    if not accounts:
        table.caption = "no accounts"
    return table


def bulk_table(action: str, answer: BulkResults) -> Table:
    """A bulk action's result per job: requested (a retry's new job) or refused, why."""
    table = Table(title=f"Bulk {action}: {answer.matched} job(s)", title_justify="left")
    table.add_column("Job", no_wrap=True)
    table.add_column("Outcome", no_wrap=True)
    table.add_column("New job" if action == "retry" else "Reason")
    if action == "retry":
        table.add_column("Reason")
    for r in answer.results:
        style = "green" if r.outcome == "requested" else "red"
        cells: list[str | Text] = [r.job_id, Text(r.outcome, style=style)]
        if action == "retry":
            cells.append(r.new_job_id or NONE)
        cells.append(r.reason or NONE)
        table.add_row(*cells)
    if not answer.results:
        table.caption = "no job matched"
    return table


def every(seconds: int) -> str:
    """An interval as people say it: 15 min, 2 h, 1 d 6 h."""
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")) if n
    ]
    return " ".join(parts) or "0 s"


def schedules_table(schedules: Sequence[Schedule]) -> Table:
    table = Table(title="Schedules", title_justify="left")
    table.add_column("Schedule", no_wrap=True)
    table.add_column("Account", no_wrap=True)
    table.add_column("Shop", no_wrap=True)
    table.add_column("Runs")
    table.add_column("Every", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Since", no_wrap=True)
    for s in schedules:
        table.add_row(
            s.schedule_id,
            s.account_id,
            s.shop_id,
            job_type_label(s.job_type),
            every(s.interval_s),
            "paused" if s.paused else "active",
            when(s.created_at),
        )
    if not schedules:
        table.caption = "no schedules"
    return table
