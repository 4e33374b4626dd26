"""Keeps presigned-URL credentials out of httpx's own request log.

httpx logs every request at INFO as ``HTTP Request: PUT <full URL> …``. For a presigned
document URL the query string *is* the credential (``X-Amz-Signature``,
``X-Amz-Credential``, ``X-Amz-Security-Token``), valid for minutes; it must not land in
log storage. This filter rewrites such URLs before any handler sees the record.
"""

from __future__ import annotations

import logging

import httpx

HTTPX_LOGGER = "httpx"
_SENSITIVE_QUERY_KEYS = ("signature", "credential", "token", "security")


class PresignedUrlRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, httpx.URL) for arg in record.args
        ):
            record.args = tuple(
                redact_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


def redact_url(url: httpx.URL) -> str:
    keys = [key.lower() for key in url.params]
    if any(marker in key for key in keys for marker in _SENSITIVE_QUERY_KEYS):
        return str(url.copy_with(query=None)) + "?<redacted>"
    return str(url)


def install() -> None:
    """Idempotent: adds the filter to httpx's logger once per process."""
    target = logging.getLogger(HTTPX_LOGGER)
    if not any(isinstance(f, PresignedUrlRedactor) for f in target.filters):
        target.addFilter(PresignedUrlRedactor())
