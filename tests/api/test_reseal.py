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
from pathlib import Path

import pytest

from devtools.topics_read import read_to_end
from shared.crypto import (
    FORMAT,
    CredentialsError,
    open_credentials,
    seal_credentials,
    seal_with_passphrase,
)
from shared.events import AccountRegistered
from shared.spapi.auth import LwaCredentials
from shared.topics import ACCOUNTS
from tests.conftest import own_broker, publisher_on
from tests.factories import account_registered

pytestmark = pytest.mark.integration

NEW = base64.b64encode(os.urandom(32)).decode()
OLD = base64.b64encode(os.urandom(32)).decode()
PASSPHRASE = "the-passphrase-make-up-used-in-2025"
LOST = base64.b64encode(os.urandom(32)).decode()  # a key nobody has any more
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


async def test_reseal_moves_every_account_to_the_new_key(broker: str) -> None:
    accounts = [
        sealed_with("acc-randomold", OLD),
        sealed_with("acc-passphrase", PASSPHRASE, passphrase=True),
        sealed_with("acc-current", NEW),
        sealed_with("acc-lost", LOST),
    ]
    async with publisher_on(broker) as publisher:
        await publisher.publish_many([(ACCOUNTS, a.account_id, a) for a in accounts])

    run = reseal(broker)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "re-sealed 2 account(s) with the current key; 1 already were" in run.stdout
    assert "acc-lost" in run.stderr and NEW not in run.stdout + run.stderr

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
