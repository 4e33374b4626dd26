"""Credentials at rest: a random key, no verifier beside the blob, rotation."""

from __future__ import annotations

import base64
import os

import pytest

from shared.crypto import (
    FORMAT,
    CredentialsError,
    open_credentials,
    parse_key,
    seal_credentials,
    seal_with_passphrase,
)
from shared.settings import ServiceSettings
from shared.spapi.auth import LwaCredentials

CREDS = LwaCredentials(
    client_id="amzn1.app",
    client_secret="s3cr3t-planted",
    refresh_token="Atzr|planted-refresh",
    seller_id="A1SELLER",
)


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


KEY, OTHER = new_key(), new_key()
PASSPHRASE = "the-old-passphrase-of-2025"


def test_round_trip_and_no_plaintext() -> None:
    sealed = seal_credentials(KEY, CREDS, account_id="acc-de")
    assert "planted" not in sealed.model_dump_json()
    assert open_credentials(KEY, sealed, account_id="acc-de") == CREDS
    assert seal_credentials(KEY, CREDS, account_id="acc-de").ciphertext != sealed.ciphertext


def test_nothing_beside_the_blob_says_which_key_sealed_it() -> None:
    """No fast verifier: blobs of two keys carry the same key_id, the format's."""
    one, two = (seal_credentials(k, CREDS, account_id="acc-de") for k in (KEY, OTHER))
    assert one.key_id == two.key_id == FORMAT


def test_wrong_key_account_or_bytes_do_not_open() -> None:
    sealed = seal_credentials(KEY, CREDS, account_id="acc-de")
    with pytest.raises(CredentialsError, match="open with none"):
        open_credentials(OTHER, sealed, account_id="acc-de")
    with pytest.raises(CredentialsError, match="open with none"):
        open_credentials(KEY, sealed, account_id="acc-uk")
    tampered = sealed.model_copy(update={"ciphertext": sealed.ciphertext[:-4] + "AAAA"})
    with pytest.raises(CredentialsError):
        open_credentials(KEY, tampered, account_id="acc-de")


@pytest.mark.parametrize(
    "key",
    [
        base64.b64encode(bytes(range(32))).decode(),
        base64.urlsafe_b64encode(bytes(range(200, 232))).decode().rstrip("="),
        bytes(range(32)).hex(),
    ],
)
def test_a_key_is_32_bytes_as_base64_or_hex(key: str) -> None:
    assert len(parse_key(key)) == 32


@pytest.mark.parametrize(
    "key", [PASSPHRASE, "short", base64.b64encode(os.urandom(16)).decode(), "x" * 64]
)
def test_a_passphrase_or_a_short_key_is_refused_saying_how_to_make_one(key: str) -> None:
    with pytest.raises(CredentialsError, match="openssl rand -base64 32"):
        seal_credentials(key, CREDS, account_id="acc-de")
    with pytest.raises(ValueError, match="32 random bytes"):
        ServiceSettings(secret_key=key)


def test_a_rotated_key_opens_what_the_old_one_sealed_and_seals_anew() -> None:
    before = seal_credentials(OTHER, CREDS, account_id="acc-de")
    settings = ServiceSettings(secret_key=KEY, old_secret_keys=f" {OTHER} ,")
    assert settings.opening_keys == [KEY, OTHER]
    assert open_credentials(settings.opening_keys, before, account_id="acc-de") == CREDS
    with pytest.raises(CredentialsError):
        open_credentials(KEY, before, account_id="acc-de")


def test_blobs_sealed_under_a_passphrase_open_while_it_is_an_old_key() -> None:
    """Deployments before random keys sealed under a passphrase: it opens them from
    AMAZON_JOBS_OLD_SECRET_KEYS, never seals again."""
    legacy = seal_with_passphrase(PASSPHRASE, CREDS, account_id="acc-de")
    assert legacy.key_id != FORMAT
    assert open_credentials([KEY, PASSPHRASE], legacy, account_id="acc-de") == CREDS
    with pytest.raises(CredentialsError):
        open_credentials([KEY, "another-old-passphrase"], legacy, account_id="acc-de")
    settings = ServiceSettings(secret_key=KEY, old_secret_keys=PASSPHRASE)
    assert open_credentials(settings.opening_keys, legacy, account_id="acc-de") == CREDS
