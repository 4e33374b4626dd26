"""Credentials the API seals: rotation of AMAZON_JOBS_SECRET_KEY (shared.crypto)."""

from __future__ import annotations

import pytest

from shared.crypto import CredentialsError, key_id, open_credentials, seal_credentials
from shared.spapi.auth import LwaCredentials

CREDS = LwaCredentials(
    client_id="amzn1.application-oa2-client.x",
    client_secret="planted-client-secret",
    refresh_token="Atzr|planted-refresh-token",
    seller_id="A2EUQ1WTGCTBG2",
)
OLD, NEW = "the-old-secret-key-of-2025", "the-new-secret-key-of-2026"


def test_a_rotated_key_still_opens_what_the_old_one_sealed() -> None:
    before = seal_credentials(OLD, CREDS, account_id="acc-de")
    after = seal_credentials(NEW, CREDS, account_id="acc-de")
    assert (before.key_id, after.key_id) == (key_id(OLD), key_id(NEW))
    for sealed in (before, after):
        assert open_credentials([NEW, OLD], sealed, account_id="acc-de") == CREDS
    with pytest.raises(CredentialsError, match="key id differs"):
        open_credentials(NEW, before, account_id="acc-de")


def test_the_key_id_names_the_key_without_revealing_it() -> None:
    sealed = seal_credentials(NEW, CREDS, account_id="acc-de")
    text = sealed.model_dump_json()
    assert NEW not in text and "planted" not in text
    assert key_id(NEW) != key_id(OLD) and len(key_id(NEW)) == 16
    assert seal_credentials(NEW, CREDS, account_id="acc-de").ciphertext != sealed.ciphertext
