"""Rotation of the credentials key, end to end on a broker: accounts sealed under an old
random key and under a passphrase of the first format are re-sealed with the new key by
``python -m services.api.reseal``; an account no key opens is named and makes it exit 1;
a second run changes nothing."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devtools.topics_read import read_to_end
from shared.crypto import (
    FORMAT,
    CredentialsError,
    open_credentials,
    open_secret,
    seal_credentials,
    seal_secret,
    seal_with_passphrase,
)
from shared.events import AccountRegistered
from shared.spapi.auth import LwaCredentials
from shared.topics import ACCOUNTS, WEBHOOKS
from shared.webhooks import WebhookDefined
from tests.conftest import own_broker, publisher_on
from tests.factories import account_registered

pytestmark = pytest.mark.integration

NEW = base64.b64encode(os.urandom(32)).decode()
OLD = base64.b64encode(os.urandom(32)).decode()
PASSPHRASE = "the-passphrase-make-up-used-in-2025"
LOST = base64.b64encode(os.urandom(32)).decode()  # a key nobody has any more
SECRET = "whsec_" + "s" * 43
CREDS = LwaCredentials("amzn1.app", "client-secret", "Atzr|refresh", "ARESEAL")


def sealed_with(account_id: str, seal: str, *, passphrase: bool = False) -> AccountRegistered:
    account = account_registered(account_id)
    sealer = seal_with_passphrase if passphrase else seal_credentials
    credentials = sealer(seal, CREDS, account_id=account_id)
    return account.model_copy(update={"credentials": credentials})


@pytest.fixture(scope="module")
async def broker(servers_root: Path) -> AsyncIterator[str]:
    """Its own: the command re-seals every account on the broker it is given."""
    async with own_broker(servers_root) as bootstrap:
        yield bootstrap


def reseal(bootstrap: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "AMAZON_JOBS_SECRET_KEY": NEW,
        "AMAZON_JOBS_OLD_SECRET_KEYS": f"{OLD},{PASSPHRASE}",
    }
    return subprocess.run(
        [sys.executable, "-m", "services.api.reseal"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def latest(bootstrap: str) -> dict[str, AccountRegistered]:
    events = await read_to_end(bootstrap, ACCOUNTS.name)
    return {e.account_id: e for e in events if isinstance(e, AccountRegistered)}


def webhook_sealed_with(webhook_id: str, seal: str) -> WebhookDefined:
    return WebhookDefined(
        webhook_id=webhook_id,
        shop_id="shop1",
        url="https://hooks.example.com/in",
        events=["job.error"],
        secret=seal_secret(seal, SECRET, bound_to=f"webhook:{webhook_id}"),
        created_at=datetime.now(UTC),
    )


async def latest_webhooks(bootstrap: str) -> dict[str, WebhookDefined]:
    events = await read_to_end(bootstrap, WEBHOOKS.name)
    return {e.webhook_id: e for e in events if isinstance(e, WebhookDefined)}


async def test_reseal_moves_every_account_to_the_new_key(broker: str) -> None:
    hooks = [
        webhook_sealed_with("whk-old", OLD),
        webhook_sealed_with("whk-current", NEW),
        webhook_sealed_with("whk-lost", LOST),
    ]
    accounts = [
        sealed_with("acc-randomold", OLD),
        sealed_with("acc-passphrase", PASSPHRASE, passphrase=True),
        sealed_with("acc-current", NEW),
        sealed_with("acc-lost", LOST),
    ]
    async with publisher_on(broker) as publisher:
        await publisher.publish_many([(ACCOUNTS, a.account_id, a) for a in accounts])
        await publisher.publish_many([(WEBHOOKS, h.webhook_id, h) for h in hooks])

    run = reseal(broker)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "re-sealed 2 account(s) with the current key; 1 already were" in run.stdout
    assert "acc-lost" in run.stderr and NEW not in run.stdout + run.stderr
    assert "re-sealed 1 webhook secret(s) with the current key; 1 already were" in run.stdout
    assert "whk-lost" in run.stderr

    now = await latest(broker)
    for account_id in ("acc-randomold", "acc-passphrase", "acc-current"):
        credentials = now[account_id].credentials
        assert credentials.key_id == FORMAT
        assert open_credentials(NEW, credentials, account_id=account_id) == CREDS
    for old in (OLD, PASSPHRASE):
        with pytest.raises(CredentialsError):
            open_credentials(old, now["acc-randomold"].credentials, account_id="acc-randomold")
    assert now["acc-lost"] == accounts[-1]  # left as it was, for its key's owner
    assert now["acc-randomold"].shop_id == accounts[0].shop_id

    again = reseal(broker)
    assert "re-sealed 0 account(s) with the current key; 3 already were" in again.stdout
    assert "re-sealed 0 webhook secret(s) with the current key; 2 already were" in again.stdout


async def test_reseal_moves_webhook_secrets_to_the_new_key_too(broker: str) -> None:
    """Run after the accounts' test, on the webhooks it published: a notifier given only
    the new key must still sign every delivery (docs/design.md §21)."""
    now = await latest_webhooks(broker)
    for webhook_id in ("whk-old", "whk-current"):
        assert (
            open_secret([NEW], now[webhook_id].secret, bound_to=f"webhook:{webhook_id}") == SECRET
        )
    with pytest.raises(CredentialsError):
        open_secret([OLD], now["whk-old"].secret, bound_to="webhook:whk-old")
    with pytest.raises(CredentialsError):  # left as it was: no key here opens it
        open_secret([NEW, OLD], now["whk-lost"].secret, bound_to="webhook:whk-lost")
    run = reseal(broker)
    assert "whk-lost" in run.stderr and run.returncode == 1
