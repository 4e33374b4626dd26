"""Co-partitioned sticky assignment: balanced, and moving as little as it can."""

from __future__ import annotations

import itertools

import pytest

from shared.kafka.assignor import assignor_for_one_consumer, plan


def moved(before: dict[str, list[int]], after: dict[str, list[int]]) -> int:
    owner = {u: m for m, us in before.items() for u in us}
    return sum(1 for m, us in after.items() for u in us if owner.get(u) != m)


@pytest.mark.parametrize("members", [1, 2, 3, 5, 12, 13])
def test_every_number_goes_to_exactly_one_member_and_shares_differ_by_one(members: int) -> None:
    result = plan(12, {f"m{i}": [] for i in range(members)})
    numbers = sorted(itertools.chain.from_iterable(result.values()))
    assert numbers == list(range(12))
    sizes = [len(v) for v in result.values()]
    assert max(sizes) - min(sizes) <= 1


def test_scaling_one_to_three_to_one_moves_only_what_must_move() -> None:
    one = plan(12, {"a": []})
    three = plan(12, {"a": one["a"], "b": [], "c": []})
    assert len(three["a"]) == 4 and set(three["a"]) <= set(one["a"])
    assert moved(one, three) == 8  # the 8 numbers b and c must take
    back = plan(12, {"a": three["a"]})
    assert back["a"] == list(range(12))
    assert moved({"a": three["a"]}, back) == 8


def test_a_member_leaving_hands_on_only_its_own_numbers() -> None:
    three = plan(12, {"a": [], "b": [], "c": []})
    two = plan(12, {"a": three["a"], "b": three["b"]})
    assert set(three["a"]) <= set(two["a"]) and set(three["b"]) <= set(two["b"])
    assert moved({k: three[k] for k in ("a", "b")}, two) == 4


def test_claims_of_the_same_number_are_settled_and_junk_is_ignored() -> None:
    result = plan(4, {"a": [0, 1, 99, -1], "b": [1, 2]})
    assert sorted(result["a"] + result["b"]) == [0, 1, 2, 3]
    assert 0 in result["a"] and 2 in result["b"]


def test_each_consumer_has_its_own_memory_of_what_it_owns() -> None:
    first, second = assignor_for_one_consumer(), assignor_for_one_consumer()
    first.owned = [1, 2]
    assert second.owned == []
    assert b'"owned": [1, 2]' in first.metadata(["t"]).user_data
