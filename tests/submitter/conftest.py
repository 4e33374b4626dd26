"""The seller's Amazon every submitter test talks to (tests/submitter/fake_seller.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.spapi.fake_amazon import FakeAmazon, RecordingSleep, make_client
from tests.submitter.fake_seller import Seller


@pytest.fixture
async def seller() -> AsyncIterator[Seller]:
    fake = FakeAmazon()
    sleep = RecordingSleep()  # the client's own backoffs (LWA, uploads), recorded not slept
    client, http = make_client(fake, sleep=sleep)
    yield Seller(fake, client, sleep)
    await http.aclose()
