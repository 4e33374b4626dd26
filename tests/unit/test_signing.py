"""Who wrote a record (shared/signing.py, docs/design.md §22): a shop's signature holds
only for what that shop sent, unaltered, where it sent it; the system's topics take only
the system's signature."""

from __future__ import annotations

import pytest

from shared.signing import HEADER, Signer, Verifier, shop_key, signature
from shared.topics import ACCOUNTS, CATALOG_EVENTS, JOB_REQUESTS, SCHEDULES, WEBHOOKS

MASTER = bytes(range(32))
KEY = b"shop-a"
VALUE = b'{"event_type":"StockChanged","shop_id":"shop-a"}'


def headers(
    topic: str, shop_id: str | None, key: bytes = KEY, value: bytes | None = VALUE
) -> list[tuple[str, bytes]]:
    return Signer(MASTER).headers(topic, key, value, shop_id)


def test_an_event_signed_by_the_shop_it_names_is_admitted() -> None:
    verifier = Verifier(MASTER, require_signed=True)
    signed = headers(CATALOG_EVENTS.name, "shop-a")
    assert verifier.ingress_refusal(CATALOG_EVENTS.name, KEY, VALUE, signed, "shop-a") is None


@pytest.mark.parametrize(
    ("topic", "key", "value"),
    [
        (JOB_REQUESTS.name, KEY, VALUE),  # moved to another topic
        (CATALOG_EVENTS.name, b"shop-b", VALUE),  # to another key
        (CATALOG_EVENTS.name, KEY, VALUE.replace(b"shop-a", b"shop-b")),  # altered
    ],
)
def test_a_signature_does_not_follow_the_record_elsewhere(
    topic: str, key: bytes, value: bytes
) -> None:
    signed = headers(CATALOG_EVENTS.name, "shop-a")
    refusal = Verifier(MASTER, require_signed=False).ingress_refusal(
        topic, key, value, signed, "shop-a"
    )
    assert refusal is not None and "does not match shop 'shop-a'" in refusal


def test_an_event_signed_by_one_shop_claiming_another_is_refused() -> None:
    signed = headers(CATALOG_EVENTS.name, "shop-a")
    refusal = Verifier(MASTER, require_signed=False).ingress_refusal(
        CATALOG_EVENTS.name, KEY, VALUE, signed, "shop-b"
    )
    assert refusal is not None and "shop-b" in refusal


def test_unsigned_events_are_refused_only_when_signatures_are_required() -> None:
    assert Verifier(MASTER, False).ingress_refusal(CATALOG_EVENTS.name, KEY, VALUE, [], "s") is None
    refusal = Verifier(MASTER, True).ingress_refusal(CATALOG_EVENTS.name, KEY, VALUE, [], "s")
    assert refusal is not None and "unsigned" in refusal


@pytest.mark.parametrize("topic", [ACCOUNTS.name, SCHEDULES.name, WEBHOOKS.name])
def test_the_systems_topics_take_only_the_systems_signature(topic: str) -> None:
    verifier = Verifier(MASTER, require_signed=True)
    assert verifier.system_refusal(topic, KEY, VALUE, headers(topic, "shop-a")) is None
    # A shop signing with its own key (all it has) is refused there.
    forged = [(HEADER, signature(shop_key(MASTER, "shop-a"), topic, KEY, VALUE))]
    refusal = verifier.system_refusal(topic, KEY, VALUE, forged)
    assert refusal is not None and "only by the system" in refusal
    tombstone = headers(topic, None, value=None)
    assert verifier.system_refusal(topic, KEY, None, tombstone) is None
    assert verifier.system_refusal(topic, KEY, VALUE, tombstone) is not None
