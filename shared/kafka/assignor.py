"""Co-partitioned, sticky partition assignment for the job-driving workers.

A worker group divides partition *numbers*, not topic partitions: number *p* of
``amazon.job-events`` and of every inbound topic goes to one instance, so a job, its
requests and its shop's catalog events are decided in one place. A rebalance keeps every
number with its owner as far as a balanced split allows, so scaling 1 → 3 → 1 moves only
what must move (docs/design.md §15). Each member tells the leader what it owns in its
subscription's user data.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import ClassVar

from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)


def plan(units: int, previous: Mapping[str, Iterable[int]]) -> dict[str, list[int]]:
    """Partition numbers 0 … units-1 for each member: balanced (sizes differ by at most
    one), keeping each member's previous numbers where the balance allows. Pure and
    deterministic."""
    members = sorted(previous)
    if not members:
        return {}
    kept_before = {
        m: sorted({u for u in previous[m] if isinstance(u, int) and 0 <= u < units})
        for m in members
    }
    base, extra = divmod(units, len(members))
    # Members that owned more get the larger shares: fewer numbers move.
    order = sorted(members, key=lambda m: (-len(kept_before[m]), m))
    capacity = {m: base + (1 if i < extra else 0) for i, m in enumerate(order)}
    result: dict[str, list[int]] = {m: [] for m in members}
    taken: set[int] = set()
    for m in order:
        for unit in kept_before[m]:
            if len(result[m]) >= capacity[m]:
                break
            if unit not in taken:
                result[m].append(unit)
                taken.add(unit)
    free = (u for u in range(units) if u not in taken)
    for m in order:
        while len(result[m]) < capacity[m]:
            unit = next(free)
            result[m].append(unit)
            taken.add(unit)
    return {m: sorted(units_) for m, units_ in result.items()}


class CoPartitionedAssignor(AbstractPartitionAssignor):  # type: ignore[misc]
    """Use :func:`assignor_for_one_consumer` to get a class per consumer: aiokafka calls
    assignors as classes, and what a member owns is per consumer."""

    name = "copartitioned-sticky"
    version = 0
    owned: ClassVar[list[int]] = []

    @classmethod
    def metadata(cls, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        user_data = json.dumps({"owned": cls.owned}).encode()
        return ConsumerProtocolMemberMetadata(cls.version, sorted(topics), user_data)

    @classmethod
    def on_assignment(cls, assignment: ConsumerProtocolMemberAssignment) -> None:
        cls.owned = sorted({p for _topic, parts in assignment.assignment for p in parts})

    @classmethod
    def assign(
        cls,
        cluster: ClusterMetadata,
        members: Mapping[str, ConsumerProtocolMemberMetadata],
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        topics = sorted({t for meta in members.values() for t in meta.subscription})
        counts = {t: len(cluster.partitions_for_topic(t) or ()) for t in topics}
        units = max(counts.values(), default=0)
        numbers = plan(units, {m: _owned(meta.user_data) for m, meta in members.items()})
        return {
            member: ConsumerProtocolMemberAssignment(
                cls.version,
                [
                    ConsumerProtocolMemberAssignment.Assignment(
                        topic, [p for p in numbers[member] if p < counts[topic]]
                    )
                    for topic in topics
                    if topic in members[member].subscription
                ],
                b"",
            )
            for member in members
        }


def _owned(user_data: bytes | None) -> list[int]:
    try:
        owned = json.loads(user_data or b"{}").get("owned", [])
    except (ValueError, AttributeError):
        return []  # a member of another version: it simply owns nothing yet
    return [p for p in owned if isinstance(p, int)] if isinstance(owned, list) else []


def assignor_for_one_consumer() -> type[CoPartitionedAssignor]:
    return type("CoPartitionedAssignor", (CoPartitionedAssignor,), {"owned": []})
