"""Re-seal every account's credentials, and every webhook's signing secret, with the
current key: the last step of a rotation of ``AMAZON_JOBS_SECRET_KEY`` (docs/design.md
§17, §21).

    AMAZON_JOBS_SECRET_KEY=<new> AMAZON_JOBS_OLD_SECRET_KEYS=<old> python -m services.api.reseal

Reads ``amazon.accounts`` to its end; each account whose credentials the current key does
not open alone is opened with the old keys and published again sealed with the current
one (the topic is compacted: the new value replaces the old); ``amazon.webhooks`` the same
way. Safe to run again: what is already under the current key is left as it is. Exits 1
when an account or a webhook opens with none of the keys, naming it, so the old keys are
not dropped too early.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from services.api.settings import ApiSettings
from shared.accounts import AccountRegistry
from shared.crypto import (
    CredentialsError,
    open_credentials,
    open_secret,
    seal_credentials,
    seal_secret,
)
from shared.events import AccountRegistered, Event, utcnow
from shared.kafka.producer import EventPublisher, make_producer
from shared.kafka.tail import TopicTail
from shared.topics import ACCOUNTS, WEBHOOKS, TopicSpec
from shared.webhooks import WebhookDefined

T = TypeVar("T", AccountRegistered, WebhookDefined)


@dataclass
class Tally:
    """What a run did to one kind of sealed thing, by id."""

    resealed: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    unopened: list[str] = field(default_factory=list)


@dataclass
class Resealed:
    accounts: Tally = field(default_factory=Tally)
    webhooks: Tally = field(default_factory=Tally)


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


def reseal_webhook(
    webhook: WebhookDefined, current_key: str, keys: list[str]
) -> WebhookDefined | None:
    """The webhook with its secret sealed with ``current_key``; None when it already is.
    CredentialsError when no key opens it."""
    bound_to = f"webhook:{webhook.webhook_id}"
    try:
        open_secret([current_key], webhook.secret, bound_to=bound_to)
        return None
    except CredentialsError:
        pass
    secret = open_secret(keys, webhook.secret, bound_to=bound_to)
    sealed = seal_secret(current_key, secret, bound_to=bound_to)
    return webhook.model_copy(update={"secret": sealed, "occurred_at": utcnow()})


async def reseal_all(settings: ApiSettings) -> Resealed:
    if not settings.secret_key:
        raise SystemExit("AMAZON_JOBS_SECRET_KEY is not set: nothing to seal with")
    current = settings.secret_key
    registry = AccountRegistry()
    tail = TopicTail(settings.kafka_bootstrap_servers, ACCOUNTS, registry.on_record)
    webhooks: dict[str, WebhookDefined] = {}

    def on_webhook(key: str, event: Event | None) -> None:
        if event is None:
            webhooks.pop(key, None)
        elif isinstance(event, WebhookDefined):
            webhooks[key] = event

    hooks_tail = TopicTail(settings.kafka_bootstrap_servers, WEBHOOKS, on_webhook)
    producer = make_producer(settings.kafka_bootstrap_servers, client_id="reseal")
    await tail.start()
    await hooks_tail.start()
    await producer.start()
    done = Resealed()
    try:
        await tail.wait_caught_up()
        await hooks_tail.wait_caught_up()
        publisher = EventPublisher(producer, settings.signer())
        keys = settings.opening_keys
        await _reseal_each(
            publisher,
            ACCOUNTS,
            registry.accounts,
            lambda a: reseal_one(a, current, keys),
            done.accounts,
        )
        await _reseal_each(
            publisher,
            WEBHOOKS,
            webhooks,
            lambda w: reseal_webhook(w, current, keys),
            done.webhooks,
        )
    finally:
        await producer.stop()
        await hooks_tail.stop()
        await tail.stop()
    return done


async def _reseal_each(
    publisher: EventPublisher,
    topic: TopicSpec,
    records: Mapping[str, T],
    reseal: Callable[[T], T | None],
    tally: Tally,
) -> None:
    """Publish each record sealed with the current key, if it is not yet; tallied by id."""
    for record_id, record in sorted(records.items()):
        try:
            again = reseal(record)
        except CredentialsError:
            tally.unopened.append(record_id)
            continue
        if again is None:
            tally.current.append(record_id)
        else:
            await publisher.publish(topic, record_id, again)
            tally.resealed.append(record_id)


def main() -> int:
    done = asyncio.run(reseal_all(ApiSettings()))
    for tally, what, advice in (
        (done.accounts, "account(s)", "keep the old keys until they are re-registered"),
        (
            done.webhooks,
            "webhook secret(s)",
            "keep the old keys, or delete and add these webhooks again",
        ),
    ):
        print(
            f"re-sealed {len(tally.resealed)} {what} with the current key; "
            f"{len(tally.current)} already were"
        )
        if tally.unopened:
            print(
                f"{len(tally.unopened)} {what} open with none of the keys: "
                + ", ".join(tally.unopened)
                + f" ({advice})",
                file=sys.stderr,
            )
    return 1 if done.accounts.unopened or done.webhooks.unopened else 0


if __name__ == "__main__":
    raise SystemExit(main())
