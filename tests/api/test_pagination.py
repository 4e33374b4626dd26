"""Keyset cursors: the filter a cursor resumes from, without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.api.errors import ApiError
from services.api.pagination import Keyset

AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_one_field_ascending_narrows_the_field_itself() -> None:
    order = Keyset((("sku", str),), fixed=("account_id",))
    cursor = order.cursor({"sku": "PEN", "account_id": "a"})
    assert order.after({"account_id": "a"}, cursor) == {"account_id": "a", "sku": {"$gt": "PEN"}}
    assert order.sort() == [("account_id", 1), ("sku", 1)]
    assert order.after({"account_id": "a"}, None) == {"account_id": "a"}


def test_several_fields_descending_resume_lexicographically() -> None:
    order = Keyset((("created_at", datetime), ("_id", str)), descending=True)
    cursor = order.cursor({"created_at": AT, "_id": "j1"})
    assert order.after({"shop_id": "s"}, cursor) == {
        "$and": [
            {"shop_id": "s"},
            {"created_at": {"$lte": AT}},
            {"$or": [{"created_at": {"$lt": AT}}, {"created_at": AT, "_id": {"$lt": "j1"}}]},
        ]
    }
    assert order.sort() == [("created_at", -1), ("_id", -1)]


def test_a_cursor_of_another_order_is_422() -> None:
    cursor = Keyset((("_id", str),)).cursor({"_id": "x"})
    with pytest.raises(ApiError) as refused:
        Keyset((("at", datetime), ("seq", int), ("_id", str))).after({}, cursor)
    assert refused.value.status == 422


def test_a_keyset_of_many_ties_resumes_tier_by_tier() -> None:
    """Rows tied with the cursor's on all but the last field first, then on the first
    field only, then beyond it; each sorted on the fields it leaves open."""
    order = Keyset((("at", datetime), ("seq", int), ("_id", str)), seek_ties=True)
    cursor = order.cursor({"at": AT, "seq": 3, "_id": "e:7"})
    assert order.tiers({"job_id": "j"}, cursor) == [
        ({"$and": [{"job_id": "j"}, {"at": AT, "seq": 3, "_id": {"$gt": "e:7"}}]}, [("_id", 1)]),
        ({"$and": [{"job_id": "j"}, {"at": AT, "seq": {"$gt": 3}}]}, [("seq", 1), ("_id", 1)]),
        (
            {"$and": [{"job_id": "j"}, {"at": {"$gt": AT}}]},
            [("at", 1), ("seq", 1), ("_id", 1)],
        ),
    ]
