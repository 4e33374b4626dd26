"""Documents read as they arrive: inflated when GZIP, refused past their bound."""

from __future__ import annotations

import gzip
import os

import pytest

from shared.spapi.documents import DocumentReader
from shared.spapi.errors import DocumentTooLarge, MalformedResponse

ROWS = b"sku\tasin\tquantity\n" + b"".join(b"SKU-%d\tB0%08d\t%d\n" % (n, n, n) for n in range(5000))


def read(raw: bytes, max_bytes: int = 10_000_000, chunk: int = 4096) -> bytes:
    reader = DocumentReader(max_bytes)
    for start in range(0, len(raw), chunk):
        reader.feed(raw[start : start + chunk])
    return reader.finish()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 20])
def test_gzip_is_inflated_whatever_the_chunks(chunk: int) -> None:
    assert read(gzip.compress(ROWS), chunk=chunk) == ROWS


def test_plain_bytes_pass_as_they_are() -> None:
    assert read(ROWS) == ROWS
    assert read(b"x") == b"x"
    assert read(b"") == b""


def test_members_one_after_the_other_are_one_document() -> None:
    half = len(ROWS) // 2
    assert read(gzip.compress(ROWS[:half]) + gzip.compress(ROWS[half:]), chunk=333) == ROWS


def test_a_bomb_is_refused_once_it_inflates_past_the_bound() -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))  # 64 MiB of zeros in ~64 KiB
    assert len(bomb) < 1 << 20
    reader = DocumentReader(1 << 20)
    with pytest.raises(DocumentTooLarge, match="inflates to more than 1 MiB"):
        for start in range(0, len(bomb), 4096):
            reader.feed(bomb[start : start + 4096])
    assert reader.raw_bytes < len(bomb)  # refused before the end arrived


def test_a_document_exactly_at_the_bound_is_read() -> None:
    assert read(gzip.compress(ROWS), max_bytes=len(ROWS)) == ROWS
    with pytest.raises(DocumentTooLarge):
        read(gzip.compress(ROWS), max_bytes=len(ROWS) - 1)


def test_raw_bytes_past_the_bound_are_refused_compressed_or_not() -> None:
    noise = os.urandom(50_000)  # does not compress: larger than the bound as sent
    with pytest.raises(DocumentTooLarge, match="as sent"):
        read(gzip.compress(noise), max_bytes=40_000)
    with pytest.raises(DocumentTooLarge, match="as sent"):
        read(noise, max_bytes=40_000)


def test_truncated_or_corrupt_gzip_is_malformed_not_too_large() -> None:
    packed = gzip.compress(ROWS)
    with pytest.raises(MalformedResponse, match="ends early") as ended:
        read(packed[: len(packed) // 2])
    assert not isinstance(ended.value, DocumentTooLarge)
    with pytest.raises(MalformedResponse, match="not valid GZIP"):
        read(packed[:10] + b"\xff" * 100 + packed[110:])
    with pytest.raises(MalformedResponse, match="after its end"):
        read(packed + b"trailing junk")


def test_restart_forgets_a_download_cut_midway() -> None:
    packed = gzip.compress(ROWS)
    reader = DocumentReader()
    reader.feed(packed[:1000])
    reader.restart()
    reader.feed(packed)
    assert reader.finish() == ROWS
