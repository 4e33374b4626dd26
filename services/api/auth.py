"""API keys: each belongs to one shop, or is an admin key (shop ``*``)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

ADMIN = "*"


@dataclass(frozen=True)
class Principal:
    shop_id: str  # "*" for an admin

    @property
    def is_admin(self) -> bool:
        return self.shop_id == ADMIN

    def sees(self, shop_id: str) -> bool:
        return self.is_admin or self.shop_id == shop_id


class KeyRing:
    def __init__(self, spec: str) -> None:
        self.keys: list[tuple[str, str]] = []
        for pair in filter(None, (p.strip() for p in spec.split(","))):
            shop_id, sep, key = pair.partition(":")
            if not sep or not shop_id or not key:
                raise ValueError("AMAZON_JOBS_API_KEYS takes comma-separated shop_id:key pairs")
            self.keys.append((key, shop_id))

    def principal(self, presented: str) -> Principal | None:
        for key, shop_id in self.keys:
            # Constant time: a key is not guessed by timing the comparison.
            if hmac.compare_digest(key.encode(), presented.encode()):
                return Principal(shop_id)
        return None
