"""An overall deadline on each HTTP exchange with Amazon (docs/design.md §17).

httpx's timeouts are per phase: a server that sends one byte every few seconds never
trips the 30 s read timeout and holds the call, its quota token and the job for as long
as it likes. The whole exchange (answer, body and all) gets one deadline; running past it
is an ``httpx.ReadTimeout``, so it is retried, or reported as "may have been accepted",
exactly as any other read timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import httpx

T = TypeVar("T")

CALL_DEADLINE_S = 60.0  # an SP-API or LWA answer, whole
# A document, whole: the presigned URL expires after 5 minutes anyway.
DOCUMENT_DEADLINE_S = 300.0


async def within(seconds: float, exchange: Awaitable[T]) -> T:
    try:
        async with asyncio.timeout(seconds):
            return await exchange
    except TimeoutError as exc:
        raise httpx.ReadTimeout(f"no whole answer within {seconds:g} s") from exc
