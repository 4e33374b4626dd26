"""Tables loaded at start are left out of later garbage collections (shared/heap.py)."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator

import pytest

from shared.heap import full_collections, loading_tables
from tests.waiting import eventually


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


@pytest.fixture
def full_collections_seen() -> Iterator[list[float]]:
    seen: list[float] = []

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            seen.append(time.monotonic())

    gc.callbacks.append(on_collection)
    yield seen
    gc.callbacks.remove(on_collection)


def pile_up(seen: list[float]) -> list[list[int]]:
    """Surviving containers by far more than a quarter of all there are: CPython's own
    rule runs full collections on the way (``seen`` records those, from a clean slate)."""
    gc.collect()
    seen.clear()
    return [[n] for n in range(max(4 * len(gc.get_objects()), 500_000))]


async def test_no_full_collection_runs_on_its_own_while_objects_pile_up(
    full_collections_seen: list[float],
) -> None:
    gc.enable()
    before = gc.get_threshold()
    kept = pile_up(full_collections_seen)
    assert full_collections_seen, "the pile should have made CPython collect in full"
    stop = asyncio.Event()
    task = asyncio.create_task(full_collections(stop, every_s=3600))
    await eventually(lambda: gc.get_threshold()[2] > before[2], "full collections taken over")
    kept += pile_up(full_collections_seen)
    assert full_collections_seen == []
    stop.set()
    await task
    assert gc.get_threshold() == before


async def test_a_full_collection_runs_on_the_clock(full_collections_seen: list[float]) -> None:
    gc.enable()
    stop = asyncio.Event()
    task = asyncio.create_task(full_collections(stop, every_s=0.05))
    await eventually(lambda: len(full_collections_seen) >= 2, "two full collections")
    stop.set()
    await task
