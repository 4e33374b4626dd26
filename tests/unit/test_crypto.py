"""Credentials at rest: they open with the right key for the right account only."""

from __future__ import annotations

import pytest

from shared.crypto import CredentialsError, open_credentials, seal_credentials
from shared.spapi.auth import LwaCredentials

CREDS = LwaCredentials(
    client_id="amzn1.app",
    client_secret="s3cr3t-planted",
    refresh_token="Atzr|planted-refresh",
    seller_id="A1SELLER",
)
KEY = "a-long-test-secret-key"


def test_round_trip_and_no_plaintext() -> None:
    sealed = seal_credentials(KEY, CREDS, account_id="acc-de")
    assert "planted" not in sealed.model_dump_json()
    assert open_credentials(KEY, sealed, account_id="acc-de") == CREDS


def test_wrong_key_or_account_does_not_open() -> None:
    sealed = seal_credentials(KEY, CREDS, account_id="acc-de")
    with pytest.raises(CredentialsError, match="another AMAZON_JOBS_SECRET_KEY"):
        open_credentials("another-long-secret-key", sealed, account_id="acc-de")
    with pytest.raises(CredentialsError, match="do not open"):
        open_credentials(KEY, sealed, account_id="acc-uk")
    tampered = sealed.model_copy(update={"ciphertext": sealed.ciphertext[:-4] + "AAAA"})
    with pytest.raises(CredentialsError):
        open_credentials(KEY, tampered, account_id="acc-de")


def test_short_keys_are_refused() -> None:
    with pytest.raises(CredentialsError, match="at least 16"):
        seal_credentials("short", CREDS, account_id="acc-de")
