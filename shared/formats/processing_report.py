"""JSON_LISTINGS_FEED processing reports, read back into one outcome per job item.

Issues are matched to items by ``messageId`` through the mapping the feed was built with,
and by ``sku`` when an issue has no (or an unknown) message id. The parse is lenient about
what Amazon leaves out (``issues`` missing, counts missing, odd types) but never guesses
an item accepted when the report says the feed as a whole was not processed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class MessageOutcome(StrEnum):
    ACCEPTED = "accepted"  # no issue, or only INFO
    WARNING = "warning"  # accepted, with warnings to show the merchant
    ERROR = "error"  # not applied; Amazon's messages say why


class Severity(StrEnum):
    ERROR = "ERROR"
    WARNING = "WARNING"
    INFO = "INFO"


class ProcessingReportError(ValueError):
    """The document is not a processing report at all (not JSON, not an object)."""


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    message: str
    code: str | None = None
    message_id: int | None = None
    sku: str | None = None
    attribute_name: str | None = None

    def describe(self) -> str:
        where = f" [{self.attribute_name}]" if self.attribute_name else ""
        return f"{self.code}: {self.message}{where}" if self.code else f"{self.message}{where}"


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    sku: str
    message_id: int | None
    outcome: MessageOutcome
    issues: tuple[Issue, ...] = ()

    @property
    def errors(self) -> list[str]:
        return [i.describe() for i in self.issues if i.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[str]:
        return [i.describe() for i in self.issues if i.severity is Severity.WARNING]


@dataclass(frozen=True, slots=True)
class Summary:
    errors: int | None = None
    warnings: int | None = None
    messages_processed: int | None = None
    messages_accepted: int | None = None
    messages_invalid: int | None = None


@dataclass(frozen=True, slots=True)
class ProcessingReport:
    feed_id: str | None
    seller_id: str | None
    summary: Summary
    items: dict[str, ItemOutcome]  # by sku, one per message of the feed
    feed_issues: tuple[Issue, ...] = ()  # issues tied to no message (e.g. feed format)
    unmatched_issues: tuple[Issue, ...] = ()  # issues naming a message or sku we did not send
    problems: tuple[str, ...] = field(default=())  # entries of the report we could not read

    def by_outcome(self, outcome: MessageOutcome) -> list[ItemOutcome]:
        return [i for i in self.items.values() if i.outcome is outcome]


def parse_processing_report(
    report: bytes | str | Mapping[str, Any], message_skus: Mapping[int, str]
) -> ProcessingReport:
    """Per-item outcomes of one feed document (``message_skus`` from its builder)."""
    data = _load(report)
    raw_header = data.get("header")
    header: Mapping[str, Any] = raw_header if isinstance(raw_header, Mapping) else {}
    summary = _summary(data.get("summary"))

    sku_messages: dict[str, int] = {sku: mid for mid, sku in message_skus.items()}
    per_message: dict[int, list[Issue]] = {mid: [] for mid in message_skus}
    feed_issues: list[Issue] = []
    unmatched: list[Issue] = []
    problems: list[str] = []

    raw_issues = data.get("issues")
    if raw_issues is not None and not isinstance(raw_issues, list):
        problems.append("issues is not a list")
        raw_issues = []
    for position, raw in enumerate(raw_issues or []):
        issue = _issue(raw)
        if issue is None:
            problems.append(f"issue #{position + 1} is unreadable: {raw!r:.200}")
            continue
        if issue.message_id in per_message:
            per_message[issue.message_id].append(issue)
        elif issue.sku is not None and issue.sku in sku_messages:
            per_message[sku_messages[issue.sku]].append(issue)
        elif issue.message_id is None and issue.sku is None:
            feed_issues.append(issue)
        else:
            unmatched.append(issue)

    # A feed-level error with nothing accepted means no message was applied (e.g. the
    # document did not parse): every item failed, for the feed's reasons.
    feed_errors = tuple(i for i in feed_issues if i.severity is Severity.ERROR)
    nothing_applied = bool(feed_errors) and not summary.messages_accepted

    items: dict[str, ItemOutcome] = {}
    for message_id, sku in message_skus.items():
        issues = tuple(per_message[message_id])
        if nothing_applied:
            issues = issues + feed_errors
        items[sku] = ItemOutcome(sku, message_id, _outcome(issues), issues)
    return ProcessingReport(
        feed_id=_str(header.get("feedId")),
        seller_id=_str(header.get("sellerId")),
        summary=summary,
        items=items,
        feed_issues=tuple(feed_issues),
        unmatched_issues=tuple(unmatched),
        problems=tuple(problems),
    )


def _load(report: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(report, Mapping):
        return report
    try:
        data = json.loads(report.decode("utf-8-sig") if isinstance(report, bytes) else report)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProcessingReportError(f"processing report is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProcessingReportError("processing report is not a JSON object")
    return data


def _outcome(issues: tuple[Issue, ...]) -> MessageOutcome:
    severities = {i.severity for i in issues}
    if Severity.ERROR in severities:
        return MessageOutcome.ERROR
    if Severity.WARNING in severities:
        return MessageOutcome.WARNING
    return MessageOutcome.ACCEPTED


def _issue(raw: object) -> Issue | None:
    if not isinstance(raw, Mapping):
        return None
    try:
        severity = Severity(str(raw.get("severity", "")).strip().upper())
    except ValueError:
        return None
    message = _str(raw.get("message")) or ""
    return Issue(
        severity=severity,
        message=message,
        code=_str(raw.get("code")),
        message_id=_int(raw.get("messageId")),
        sku=_str(raw.get("sku")),
        attribute_name=_str(raw.get("attributeName")),
    )


def _summary(raw: object) -> Summary:
    if not isinstance(raw, Mapping):
        return Summary()
    return Summary(
        errors=_int(raw.get("errors")),
        warnings=_int(raw.get("warnings")),
        messages_processed=_int(raw.get("messagesProcessed")),
        messages_accepted=_int(raw.get("messagesAccepted")),
        messages_invalid=_int(raw.get("messagesInvalid")),
    )


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text else None
