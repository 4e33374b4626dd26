"""Which partition a key lands on, as the producers' default partitioner decides."""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for(key: str, partitions: int) -> int:
    digest: int = murmur2(key.encode("utf-8"))
    return (digest & 0x7FFFFFFF) % partitions


def colocated_id(base: str, anchor_key: str, partitions: int) -> str:
    """An id starting with ``base`` whose partition equals ``anchor_key``'s.

    Automatic jobs are fed by catalog events keyed by shop; giving the job an id that
    hashes to the shop's partition makes the one submitter instance that owns the shop's
    events also own the job's requests (cancel) and events: one owner, no cross talk.
    """
    target = partition_for(anchor_key, partitions)
    n = 0
    while True:
        candidate = f"{base}-{n}"
        if partition_for(candidate, partitions) == target:
            return candidate
        n += 1
