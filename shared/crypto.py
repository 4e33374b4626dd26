"""Seller credentials at rest: AES-256-GCM under ``AMAZON_JOBS_SECRET_KEY`` (docs/design.md §17).

The key is 32 random bytes (base64 or hex), not a passphrase: a human-chosen secret could
be guessed offline from any sealed blob, whatever the key derivation. Nothing derived
from the key is stored beside the ciphertext (``key_id`` is ``"v2"``, the format): the
AES-GCM tag alone says whether a key opens a blob, so no fast check of guesses exists.
The account id is bound as associated data, so a blob copied onto another account does
not open.

Rotation: seal with the current key; open with it and then with each of
``AMAZON_JOBS_OLD_SECRET_KEYS`` in turn. ``python -m services.api.reseal`` re-seals every
account with the current key, after which the old ones can go.

Blobs of the first format (``key_id`` = 16 hex digits, sealed under a passphrase through
HKDF) still open when that passphrase is among the old keys, so a deployment moves to a
random key without re-registering its sellers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.events import EncryptedCredentials
from shared.spapi.auth import LwaCredentials

KEY_BYTES = 32
FORMAT = "v2"  # the key_id of every blob sealed now: names the format, not the key
_INFO = b"amazon-jobs/lwa-credentials/v2"
_LEGACY_INFO = b"amazon-jobs/lwa-credentials/v1"
_NONCE_BYTES = 12
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
KEY_ADVICE = (
    "AMAZON_JOBS_SECRET_KEY must be 32 random bytes as base64 or hex "
    "(`openssl rand -base64 32`); a passphrase may only be one of "
    "AMAZON_JOBS_OLD_SECRET_KEYS, to open what it sealed"
)


class CredentialsError(ValueError):
    """Sealed credentials that cannot be opened with this service's keys."""


def parse_key(secret_key: str) -> bytes:
    """The 32 bytes of a key given as base64 (standard or URL-safe, padding optional) or
    as 64 hex digits; CredentialsError for anything else (a passphrase)."""
    text = secret_key.strip()
    if _HEX_KEY.fullmatch(text):
        return bytes.fromhex(text)
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise CredentialsError(KEY_ADVICE)
    return raw


def _aead(key: bytes) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key))


def _legacy_key(passphrase: str) -> bytes:
    """The first format's key: HKDF over the passphrase."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LEGACY_INFO).derive(
        passphrase.encode("utf-8")
    )


def _legacy_key_id(key: bytes) -> str:
    """The key id blobs of the first format carry (kept only to pick the passphrase)."""
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:16]


def _plain(credentials: LwaCredentials) -> bytes:
    return json.dumps(
        {
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "refresh_token": credentials.refresh_token,
            "seller_id": credentials.seller_id,
        }
    ).encode("utf-8")


def seal_credentials(
    secret_key: str, credentials: LwaCredentials, *, account_id: str
) -> EncryptedCredentials:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(parse_key(secret_key)).encrypt(
        nonce, _plain(credentials), account_id.encode("utf-8")
    )
    return EncryptedCredentials(
        key_id=FORMAT, ciphertext=base64.b64encode(nonce + sealed).decode("ascii")
    )


def seal_with_passphrase(
    passphrase: str, credentials: LwaCredentials, *, account_id: str
) -> EncryptedCredentials:
    """A blob of the first format, as deployments before v2 sealed them (for tests of the
    move to a random key)."""
    key = _legacy_key(passphrase)
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, _plain(credentials), account_id.encode("utf-8"))
    return EncryptedCredentials(
        key_id=_legacy_key_id(key),
        ciphertext=base64.b64encode(nonce + sealed).decode("ascii"),
    )


def open_credentials(
    keys: str | Sequence[str], sealed: EncryptedCredentials, *, account_id: str
) -> LwaCredentials:
    """Open with the first of ``keys`` (current key first, then old ones) that opens it."""
    candidates = [keys] if isinstance(keys, str) else list(keys)
    try:
        raw = base64.b64decode(sealed.ciphertext, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CredentialsError(f"credentials of account {account_id!r} are not base64") from exc
    nonce, body, bound = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], account_id.encode("utf-8")
    aeads: list[AESGCM] = []
    if sealed.key_id == FORMAT:
        for key in candidates:
            try:
                aeads.append(_aead(parse_key(key)))
            except CredentialsError:
                continue  # a passphrase: it only ever sealed the first format
    else:
        legacy = (_legacy_key(k) for k in candidates)
        aeads = [AESGCM(key) for key in legacy if _legacy_key_id(key) == sealed.key_id]
    for aead in aeads:
        try:
            fields = json.loads(aead.decrypt(nonce, body, bound))
        except InvalidTag:
            continue
        return LwaCredentials(
            client_id=fields["client_id"],
            client_secret=fields["client_secret"],
            refresh_token=fields["refresh_token"],
            seller_id=fields["seller_id"],
        )
    raise CredentialsError(
        f"credentials of account {account_id!r} open with none of AMAZON_JOBS_SECRET_KEY "
        "and AMAZON_JOBS_OLD_SECRET_KEYS: give every service the key that sealed them"
    )


def seal_secret(secret_key: str, secret: str, *, bound_to: str) -> EncryptedCredentials:
    """Any other secret (a webhook's signing secret) sealed like credentials, bound to
    ``bound_to`` (``webhook:<id>``: no account id has a colon, so never one of theirs)."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(parse_key(secret_key)).encrypt(
        nonce, secret.encode("utf-8"), bound_to.encode("utf-8")
    )
    return EncryptedCredentials(
        key_id=FORMAT, ciphertext=base64.b64encode(nonce + sealed).decode("ascii")
    )


def open_secret(keys: Sequence[str], sealed: EncryptedCredentials, *, bound_to: str) -> str:
    """What :func:`seal_secret` sealed, opened with the first of ``keys`` that opens it."""
    try:
        raw = base64.b64decode(sealed.ciphertext, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CredentialsError(f"secret of {bound_to!r} is not base64") from exc
    nonce, body = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    for key in keys:
        try:
            aead = _aead(parse_key(key))
            return aead.decrypt(nonce, body, bound_to.encode("utf-8")).decode("utf-8")
        except (CredentialsError, InvalidTag):
            continue
    raise CredentialsError(
        f"secret of {bound_to!r} opens with none of AMAZON_JOBS_SECRET_KEY and "
        "AMAZON_JOBS_OLD_SECRET_KEYS"
    )
