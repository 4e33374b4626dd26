"""Tables loaded at start are left out of later garbage collections (shared/heap.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from shared.heap import loading_tables


@pytest.fixture(autouse=True)
def _collector_as_it_was() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # the rest of the test run collects everything again
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_no_collection_runs_while_tables_load_and_what_they_hold_is_frozen_after() -> None:
    gc.enable()
    before = gc.get_freeze_count()
    with loading_tables():
        assert not gc.isenabled()
        table = {n: {"sku": f"SKU-{n}"} for n in range(10_000)}
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + len(table)
    frozen = gc.get_freeze_count()
    gc.collect()
    assert gc.get_freeze_count() == frozen  # a full collection leaves them where they are


def test_a_collector_turned_off_stays_off() -> None:
    gc.disable()
    with loading_tables():
        pass
    assert not gc.isenabled()
