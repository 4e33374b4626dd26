"""Waiting in tests for something another task or process makes true: the one wait loop.

A wait ends when its condition holds. Its timeout only ends a test that would otherwise
hang, so it is generous and says nothing about speed (figures belong in benchmarks/).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

# Far beyond anything a healthy run needs, even on a loaded machine.
HUNG_S = 180.0


@overload
async def eventually(
    condition: Callable[[], Awaitable[T]],
    what: str,
    *,
    timeout_s: float = ...,
    every_s: float = ...,
) -> T: ...


@overload
async def eventually(
    condition: Callable[[], T | None],
    what: str,
    *,
    timeout_s: float = ...,
    every_s: float = ...,
) -> T: ...


async def eventually(
    condition: Callable[[], Any],
    what: str,
    *,
    timeout_s: float = HUNG_S,
    every_s: float = 0.1,
) -> Any:
    """Call ``condition`` (sync or async) until it returns something truthy and return
    that; fail the test naming ``what`` was awaited if that takes ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"waited {timeout_s:.0f}s for {what}; last saw {result!r}")
        await asyncio.sleep(every_s)
