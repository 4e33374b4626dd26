"""Is a server up? One request in its own protocol, answered correctly, says so.

Kafka and MongoDB are asked by hand-built requests (one ApiVersions, one ``{ping: 1}``)
so that a readiness check needs no client library and cannot hang in one's retries.
"""

from __future__ import annotations

import itertools
import socket
import struct

import httpx

_KAFKA_API_VERSIONS = 18
_OP_MSG = 2013
_request_ids = itertools.count(1)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def kafka_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """One ApiVersions v0 round trip: the broker's data plane accepts and answers requests."""
    correlation_id = 0x1A2B3C
    client_id = b"devtools-probe"
    body = struct.pack(">hhih", _KAFKA_API_VERSIONS, 0, correlation_id, len(client_id))
    body += client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            payload = _recv_exact(sock, size)
    except (OSError, ConnectionError, struct.error):
        return False
    if len(payload) < 6:
        return False
    got_id, error_code = struct.unpack(">ih", payload[:6])
    return bool(got_id == correlation_id and error_code == 0)


def _bson_ping() -> bytes:
    def cstring(s: str) -> bytes:
        return s.encode() + b"\x00"

    db = b"admin"
    elements = b"\x10" + cstring("ping") + struct.pack("<i", 1)
    elements += b"\x02" + cstring("$db") + struct.pack("<i", len(db) + 1) + db + b"\x00"
    return struct.pack("<i", len(elements) + 5) + elements + b"\x00"


def mongo_answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """One OP_MSG ``{ping: 1}`` round trip answered with ``ok: 1``."""
    request_id = next(_request_ids) & 0x7FFFFFFF
    body = struct.pack("<I", 0) + b"\x00" + _bson_ping()
    message = struct.pack("<iiii", 16 + len(body), request_id, 0, _OP_MSG) + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(message)
            length, _, response_to, opcode = struct.unpack("<iiii", _recv_exact(sock, 16))
            reply = _recv_exact(sock, length - 16)
    except (OSError, ConnectionError, struct.error):
        return False
    ok_one = b"\x01ok\x00" + struct.pack("<d", 1.0)
    return response_to == request_id and opcode == _OP_MSG and ok_one in reply


def http_answers(url: str, timeout: float = 2.0) -> bool:
    """A GET of ``url`` is answered, with anything but a server error."""
    try:
        return httpx.get(url, timeout=timeout).status_code < 500
    except httpx.HTTPError:
        return False
