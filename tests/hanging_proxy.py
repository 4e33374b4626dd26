"""A loopback TCP proxy that can stop answering: after ``hang()`` it still accepts
connections and takes every byte, and passes none on either way, as a server whose disk
hung or a half-open network path does. ``resume()`` forwards again (on new connections:
the ones that hung have lost bytes and are for the client to drop)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class HangingProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.hanging = False
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._pipes:
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    def hang(self) -> None:
        self.hanging = True

    def resume(self) -> None:
        self.hanging = False

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.hanging:
            self._spawn(self._swallow(client_r, client_w))
            return
        server_r, server_w = await asyncio.open_connection(*self.target)
        self._spawn(self._pipe(client_r, server_w))
        self._spawn(self._pipe(server_r, client_w))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._pipes.add(task)
        task.add_done_callback(self._pipes.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if not self.hanging:
                    writer.write(data)
                    await writer.drain()
        writer.close()

    async def _swallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass
        writer.close()
