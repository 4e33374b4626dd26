"""Who wrote a record: HMAC signatures of inbound events and of account writes
(docs/design.md §22).

A shop signs each event it publishes on an ingress topic with its own key, which the API
hands it (``GET /v1/signing-key``); the submitter derives the key of the shop an event
claims and refuses (dead-letters) one whose signature does not match. ``amazon.accounts``
is written only by the system: its records carry a signature with the system key, which
no shop has. Every key is derived from one secret (``AMAZON_JOBS_SIGNING_KEY``, else the
credentials key), so nothing needs storing or distributing between services.

The signature is a record header, so the event's JSON and its schema are unchanged; it
covers the topic, the record key and the value, so a signed record cannot be moved to
another topic or key, nor altered.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.crypto import parse_key
from shared.topics import ACCOUNTS, CATALOG_EVENTS, JOB_REQUESTS, SCHEDULES, WEBHOOKS

HEADER = "amazon-jobs-signature"
_VERSION = b"v1="
# Topics a shop may write, each event naming the shop it comes from (``shop_id``).
INGRESS = frozenset({JOB_REQUESTS.name, CATALOG_EVENTS.name})
# Topics only the system (the API) writes: a shop writing a schedule or a webhook naming
# another shop would have jobs made on that shop's accounts, or receive its jobs.
SYSTEM_ONLY = frozenset({ACCOUNTS.name, SCHEDULES.name, WEBHOOKS.name})

Headers = Sequence[tuple[str, bytes]]


class Verdict(StrEnum):
    VALID = "valid"  # signed with the expected key
    UNSIGNED = "unsigned"  # no signature header (a producer from before signing)
    MISMATCH = "mismatch"  # signed, but not with the expected key, or altered since


def master_secret(signing_key: str | None, secret_key: str | None) -> bytes:
    """The secret every signing key derives from: ``AMAZON_JOBS_SIGNING_KEY`` when given
    (so the credentials key can rotate without new shop keys), else one derived from
    ``AMAZON_JOBS_SECRET_KEY``."""
    if signing_key:
        return parse_key(signing_key)
    if secret_key:
        return hmac.digest(parse_key(secret_key), b"amazon-jobs event signing", "sha256")
    raise ValueError("signing events needs AMAZON_JOBS_SIGNING_KEY or AMAZON_JOBS_SECRET_KEY")


def shop_key(master: bytes, shop_id: str) -> bytes:
    return hmac.digest(master, b"shop\x00" + shop_id.encode("utf-8"), "sha256")


def system_key(master: bytes) -> bytes:
    return hmac.digest(master, b"system\x00", "sha256")


def signature(key: bytes, topic: str, record_key: bytes | None, value: bytes | None) -> bytes:
    """The header value: each part length-prefixed, so no two records sign alike; a
    missing key or value (a tombstone) differs from an empty one."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in (topic.encode("utf-8"), record_key, value):
        if part is None:
            mac.update(b"\xff\xff\xff\xff")
        else:
            mac.update(len(part).to_bytes(4, "big") + part)
    return _VERSION + mac.hexdigest().encode("ascii")


def verify(
    key: bytes, topic: str, record_key: bytes | None, value: bytes | None, headers: Headers
) -> Verdict:
    given = [v for k, v in headers if k == HEADER]
    if not given:
        return Verdict.UNSIGNED
    expected = signature(key, topic, record_key, value)
    if len(given) == 1 and hmac.compare_digest(given[0], expected):
        return Verdict.VALID
    return Verdict.MISMATCH


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs what the system publishes: ingress events with the key of the shop they
    name (the API and the scheduler publish for a shop they have authenticated or own),
    account records with the system key."""

    master: bytes

    def headers(
        self, topic: str, record_key: bytes | None, value: bytes | None, shop_id: str | None
    ) -> list[tuple[str, bytes]]:
        if topic in SYSTEM_ONLY:
            key = system_key(self.master)
        elif topic in INGRESS and shop_id:
            key = shop_key(self.master, shop_id)
        else:
            return []
        return [(HEADER, signature(key, topic, record_key, value))]


@dataclass(frozen=True, slots=True)
class Verifier:
    """Checks records as they are read. ``require_signed``: whether an unsigned record is
    refused too (AMAZON_JOBS_REQUIRE_SIGNED_EVENTS); a wrong signature always is."""

    master: bytes
    require_signed: bool

    def ingress_refusal(
        self,
        topic: str,
        record_key: bytes | None,
        value: bytes | None,
        headers: Headers,
        shop_id: str,
    ) -> str | None:
        """Why an event claiming ``shop_id`` is refused, or None."""
        verdict = verify(shop_key(self.master, shop_id), topic, record_key, value, headers)
        if verdict is Verdict.MISMATCH:
            return (
                f"signature does not match shop {shop_id!r}: signed with another shop's key, "
                "or altered"
            )
        if verdict is Verdict.UNSIGNED and self.require_signed:
            return f"unsigned event claiming shop {shop_id!r} (signed events are required)"
        return None

    def system_refusal(
        self, topic: str, record_key: bytes | None, value: bytes | None, headers: Headers
    ) -> str | None:
        """Why a record of a system-only topic is refused, or None."""
        verdict = verify(system_key(self.master), topic, record_key, value, headers)
        if verdict is Verdict.MISMATCH:
            return f"{topic} is written only by the system: the signature is not the system's"
        if verdict is Verdict.UNSIGNED and self.require_signed:
            return f"{topic} is written only by the system: the record is unsigned"
        return None
