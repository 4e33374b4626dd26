"""A server that answers one byte at a time never trips httpx's per-read timeout; the
client's deadline on the whole exchange ends the call, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from shared.spapi.auth import LwaCredentials
from shared.spapi.client import SpApiClient
from shared.spapi.errors import MaybeAccepted, TransientError
from shared.spapi.models import ReportDocument
from shared.spapi.retry import RetryPolicy

pytestmark = pytest.mark.integration

DEADLINE_S = 0.5
# Only so that a call the deadline failed to end fails this test instead of hanging the
# suite (the trickle would last 80 minutes): far above the deadline, not a speed check.
HANG_GUARD_S = 60.0
TOKEN = json.dumps({"access_token": "t", "token_type": "bearer", "expires_in": 3600}).encode()


@dataclass
class Trickler:
    """Answers LWA at once and everything else one byte every 50 ms, for ever."""

    requests: list[str] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0].decode()
                length = next(
                    (
                        int(h.split(b":", 1)[1])
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                self.requests.append(line)
                if "/auth/o2/token" in line:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(TOKEN), TOKEN)
                    )
                    await writer.drain()
                    continue
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while True:
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(0.05)


@pytest.fixture
async def trickling() -> AsyncIterator[tuple[Trickler, SpApiClient]]:
    trickler = Trickler()
    server = await asyncio.start_server(trickler.serve, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    async def no_wait(_: float) -> None:
        return None

    async with server, httpx.AsyncClient(timeout=httpx.Timeout(30.0)) as http:
        client = SpApiClient(
            http,
            LwaCredentials("amzn1.app", "secret", "Atzr|r", "ATRICKLE"),
            endpoint=base,
            lwa_endpoint=f"{base}/auth/o2/token",
            retry=RetryPolicy(max_attempts=2, sleep=no_wait),
            deadline_s=DEADLINE_S,
            document_deadline_s=DEADLINE_S,
        )
        yield trickler, client
        server.close()


async def test_a_read_ends_at_the_deadline_as_a_transient_error(
    trickling: tuple[Trickler, SpApiClient],
) -> None:
    trickler, client = trickling
    with pytest.raises(TransientError) as failed:
        async with asyncio.timeout(HANG_GUARD_S):
            await client.get_feed("50001")
    assert "ReadTimeout" in str(failed.value)
    # Sent once: another try is the caller's, on a quota token of its own.
    assert [r for r in trickler.requests if "/feeds/" in r] == [
        "GET /feeds/2021-06-30/feeds/50001 HTTP/1.1"
    ]


async def test_a_create_past_the_deadline_may_have_been_accepted_and_is_not_repeated(
    trickling: tuple[Trickler, SpApiClient],
) -> None:
    trickler, client = trickling
    with pytest.raises(MaybeAccepted):
        async with asyncio.timeout(HANG_GUARD_S):
            await client.create_feed("JSON_LISTINGS_FEED", ["A1PA6795UKMFR9"], "doc-1")
    assert sum("POST /feeds/2021-06-30/feeds " in r for r in trickler.requests) == 1


async def test_a_document_trickled_byte_by_byte_ends_at_its_deadline(
    trickling: tuple[Trickler, SpApiClient],
) -> None:
    trickler, client = trickling
    url = client._base + "/documents/slow"  # the storage host is the same server here
    with pytest.raises(TransientError):
        async with asyncio.timeout(HANG_GUARD_S):
            await client.download_document(ReportDocument(report_document_id="d", url=url))
    # Not SP-API quota: the transfer's own retry (the policy allows one) went out too.
    assert sum("/documents/slow" in r for r in trickler.requests) == 2
