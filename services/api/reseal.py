"""Re-seal every account's credentials with the current key: the last step of a rotation
of ``AMAZON_JOBS_SECRET_KEY`` (docs/design.md §17).

    AMAZON_JOBS_SECRET_KEY=<new> AMAZON_JOBS_OLD_SECRET_KEYS=<old> python -m services.api.reseal

Reads ``amazon.accounts`` to its end; each account whose credentials the current key does
not open alone is opened with the old keys and published again sealed with the current
one (the topic is compacted: the new value replaces the old). Safe to run again: an
account already under the current key is left as it is. Exits 1 when an account opens
with none of the keys, naming it, so the old keys are not dropped too early.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field

from services.api.settings import ApiSettings
from shared.accounts import AccountRegistry
from shared.crypto import CredentialsError, open_credentials, seal_credentials
from shared.events import AccountRegistered, utcnow
from shared.kafka.producer import EventPublisher, make_producer
from shared.kafka.tail import TopicTail
from shared.topics import ACCOUNTS


@dataclass
class Resealed:
    resealed: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    unopened: list[str] = field(default_factory=list)


def reseal_one(
    account: AccountRegistered, current_key: str, keys: list[str]
) -> AccountRegistered | None:
    """The account sealed with ``current_key``; None when it already is.
    CredentialsError when no key opens it."""
    try:
        open_credentials(current_key, account.credentials, account_id=account.account_id)
        return None
    except CredentialsError:
        pass
    opened = open_credentials(keys, account.credentials, account_id=account.account_id)
    sealed = seal_credentials(current_key, opened, account_id=account.account_id)
    return account.model_copy(update={"credentials": sealed, "occurred_at": utcnow()})


async def reseal_all(settings: ApiSettings) -> Resealed:
    if not settings.secret_key:
        raise SystemExit("AMAZON_JOBS_SECRET_KEY is not set: nothing to seal with")
    registry = AccountRegistry()
    tail = TopicTail(settings.kafka_bootstrap_servers, ACCOUNTS, registry.on_record)
    producer = make_producer(settings.kafka_bootstrap_servers, client_id="reseal")
    await tail.start()
    await producer.start()
    done = Resealed()
    try:
        await tail.wait_caught_up()
        publisher = EventPublisher(producer, settings.signer())
        for account_id, account in sorted(registry.accounts.items()):
            try:
                again = reseal_one(account, settings.secret_key, settings.opening_keys)
            except CredentialsError:
                done.unopened.append(account_id)
                continue
            if again is None:
                done.current.append(account_id)
            else:
                await publisher.publish(ACCOUNTS, account_id, again)
                done.resealed.append(account_id)
    finally:
        await producer.stop()
        await tail.stop()
    return done


def main() -> int:
    done = asyncio.run(reseal_all(ApiSettings()))
    print(
        f"re-sealed {len(done.resealed)} account(s) with the current key; "
        f"{len(done.current)} already were"
    )
    if done.unopened:
        print(
            f"{len(done.unopened)} account(s) open with none of the keys: "
            + ", ".join(done.unopened)
            + " (keep the old keys until they are re-registered)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
