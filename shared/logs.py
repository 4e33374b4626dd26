"""Structured logs: one JSON object per line, with whatever ``extra`` the caller gave."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from shared.tracing import current_ids

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# The password of a URL's user (mongodb://user:password@host), and query values named as
# secrets (?tlsCertificateKeyFilePassword=…, ?token=…); in a URL either is percent-encoded,
# so '@', '&' and whitespace end it.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:@/]*:)[^\s@/]+(?=@)")
_SECRET_QUERY = re.compile(
    r"(?P<head>[?&][^\s=&]*(?:password|secret|token)[^\s=&]*=)[^\s&\"]+", re.IGNORECASE
)
REDACTED = "***"


def redact_urls(text: str) -> str:
    """``text`` with the passwords and secret query values of the URLs in it replaced."""
    if "://" not in text:
        return text
    text = _URL_PASSWORD.sub(rf"\g<head>{REDACTED}", text)
    return _SECRET_QUERY.sub(rf"\g<head>{REDACTED}", text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        # The span the line was written in: its trace shows the job's path across services.
        for key, value in current_ids().items():
            line.setdefault(key, value)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        # Whatever a line says (a setting, an error naming its URL), no password leaves.
        return redact_urls(json.dumps(line, default=str))


def setup_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Client libraries are chatty at INFO about every reconnect.
    for noisy in ("aiokafka", "kafka", "faust", "mode", "pymongo", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
