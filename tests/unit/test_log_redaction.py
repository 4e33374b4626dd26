"""Passwords in URLs never reach a log line; everything else in the line stays."""

from __future__ import annotations

import json
import logging

import pytest

from services.api.settings import ApiSettings
from shared.logs import JsonFormatter, redact_urls


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "mongodb://app:s3cr%40t@db1:27017,db2:27017/jobs",
            "mongodb://app:***@db1:27017,db2:27017/jobs",
        ),
        (
            "mongodb://db/jobs?tls=true&tlsCertificateKeyFilePassword=pw&w=1",
            "mongodb://db/jobs?tls=true&tlsCertificateKeyFilePassword=***&w=1",
        ),
        (
            "https://s3.example/doc?X-Amz-Security-Token=abc",
            "https://s3.example/doc?X-Amz-Security-Token=***",
        ),
        ("mongodb://127.0.0.1:27017/amazon_jobs", "mongodb://127.0.0.1:27017/amazon_jobs"),
        ("mongodb://user-only@db/jobs", "mongodb://user-only@db/jobs"),
        ("kafka-1:9092,kafka-2:9092", "kafka-1:9092,kafka-2:9092"),
        ("job ps-1: 3 items at 10:42", "job ps-1: 3 items at 10:42"),
    ],
)
def test_redact_urls(text: str, expected: str) -> None:
    assert redact_urls(text) == expected


def test_a_log_line_naming_a_url_with_a_password_keeps_the_rest() -> None:
    record = logging.makeLogRecord(
        {"msg": "cannot reach %s", "args": ("mongodb://app:hunter2@db/jobs",), "levelname": "ERROR"}
    )
    record.__dict__["url"] = "mongodb://app:hunter2@db/jobs"
    line = JsonFormatter("api").format(record)
    assert "hunter2" not in line
    parsed = json.loads(line)
    assert parsed["msg"] == "cannot reach mongodb://app:***@db/jobs"
    assert parsed["url"] == "mongodb://app:***@db/jobs"


def test_the_start_line_has_no_secret_setting() -> None:
    settings = ApiSettings(
        mongo_url="mongodb://app:hunter2@db/jobs",
        secret_key="k" * 43 + "=",
        api_keys="*:admin-key",
    )
    summary = settings.safe_summary()
    assert summary["mongo_url"] == "mongodb://app:***@db/jobs"
    assert "secret_key" not in summary and "api_keys" not in summary
    assert "hunter2" not in json.dumps(summary, default=str)
