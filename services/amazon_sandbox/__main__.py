"""Entry point: ``python -m services.amazon_sandbox [--host H] [--port P] [--time-scale N]``.

Logs one JSON line when it listens (with the port, useful with ``--port 0``) and one when
it stops; SIGTERM and SIGINT stop it cleanly with exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator, Sequence

import uvicorn

from services.amazon_sandbox.app import create_app
from services.amazon_sandbox.settings import SandboxSettings
from shared.logs import setup_logging

log = logging.getLogger("services.amazon_sandbox")


class _Server(uvicorn.Server):
    """uvicorn re-raises a caught SIGTERM after shutting down, which ends the process by
    the signal (status 143); the sandbox handles signals itself and exits 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def settings_from_args(argv: Sequence[str] | None = None) -> SandboxSettings:
    parser = argparse.ArgumentParser(
        prog="python -m services.amazon_sandbox", description="Local stand-in for SP-API."
    )
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8700; 0 picks a free one)")
    parser.add_argument(
        "--time-scale", type=float, help="divide every Amazon duration by this (default 1)"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        help="real milliseconds every SP-API, LWA and document call waits (default 0)",
    )
    args = parser.parse_args(argv)
    given = {
        "host": args.host,
        "port": args.port,
        "time_scale": args.time_scale,
        "latency_ms": args.latency_ms,
    }
    return SandboxSettings(**{name: value for name, value in given.items() if value is not None})


async def serve(settings: SandboxSettings) -> None:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep our JSON logging
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, setattr, server, "should_exit", True)
    task = asyncio.create_task(server.serve())
    # uvicorn exposes only a flag for "listening", no event to wait on.
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    if task.done():  # could not bind, most likely
        await task
        raise SystemExit(1)
    port = server.servers[0].sockets[0].getsockname()[1]
    log.info(
        "amazon sandbox listening",
        extra={
            "event": "start",
            "url": f"http://{settings.host}:{port}",
            "host": settings.host,
            "port": port,
            "settings": settings.model_dump(exclude={"host", "port"}),
        },
    )
    await task
    log.info("amazon sandbox stopped", extra={"event": "stop"})


def main(argv: Sequence[str] | None = None) -> None:
    settings = settings_from_args(argv)
    setup_logging("amazon_sandbox", settings.log_level)
    # uvicorn's own start and stop lines would repeat ours; its warnings still show.
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
