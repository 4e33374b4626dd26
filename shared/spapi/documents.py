"""Result and report documents as they arrive: inflated when they are GZIP, and refused
the moment they pass a size bound (docs/design.md §11).

A listings report of a large seller, or a document a few kilobytes long that inflates to
gigabytes (a GZIP bomb), must end the job with a reason, not the worker with an
out-of-memory kill. GZIP is recognised by its magic bytes rather than only by
``compressionAlgorithm``: storage may send it with ``Content-Encoding: gzip`` as well, and
the raw bytes are read here, not inflated by httpx beforehand. Pure: bytes in, bytes out.
"""

from __future__ import annotations

import zlib

from shared.spapi.errors import DocumentTooLarge, MalformedResponse

GZIP_MAGIC = b"\x1f\x8b"
GZIP_WBITS = 16 + zlib.MAX_WBITS
# What a worker holds of one document at most, by default: a listings report of some
# 150,000 SKUs (about 400 bytes a row), or the processing report of a 25,000-message feed
# many times over, while several are parsed at once inside a 768 MiB pod.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
DOWNLOAD = "downloadDocument"


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


class DocumentReader:
    """Feed it the raw bytes as they come; ``finish()`` gives the document's bytes."""

    def __init__(self, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
        self.max_bytes = max_bytes
        self.restart()

    def restart(self) -> None:
        """Forget what was fed: the download starts again (a connection lost midway)."""
        self.raw_bytes = 0
        self._head = b""  # the first bytes, until two say whether it is GZIP
        self._gzip: bool | None = None
        self._inflater: zlib._Decompress | None = None
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, chunk: bytes) -> None:
        self.raw_bytes += len(chunk)
        if self.raw_bytes > self.max_bytes:
            raise self._too_large("is larger than {} as sent")
        if self._gzip is None:
            self._head += chunk
            if len(self._head) < len(GZIP_MAGIC):
                return
            chunk, self._head = self._head, b""
            self._gzip = chunk.startswith(GZIP_MAGIC)
        if self._gzip:
            self._inflate(chunk)
        else:
            self._keep(chunk)

    def finish(self) -> bytes:
        if self._gzip is None:  # fewer than two bytes in all: not GZIP
            self._keep(self._head)
        elif self._gzip and (self._inflater is None or not self._inflater.eof):
            raise MalformedResponse(
                "document is not valid GZIP (it ends early)", operation=DOWNLOAD
            )
        return b"".join(self._parts)

    def _inflate(self, data: bytes) -> None:
        while data:
            if self._inflater is None or self._inflater.eof:
                # GZIP allows members one after the other; each starts with the magic.
                if self._inflater is not None and not data.startswith(GZIP_MAGIC[:1]):
                    raise MalformedResponse(
                        "document is not valid GZIP (bytes after its end)", operation=DOWNLOAD
                    )
                self._inflater = zlib.decompressobj(GZIP_WBITS)
            inflater = self._inflater
            try:
                # At most one byte past the bound: enough to know it was passed.
                self._keep(inflater.decompress(data, self.max_bytes - self._size + 1))
            except zlib.error as exc:
                raise MalformedResponse(
                    f"document is not valid GZIP ({exc})", operation=DOWNLOAD
                ) from exc
            data = inflater.unconsumed_tail or (inflater.unused_data if inflater.eof else b"")

    def _keep(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.max_bytes:
            raise self._too_large("inflates to more than {}")
        if data:
            self._parts.append(data)

    def _too_large(self, what: str) -> DocumentTooLarge:
        return DocumentTooLarge(
            "the document " + what.format(_mib(self.max_bytes)), operation=DOWNLOAD
        )
