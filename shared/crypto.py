"""Seller credentials at rest: AES-256-GCM under a key derived from AMAZON_JOBS_SECRET_KEY.

The account id is bound as associated data, so a sealed blob copied onto another account
does not open. ``key_id`` names the derived key (not the key itself), so a service with
the wrong secret says so instead of failing with an opaque authentication error.

Rotation: seal with the new secret; open with the new secret and the ones before it
(``open_credentials([new, old], ...)``): the sealed blob's ``key_id`` picks the one that
sealed it, so accounts registered under the old secret keep working until re-registered.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.events import EncryptedCredentials
from shared.spapi.auth import LwaCredentials

_INFO = b"amazon-jobs/lwa-credentials/v1"
_NONCE_BYTES = 12


class CredentialsError(ValueError):
    """Sealed credentials that cannot be opened with this service's secret."""


def _derive(secret_key: str) -> bytes:
    if len(secret_key) < 16:
        raise CredentialsError("AMAZON_JOBS_SECRET_KEY must be at least 16 characters")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode("utf-8")
    )


def key_id(secret_key: str) -> str:
    return hashlib.sha256(b"key-id:" + _derive(secret_key)).hexdigest()[:16]


def seal_credentials(
    secret_key: str, credentials: LwaCredentials, *, account_id: str
) -> EncryptedCredentials:
    plain = json.dumps(
        {
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
            "refresh_token": credentials.refresh_token,
            "seller_id": credentials.seller_id,
        }
    ).encode("utf-8")
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_derive(secret_key)).encrypt(nonce, plain, account_id.encode("utf-8"))
    return EncryptedCredentials(
        key_id=key_id(secret_key), ciphertext=base64.b64encode(nonce + sealed).decode("ascii")
    )


def open_credentials(
    secret_key: str | Sequence[str], sealed: EncryptedCredentials, *, account_id: str
) -> LwaCredentials:
    """Open with ``secret_key``, or with whichever of several keys sealed it (rotation)."""
    keys = [secret_key] if isinstance(secret_key, str) else list(secret_key)
    chosen = next((k for k in keys if key_id(k) == sealed.key_id), None)
    if chosen is None:
        raise CredentialsError(
            f"credentials of account {account_id!r} were sealed with another "
            "AMAZON_JOBS_SECRET_KEY (key id differs): give every service the same key"
        )
    try:
        raw = base64.b64decode(sealed.ciphertext, validate=True)
        plain = AESGCM(_derive(chosen)).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], account_id.encode("utf-8")
        )
        fields = json.loads(plain)
    except (InvalidTag, ValueError) as exc:
        raise CredentialsError(f"credentials of account {account_id!r} do not open") from exc
    return LwaCredentials(
        client_id=fields["client_id"],
        client_secret=fields["client_secret"],
        refresh_token=fields["refresh_token"],
        seller_id=fields["seller_id"],
    )
