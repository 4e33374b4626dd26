"""Loopback TCP ports: a free one to give a server, and whether one is taken."""

from __future__ import annotations

import socket

HOST = "127.0.0.1"

# Ports this process has handed out. The kernel may give a port that was just closed to
# the next bind(0), so two calls in a row (a broker's port, then its controller's) could
# return the same one before either server listens: a CI run met it once.
_given: set[int] = set()


def free_port(host: str = HOST) -> int:
    """A TCP port that is free right now on ``host`` and that this process has not handed
    out before (racy towards other processes by nature, fine for tests)."""
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in _given:
            _given.add(port)
            return port
    raise RuntimeError(f"no free port on {host} that was not handed out already")


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as the servers do, so a TIME_WAIT left by a previous run does not count
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False
