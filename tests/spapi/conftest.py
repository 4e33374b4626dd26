from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from shared.spapi import SpApiClient
from tests.spapi.fake_amazon import FakeAmazon, RecordingSleep, make_client


@dataclass
class Api:
    fake: FakeAmazon
    client: SpApiClient
    sleep: RecordingSleep


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    fake = FakeAmazon()
    sleep = RecordingSleep()
    client, http = make_client(fake, sleep=sleep)
    yield Api(fake, client, sleep)
    await http.aclose()
