"""The account registry as every worker sees it: ``amazon.accounts`` in memory.

Credentials stay encrypted in the table and are opened only to build a client, so an
account added (or re-authorised) while a service runs is usable without a restart.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from shared.events import AccountRegistered, Event
from shared.spapi.auth import LwaCredentials
from shared.spapi.client import SpApiClient

Opener = Callable[[AccountRegistered], LwaCredentials]


class UnknownAccount(LookupError):
    pass


class AccountRegistry:
    def __init__(self) -> None:
        self.accounts: dict[str, AccountRegistered] = {}

    def on_record(self, key: str, event: Event | None) -> None:
        """Handler for a TopicTail of ``amazon.accounts``."""
        if event is None:
            self.accounts.pop(key, None)
        elif isinstance(event, AccountRegistered):
            self.accounts[event.account_id] = event

    def get(self, account_id: str) -> AccountRegistered:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise UnknownAccount(f"account {account_id!r} is not registered") from None

    def of_shop(self, shop_id: str) -> list[AccountRegistered]:
        return [a for a in self.accounts.values() if a.shop_id == shop_id]


class SpApiClients:
    """One SP-API client per account, rebuilt when the account's registration changes."""

    def __init__(
        self,
        book: AccountRegistry,
        http: httpx.AsyncClient,
        opener: Opener,
        *,
        endpoint_for: Callable[[AccountRegistered], str],
        lwa_endpoint_for: Callable[[AccountRegistered], str],
    ) -> None:
        self.book = book
        self.http = http
        self.opener = opener
        self.endpoint_for = endpoint_for
        self.lwa_endpoint_for = lwa_endpoint_for
        self._clients: dict[str, tuple[AccountRegistered, SpApiClient]] = {}

    def for_account(self, account_id: str) -> SpApiClient:
        account = self.book.get(account_id)
        cached = self._clients.get(account_id)
        if cached is not None and cached[0] == account:
            return cached[1]
        client = SpApiClient(
            self.http,
            self.opener(account),
            endpoint=self.endpoint_for(account),
            lwa_endpoint=self.lwa_endpoint_for(account),
        )
        self._clients[account_id] = (account, client)
        return client
